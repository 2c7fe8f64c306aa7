"""What each task of the promote_* DAGs does: pick the version, re-validate it at the target's
level, summarize what changes, count approvals, wait for the window, publish, commit to git.

Plain functions of (workflow, values, run id, config): the DAG file passes the Airflow context in;
the version copy itself is include.deployment's (new version first, then the pointer switch).
Each step adds its section to the run's promotion report (`<report_dir>/<run>/promotion.md`),
so a rejection's reason is read there as well as in the audit log.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ..config import PipelineConfig, folder_name, load_config
from ..deployment import manifest, manifest_digest
from . import approvals
from .window import Window

log = logging.getLogger(__name__)


def _live_folder(config: PipelineConfig, env: str, version: str | None, run_id: str) -> tuple[Path, str]:
    """The version's folder: downloaded once from an S3 environment; in place for a local one, on its
    primary, or on its secondary while the primary is down."""
    from ..deployment import Side, current_local, current_s3, download_s3_version, live_version, s3_client

    environment = config.environment(env)
    target = environment.target
    if target.kind == "s3":
        assert target.bucket is not None  # Target's validator requires it of an s3 target
        client = s3_client(target)
        version = version or current_s3(client, target.bucket, target.prefix)
        if not version:
            raise FileNotFoundError(
                f"environments.{env}: nothing deployed at s3://{target.bucket}/{target.prefix}"
            )
        staging = config.work_dir / "promotions" / folder_name(run_id) / version
        return download_s3_version(client, target.bucket, target.prefix, version, staging), version
    if environment.secondary_target is not None and environment.secondary_target.kind != "local":
        raise NotImplementedError(f"environments.{env}: a local target with an S3 secondary is not supported")
    if environment.secondary_target is None:  # one store: nothing there means nothing deployed
        which = "primary"
        assert environment.target.path is not None
        version = version or current_local(config.path(environment.target.path))
    elif version is None:
        version, which = live_version(environment.target, config.path, environment.secondary_target)
    else:
        which = "primary"
        try:
            Side(environment.target, config.path).current()
        except Exception:
            if environment.secondary_target is None:
                raise
            which = "secondary"
    chosen = environment.target if which == "primary" else environment.secondary_target
    assert chosen is not None and chosen.path is not None  # local targets have a path
    root = config.path(chosen.path)
    if not version:
        raise FileNotFoundError(f"environments.{env}: nothing deployed at {root}")
    folder = root / "versions" / version
    if not folder.is_dir():
        raise FileNotFoundError(f"environments.{env}: version {version} not found at {folder}")
    return folder, version


def report_path(config: PipelineConfig, run_id: str) -> Path:
    return config.report_dir / folder_name(run_id) / "promotion.md"


def _report(config: PipelineConfig, run_id: str | None, section: str) -> None:
    """Adds one section to the run's promotion report."""
    if not run_id:
        return
    path = report_path(config, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(section.rstrip() + "\n\n")


def prepare(
    workflow: str, version: str | None, run_id: str = "manual", config: PipelineConfig | None = None
) -> dict:
    """The version to promote, its manifest digest and one approval slot per required approver."""
    config = config or load_config()
    flow = config.promotion[workflow]
    folder, version = _live_folder(config, flow.source, version, run_id)
    files = manifest(folder)
    digest = manifest_digest(files)
    level = approvals.level_settings(config, flow.approval_level)
    return {
        "version": version,
        "folder": str(folder),
        "files": len(files),
        "manifest_sha256": digest,
        "source": flow.source,
        "target": flow.target,
        "slots": approvals.slots(level.required),
    }


def validate(
    workflow: str, prepared: dict, run_id: str | None = None, config: PipelineConfig | None = None
) -> dict:
    """Re-runs the target environment's validation level on the version's own report rows
    (conversion results of each kind, libraries, migration_outcome): GateFailed names them."""
    from .. import gate_frames, metrics, quality_gates
    from ..quality_gates import GateFailed

    config = config or load_config()
    flow = config.promotion[workflow]
    level = config.environment(flow.target).validation_level
    report = Path(prepared["folder"]) / "report.json"
    if not report.is_file():
        raise GateFailed(
            f"{report}: the version carries no report.json, so it cannot be validated at {level}"
        )
    rows = json.loads(report.read_text(encoding="utf-8"))["items"]
    gates = [
        ("conversion_results", f"conversion_results.{kind}", gate_frames.conversion_results(rows, kinds))
        for kind, kinds in quality_gates.KINDS_OF_ROWS.items()
    ]
    figures = metrics.compute(rows, None)
    target = config.progress_tracking.quality_target
    gates += [
        ("libraries", "libraries.converted", gate_frames.converted_libraries(rows)),
        ("migration_outcome", "migration_outcome", gate_frames.migration_outcome(figures, target)),
    ]
    failures, result = [], {}
    for suite, gate, frame in gates:
        outcome = quality_gates.run_suite(suite, level, frame, None, gate=gate)
        result[gate] = outcome.success
        if not outcome.success:
            failures.append(outcome.message())
    if run_id:
        _store(config).audit(
            run_id,
            "airflow",
            "promotion_validated",
            {
                "workflow": workflow,
                "target": flow.target,
                "level": level,
                "gates": result,
                "failures": failures,
            },
        )
    lines = [f"## Validation at {flow.target}'s level ({level})", ""]
    lines += [f"- {gate}: {'passed' if ok else 'FAILED'}" for gate, ok in result.items()]
    _report(config, run_id, "\n".join(lines + [f"- {f}" for f in failures]))
    if failures:
        raise GateFailed(
            f"version {prepared['version']} at {flow.target}'s level {level}: " + "; ".join(failures)
        )
    return {"level": level, "gates": result}


def _target_live(config: PipelineConfig, env: str, run_id: str) -> Path | None:
    try:
        return _live_folder(config, env, None, run_id + ".live")[0]
    except FileNotFoundError:
        return None


def summarize_changes(
    workflow: str, prepared: dict, run_id: str = "manual", config: PipelineConfig | None = None
) -> dict:
    """The readable diff (symbols, footprints, parts) from the target's live version to this one,
    written as Markdown; its path and the approval bodies (one per required approver) carry it."""
    from . import history

    config = config or load_config()
    flow = config.promotion[workflow]
    live = _target_live(config, flow.target, run_id)
    changes = history.diff(live, Path(prepared["folder"]))
    title = f"{flow.target}: {live.name if live else 'nothing live'} -> {prepared['version']}"
    text = history.render(title, changes)
    path = config.report_dir / folder_name(run_id) / "changes.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _report(config, run_id, "## Changes\n\n" + text.split("\n", 2)[2])
    counts = {kind: c.counts() for kind, c in changes.items()}
    line = "; ".join(f"{k}: +{v['added']} -{v['removed']} ~{v['changed']}" for k, v in counts.items())
    bodies = [
        f"{slot}: promote version `{prepared['version']}` ({prepared['files']} files, manifest "
        f"`{prepared['manifest_sha256'][:12]}`) from {flow.source} to {flow.target}.\n\n"
        f"{line}.\n\nDiff summary: {path}"
        for slot in prepared["slots"]
    ]
    return {"path": str(path), "summary": text, "counts": counts, "bodies": bodies}


def _store(config: PipelineConfig):
    from ..library_db.store import LibraryStore

    return LibraryStore(config.library_db_url())


def check_approvals(
    workflow: str, answers: list, run_id: str | None = None, config: PipelineConfig | None = None
) -> dict:
    """Fails unless the level's N distinct users approved and nobody rejected; every decision
    (who, when, level, answer, comment, automatic or not) goes to the audit log."""
    config = config or load_config()
    flow = config.promotion[workflow]
    level = approvals.level_settings(config, flow.approval_level)
    result = approvals.tally(flow.approval_level, level.required, answers)
    if run_id:
        approvals.record(_store(config), run_id, result)
    lines = [f"## Approvals ({flow.approval_level}, {level.required} distinct approver(s))", ""]
    for d in result.decisions:
        who = d.user or "airflow (automatic)"
        lines.append(f"- {d.at}: {who}: {d.option}" + (f" ({d.comment})" if d.comment else ""))
    _report(config, run_id, "\n".join(lines + ["", f"Outcome: {result.reason()}"]))
    if not result.approved:
        raise approvals.ApprovalRefused(result.reason())
    return {"reason": result.reason(), "approvers": result.approvers}


def window_opening(workflow: str, now: datetime | None = None, config: PipelineConfig | None = None) -> str:
    """ISO moment the deferrable sensor waits for: now inside the window, else its next opening."""
    config = config or load_config()
    flow = config.promotion[workflow]
    now = now or datetime.now(UTC)
    if not flow.scheduled_window:
        return now.isoformat()
    return Window.parse(flow.scheduled_window, flow.timezone).opening(now).isoformat()


def publish(
    workflow: str, prepared: dict, run_id: str | None = None, config: PipelineConfig | None = None
) -> dict:
    """Copies exactly the prepared version to the target (manifest re-checked), then switches."""
    from ..deployment import DeploymentError
    from ..deployment import publish as publish_version

    config = config or load_config()
    flow = config.promotion[workflow]
    folder = Path(prepared["folder"])
    files = manifest(folder)
    digest = manifest_digest(files)
    if digest != prepared["manifest_sha256"]:
        raise DeploymentError(
            f"{folder}: changed since it was approved (manifest differs); nothing published"
        )
    env = config.environment(flow.target)
    with tempfile.TemporaryDirectory(prefix="promotion-") as scratch:
        if any((folder / "database").glob("*.kicad_dbl")) and config.http_library.enabled:
            # the approved files, with the .kicad_httplib naming the target environment
            from ..sites.httplib_files import write_httplib_files

            copy = Path(scratch) / prepared["version"]
            shutil.copytree(folder, copy, symlinks=True)
            write_httplib_files(copy, config, flow.target)
            folder = copy
        published = publish_version(
            folder,
            env.target,
            prepared["version"],
            config.backup.keep_versions,
            config.path,
            env.secondary_target,
        )
        from ..catalogue.publish import write_catalogue

        catalogue = write_catalogue(config, flow.target, prepared["version"], folder)
    result = {
        **published.to_json(),
        "environment": flow.target,
        "manifest_sha256": digest,
        "catalogue": catalogue,
    }
    if run_id:
        _store(config).audit(run_id, "airflow", f"promoted_{workflow}", result)
    _report(
        config,
        run_id,
        f"## Published\n\n{prepared['version']} is live in {flow.target}: {published.live}\n\n"
        f"Catalogue: {catalogue.get('location') or catalogue.get('error') or 'off'}",
    )
    return result


def commit_to_git(
    workflow: str, prepared: dict, changes: dict, run_id: str = "manual", config: PipelineConfig | None = None
) -> dict | None:
    """Commits the promoted version to the target environment's git repository (when configured)."""
    from . import history

    config = config or load_config()
    flow = config.promotion[workflow]
    git = config.environment(flow.target).git
    if git is None:
        log.info("environments.%s.git not set: no git history kept", flow.target)
        return None
    checkout = config.work_dir / "git" / folder_name(flow.target)
    message = f"{flow.target}: version {prepared['version']} (promoted from {flow.source}, run {run_id})"
    sha = history.commit_version(
        git.remote, git.branch, checkout, Path(prepared["folder"]), message, changes["summary"]
    )
    result = {"remote": git.remote, "branch": git.branch, "commit": sha}
    _store(config).audit(run_id, "airflow", "committed_to_git", result)
    _report(config, run_id, f"## Git\n\n{git.remote} {git.branch}: {sha}")
    return result


def rollback(
    env: str, version: str | None, run_id: str = "manual", config: PipelineConfig | None = None
) -> dict:
    """Switches `env` back to `version` (default: the version live before the current one)."""
    from ..deployment import rollback as switch_back

    config = config or load_config()
    published = switch_back(config.environment(env).target, config.path, version)
    result = {**published.to_json(), "environment": env}
    _store(config).audit(run_id, "airflow", "rolled_back", result)
    _report(config, run_id, f"## Rolled back\n\n{env}: {published.previous} -> {published.version}")
    return result
