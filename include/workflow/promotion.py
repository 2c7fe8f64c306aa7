"""What each task of the promote_* DAGs does: pick the version, count approvals, wait, publish.

Reads the Airflow context only through `airflow.sdk.get_current_context` in the task functions;
the version copy itself is include.deployment's (new version first, then the pointer switch).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from ..config import PipelineConfig, load_config
from . import approvals
from .window import Window


def manifest(folder: Path) -> dict[str, str]:
    """sha256 of every file of a version, by relative path (what acceptance saw)."""
    from ..deployment import manifest as version_manifest

    return version_manifest(folder)


def _live_folder(config: PipelineConfig, env: str, version: str | None) -> tuple[Path, str]:
    """The version's folder on the environment's primary, or on its secondary while the primary is down."""
    from ..deployment import Side, live_version

    environment = config.environment(env)
    stores = [t for t in (environment.target, environment.secondary_target) if t is not None]
    if any(t.kind != "local" for t in stores):
        raise NotImplementedError(f"environments.{env}: promotion from S3 is not implemented yet")
    if version is None:
        version, which = live_version(environment.target, config.path, environment.secondary_target)
    else:
        which = "primary"
        try:
            Side(environment.target, config.path).current()
        except Exception:
            if environment.secondary_target is None:
                raise
            which = "secondary"
    target = environment.target if which == "primary" else environment.secondary_target
    root = config.path(target.path)
    if not version:
        raise ValueError(f"environments.{env}: nothing deployed at {root}")
    folder = root / "versions" / version
    if not folder.is_dir():
        raise FileNotFoundError(f"environments.{env}: version {version} not found at {folder}")
    return folder, version


def prepare(workflow: str, version: str | None, config: PipelineConfig | None = None) -> dict:
    """The version to promote, its manifest digest and one approval slot per required approver."""
    config = config or load_config()
    flow = config.promotion[workflow]
    folder, version = _live_folder(config, flow.source, version)
    files = manifest(folder)
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    level = approvals.level_settings(config, flow.approval_level)
    return {
        "version": version,
        "folder": str(folder),
        "files": len(files),
        "manifest_sha256": digest,
        "slots": [f"Approver {i + 1} of {level.required}" for i in range(level.required)],
    }


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
    result = approvals.tally(flow.approval_level, level.required, list(answers))
    if run_id:
        store = _store(config)
        for d in result.decisions:
            store.audit(
                run_id,
                d.user or "airflow:auto",
                "approval_rejected" if d.option == approvals.REJECT else "approval_granted",
                {"level": flow.approval_level, "at": d.at, "comment": d.comment, "automatic": d.automatic},
            )
        store.audit(
            run_id, "airflow", "approval_outcome", {"approved": result.approved, "reason": result.reason()}
        )
    if not result.approved:
        raise PermissionError(result.reason())
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
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    if digest != prepared["manifest_sha256"]:
        raise DeploymentError(
            f"{folder}: changed since it was approved (manifest differs); nothing published"
        )
    env = config.environment(flow.target)
    published = publish_version(
        folder,
        env.target,
        prepared["version"],
        config.backup.keep_versions,
        config.path,
        env.secondary_target,
    )
    result = {**published.to_json(), "environment": flow.target, "manifest_sha256": digest}
    if run_id:
        _store(config).audit(run_id, "airflow", f"promoted_{workflow}", result)
    return result
