"""What each task of full_library_migration does: a few lines per task over the services.

The only module here that reads the Airflow task context (run id, params, upstream answers);
everything it calls is plain Python that tests use directly. XCom carries paths and counts only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .config import PipelineConfig, folder_name, load_config
from .library_db.store import LibraryStore

log = logging.getLogger(__name__)


# -- the run's context ---------------------------------------------------------------------------
class TaskInstance(Protocol):
    """What the steps use of Airflow's task instance (`context["ti"]`)."""

    def xcom_pull(self, task_ids: str) -> object: ...


@dataclass
class RunContext:
    run_id: str
    dag_id: str
    params: dict
    config: PipelineConfig
    actor: str
    ti: TaskInstance | None = None

    @property
    def safe_run(self) -> str:
        return folder_name(self.run_id)

    @property
    def folder(self) -> Path:
        return self.config.work_dir / "runs" / self.safe_run

    @property
    def report_folder(self) -> Path:
        return self.config.report_dir / self.safe_run

    @property
    def report_path(self) -> Path:
        return self.report_folder / "index.html"

    @property
    def store(self) -> LibraryStore:
        return LibraryStore(self.config.library_db_url())

    @property
    def environment_name(self) -> str:
        return self.params.get("environment") or self.config.workflows.default_environment

    @property
    def level(self) -> str:
        return self.config.environment(self.environment_name).validation_level

    def inventory(self, parts: bool = True):
        """The analysis' inventory; `parts=False` for tasks that never look at the parts (70,000
        of them are most of its bytes)."""
        from .inventory import Inventory

        return Inventory.read(self.folder / "inventory.json", parts=parts)

    def rules(self):
        from .mapping_rules import load

        return load(self.folder / "mapping_rules.yaml")

    def parts_source(self, library: Path):
        """Where a DbLib's parts are for this run (param parts_conn_id, else the environment's
        parts_conn_id, else parts_sources), or None.
        The URL it holds stays in this process: never logged, stored or returned to XCom."""
        from . import parts_sources

        if not parts_sources.is_database_library(library):
            return None
        override = str(self.params.get("parts_conn_id") or "").strip() or None
        if override:
            return parts_sources.resolve(library, self.config.parts_sources, override)
        env = self.config.environment(self.environment_name)
        why = f"environments.{self.environment_name}.parts_conn_id"
        return parts_sources.resolve(library, self.config.parts_sources, env.parts_conn_id, why)

    def parts_snapshot(self, library: Path) -> Path:
        """Where the analysis keeps a DbLib's parts tables as it read them (for the conversion)."""
        digest = hashlib.sha1(str(library).encode("utf-8")).hexdigest()[:8]
        return self.folder / "parts" / f"{folder_name(library.stem)[:40]}-{digest}.json"

    def convert_options(self, unit: Path):
        """ConvertOptions for one conversion unit: its parts database from the resolved connection,
        and the parts the analysis read from it (the conversion reads them from there when they
        match the DbLib, instead of reading every table again)."""
        from converters.run import ConvertOptions

        from .sites.engines import pool_options

        found = self.parts_source(unit)
        sharding = self.config.database.scaling.sharding
        snapshot = self.parts_snapshot(unit)
        return ConvertOptions(
            database_url=found.url if found else None,
            engine_options=pool_options(self.config.database.scaling, found.url) if found else {},
            parts_partitions=sharding.number_of_shards if sharding.enabled else 0,
            partition_method=sharding.method,
            parts_snapshot=snapshot if snapshot.is_file() else None,
        )


def current() -> RunContext:
    from airflow.sdk import get_current_context

    ctx = get_current_context()
    run = ctx["dag_run"]
    actor = getattr(run, "triggering_user_name", None) or "airflow"
    return RunContext(run.run_id, run.dag_id, dict(ctx["params"]), load_config(), actor, ctx["ti"])


# -- preparation ---------------------------------------------------------------------------------
def analyze_source_library(rc: RunContext | None = None) -> list[str]:
    """Inventories the source into the library database; returns the conversion units (paths)."""
    from .inventory import analyze

    rc = rc or current()
    source = Path(str(rc.params.get("source") or "")).expanduser()
    if not str(rc.params.get("source") or "").strip():
        raise ValueError("param 'source' is empty: name a .DbLib, a library file or a folder")
    if not source.exists():
        raise FileNotFoundError(f"param 'source': {source} does not exist (as seen by the worker)")
    level = rc.level  # validates the environment name early
    rc.folder.mkdir(parents=True, exist_ok=True)
    store = rc.store
    store.start_run(rc.run_id, rc.dag_id, str(source), rc.environment_name, level, str(rc.folder))
    store.update_run(rc.run_id, report_path=str(rc.report_path))
    inv = analyze(source, lambda dblib: _parts_lookup(rc, dblib), rc.parts_snapshot)
    _hint_unmatched(inv)
    inv.write(rc.folder / "inventory.json")
    store.put_source_items(rc.run_id, [i.__dict__ for i in inv.items])
    store.audit(
        rc.run_id,
        rc.actor,
        "analysis",
        {
            "source": str(source),
            "summary": inv.summary(),
            "counts": inv.counts(),
            "record_types": inv.record_types,
            "approximations": inv.approximations,
            "problems": inv.problems[:20],
        },
    )
    log.info("inventory of %s: %s", source, inv.summary())
    for problem in inv.problems[:20]:
        log.warning("analysis: %s", problem)
    if not inv.units:
        raise ValueError(f"{source}: no Altium library (.SchLib, .PcbLib, .IntLib, .DbLib) found")
    return inv.units


def _parts_lookup(rc: RunContext, dblib: Path) -> tuple[str, str] | None:
    found = rc.parts_source(dblib)
    if found is None:
        return None
    log.info("%s: parts database from %s", dblib.name, found.describe())
    return found.url, found.describe()


def _hint_unmatched(inv) -> None:
    """A DbLib whose database did not open through its own settings: say what to configure."""
    from . import parts_sources
    from .inventory import OWN_SETTINGS

    for lib in inv.of_kind("library"):
        facts = lib.facts
        if facts.get("unreachable") and facts.get("parts_source") == OWN_SETTINGS:
            hint = parts_sources.unmatched_hint(Path(lib.library))
            inv.problems = [f"{p}; {hint}" if p == facts["error"] else p for p in inv.problems]
            facts["error"] = f"{facts['error']}; {hint}"


def create_mapping_rules(units: list[str], rc: RunContext | None = None) -> dict:
    """The run's mapping rules (the edited file, or generated from the analysis), versioned in the DB."""
    from . import mapping_rules

    rc = rc or current()
    edited = rc.params.get("mapping_rules")
    if edited:
        rules = mapping_rules.load(Path(edited))
        origin = f"edited file {edited}"
    else:
        inv = rc.inventory()
        rules = mapping_rules.generate(inv)
        origin = f"generated from the analysis of {inv.source}"
    path = rc.folder / "mapping_rules.yaml"
    text = rules.to_yaml()
    path.write_text(text, encoding="utf-8")
    version = rc.store.put_mapping_rules(rc.run_id, text, origin, rc.actor)
    return {"path": str(path), "version": version, "sha256": rules.sha256}


def setup_validation_criteria(units: list[str], rc: RunContext | None = None) -> dict:
    """Chooses the suites for the environment's level; checks that every source library opened
    (a DbLib's parts database too) and the source parts tables. A failure stops the run here."""
    from . import gate_frames, quality_gates

    rc = rc or current()
    cli = rc.config.kicad_cli()
    criteria = {
        "level": rc.level,
        "environment": rc.environment_name,
        "suites": {k: quality_gates.suites_for(k) for k in ("symbols", "footprints", "models")},
        "kicad_cli": str(cli) if cli else None,
    }
    (rc.folder / "criteria.json").write_text(json.dumps(criteria, indent=1), encoding="utf-8")
    inv = rc.inventory()
    docs = rc.report_folder / "data_docs"
    gates = [
        ("libraries", "libraries.source", gate_frames.source_libraries(inv)),
        ("source_parts", "source_parts", gate_frames.source_parts(inv)),
    ]
    failures, _, _ = _run_gates(rc, rc.level, gates, docs)
    if failures:
        _fail_run(rc, [], failures)
    return criteria


def _fail_run(rc: RunContext, converted: list[dict], failures: list[str]) -> None:
    """A gate stopped the run: the reasons go to the task log, the run record and the report."""
    from . import quality_gates

    message = "\n".join(failures) + f"\nreport: {rc.report_path}"
    log.error("%s", message)
    rc.store.update_run(rc.run_id, status="failed")
    render_report(rc, converted)
    raise quality_gates.GateFailed(message)


# -- migration -----------------------------------------------------------------------------------
def _unit_folder(rc: RunContext, phase: str, unit: str) -> Path:
    digest = hashlib.sha1(unit.encode("utf-8")).hexdigest()[:8]
    stem = folder_name(Path(unit).stem)[:40]
    return rc.folder / phase / f"{stem}-{digest}"


def run_test_migration(units: list[str], rules: dict, rc: RunContext | None = None) -> dict:
    """Converts a sample of library files so people can judge before the full run."""
    from .conversion import convert_unit, report_rows

    rc = rc or current()
    inv = rc.inventory(parts=False)
    size = int(rc.params.get("sample_size") or rc.config.workflows.default_sample_size)
    files = [p for p in inv.libraries if not p.lower().endswith((".dblib", ".svndblib"))] or inv.units
    sample = files[:size]
    counts: dict[str, int] = {}
    lines = []
    for unit in sample:
        res = convert_unit(
            Path(unit),
            _unit_folder(rc, "test", unit),
            rc.rules(),
            rc.convert_options(Path(unit)),
            cache=rc.config.conversion_cache(),
        )
        rows = report_rows(Path(res.report))
        rc.store.put_converted_items(rc.run_id, "test", rows)
        for k, v in res.counts.items():
            counts[k] = counts.get(k, 0) + v
        lines.append(
            f"| {Path(unit).name} | {res.counts.get('ok', 0)} | {res.counts.get('warning', 0)} | "
            f"{res.counts.get('failed', 0)} |"
        )
        for r in rows:
            if r["status"] == "failed":
                lines.append(f"| ↳ failed: {r['item']} | | | {'; '.join(r['messages'])[:200]} |")
    for lib in (i for i in inv.of_kind("library") if i.facts.get("type") == "database"):
        f = lib.facts
        lines.append(
            f"| {Path(lib.library).name} (parts database, {f.get('parts_source', '')}) | "
            + (
                f"{f.get('rows', 0)} parts in {f.get('tables', 0)} tables | | |"
                if not f.get("error")
                else f"| | {f['error'][:300]} |"
            )
        )
    summary = (
        f"Test migration of {len(sample)} of {len(files)} library files from `{inv.source}` "
        f"(mapping rules v{rules['version']}):\n\n| library | ok | warnings | failed |\n|---|---|---|---|\n"
        + "\n".join(lines)
        + f"\n\nOutput: `{rc.folder / 'test'}` · report: `{rc.report_path}`\n\n"
        "Approve to convert everything."
    )
    return {"out": str(rc.folder / "test"), "counts": counts, "sample": sample, "summary": summary}


def run_full_migration(unit: str, rules: dict, rc: RunContext | None = None) -> dict:
    """Converts one unit (a library file or DbLib) with the run's rules; its rows go to the DB."""
    from .conversion import convert_unit, report_rows
    from .operations.metrics import emit_conversion

    rc = rc or current()
    started = time.monotonic()
    res = convert_unit(
        Path(unit),
        _unit_folder(rc, "full", unit),
        rc.rules(),
        rc.convert_options(Path(unit)),
        cache=rc.config.conversion_cache(),
    )
    rc.store.put_converted_items(rc.run_id, "full", report_rows(Path(res.report)))
    emit_conversion(rc.config, res.counts, time.monotonic() - started)
    return res.to_xcom()


# -- validation -----------------------------------------------------------------------------------
def _materialize(converted) -> list[dict]:
    """The mapped tasks' results; indexing by length avoids probing past the end (a logged 404)."""
    if hasattr(converted, "__len__") and hasattr(converted, "__getitem__"):
        return [converted[i] for i in range(len(converted))]
    return list(converted)


def _outputs(converted: list[dict]) -> list[Path]:
    return [Path(c["out"]) for c in converted]


def _all_rows(converted: list[dict]) -> list[dict]:
    from .conversion import report_rows

    rows: list[dict] = []
    for c in converted:
        rows += report_rows(Path(c["report"]))
    return rows


def _record_gate(rc: RunContext, gate: str, success: bool, summary: dict) -> None:
    rc.store.put_gate(rc.run_id, gate, rc.level, success, summary)


def _run_gates(rc: RunContext, level: str, gates: list[tuple[str, str, list[dict]]], docs: Path):
    """Runs each (suite, gate name, frame) and records it: the failure messages, the per-gate summary
    the task returns, and the outcomes by gate."""
    from . import quality_gates

    failures, result, outcomes = [], {}, []
    for (_, gate, _), outcome in zip(gates, quality_gates.run_suites(gates, level, docs), strict=True):
        _record_gate(rc, gate, outcome.success, outcome.to_json())
        result[gate] = {
            "success": outcome.success,
            "checked": outcome.checked,
            "warnings": len(outcome.warnings()),
        }
        if not outcome.success:
            failures.append(outcome.message())
        outcomes.append((gate, outcome))
    return failures, result, outcomes


def validate(kind: str, converted: list[dict], criteria: dict, rc: RunContext | None = None) -> dict:
    """Runs the gates of one kind; a failed gate fails the task naming expectation and items."""
    from . import gate_frames, quality_gates
    from .library_facts import WrittenLibraries

    rc = rc or current()
    converted = _materialize(converted)
    inv = rc.inventory(parts=False)
    rows = _all_rows(converted)
    written = WrittenLibraries.find(_outputs(converted))
    docs = rc.report_folder / "data_docs"
    frames: dict[str, list[dict]] = {
        "conversion_results": gate_frames.conversion_results(rows, quality_gates.KINDS_OF_ROWS[kind])
    }
    if kind == "symbols":
        frames["symbols"] = gate_frames.symbols(inv, rows, written)
    elif kind == "footprints":
        frames["footprints"], _ = gate_frames.footprints(inv, rows, written)
        frames["database_library"] = gate_frames.database_references(written)
    else:
        _, fp_facts = gate_frames.footprints(inv, rows, written)
        frames["models"] = gate_frames.models(fp_facts, written)
    gates = [(s, f"{s}.{kind}" if s == "conversion_results" else s, frame) for s, frame in frames.items()]
    failures, result, _ = _run_gates(rc, criteria["level"], gates, docs)
    if criteria.get("kicad_cli") and kind in ("symbols", "footprints"):
        failures += _kicad_load(rc, kind, Path(criteria["kicad_cli"]), written, result)
    if criteria.get("kicad_cli") and kind == "footprints":
        failures += _kicad_drc(rc, Path(criteria["kicad_cli"]), written, criteria["level"], result)
    if failures:
        _fail_run(rc, converted, failures)
    # a passing kind leaves the report to validate_migration: each rendering of a 70,000-item run
    # costs seconds, and the last validation task renders every gate anyway
    return result


def validate_migration(converted: list[dict], criteria: dict, rc: RunContext | None = None) -> dict:
    """The run as a whole: no library lost entirely, something migrated, quality against the target."""
    from . import gate_frames, metrics

    rc = rc or current()
    converted = _materialize(converted)
    rows = _all_rows(converted)
    run = rc.store.run(rc.run_id)
    figures = metrics.compute(rows, run.started_at if run else None)
    rc.store.put_metrics(rc.run_id, figures)
    target = rc.config.progress_tracking.quality_target
    docs = rc.report_folder / "data_docs"
    gates = [
        ("libraries", "libraries.converted", gate_frames.converted_libraries(rows)),
        ("migration_outcome", "migration_outcome", gate_frames.migration_outcome(figures, target)),
    ]
    failures, result, outcomes = _run_gates(rc, criteria["level"], gates, docs)
    for gate, outcome in outcomes:
        for w in outcome.warnings():
            log.warning(
                "quality gate '%s' (%s): %s: %s", gate, criteria["level"], w.notes, "; ".join(w.failed_items)
            )
    if failures:
        _fail_run(rc, converted, failures)
    render_report(rc, converted)
    return result


def _kicad_load(rc: RunContext, kind: str, cli: Path, written, result: dict) -> list[str]:
    from .kicad_check import load_all

    files = (written.symbol_files, []) if kind == "symbols" else ([], written.footprint_folders)
    loads = load_all(cli, *files)
    bad = [f"{Path(r.library).name}: {r.message}" for r in loads if not r.ok]
    gate = f"kicad_load.{kind}"
    _record_gate(
        rc,
        gate,
        not bad,
        {"checked": len(loads), "messages": bad, "loaded": sum(r.items_loaded for r in loads)},
    )
    result[gate] = {"success": not bad, "checked": len(loads)}
    return (
        [
            f"quality gate '{gate}': KiCad could not load {len(bad)} of {len(loads)} libraries: "
            + "; ".join(bad)
        ]
        if bad
        else []
    )


def _kicad_drc(rc: RunContext, cli: Path, written, level: str, result: dict) -> list[str]:
    """KiCad's DRC on every written footprint (include/footprint_drc.py), through the
    `footprint_drc` suite: introduced violations fail at full/strict, are reported at basic."""
    from . import quality_gates
    from .footprint_drc import check_library, gate_rows, summarize

    checked = [r for folder in written.footprint_folders for r in check_library(cli, folder)]
    outcome = quality_gates.run_suite(
        "footprint_drc",
        level,
        gate_rows(checked),
        rc.report_folder / "data_docs",
        gate="kicad_drc.footprints",
    )
    summary = outcome.to_json() | {"drc": summarize(checked)}
    _record_gate(rc, "kicad_drc.footprints", outcome.success, summary)
    result["kicad_drc.footprints"] = {
        "success": outcome.success,
        "checked": outcome.checked,
        "warnings": len(outcome.warnings()),
    }
    return [] if outcome.success else [outcome.message()]


# -- deployment ----------------------------------------------------------------------------------
ACCEPTED = "accepted_release.json"  # the test release's folder and sha256 manifest, in the run folder


def _upstream_result(rc: RunContext, task_id: str) -> dict | None:
    """An upstream task's returned dict, from its XCom (None outside Airflow)."""
    if rc.ti is None:
        return None
    answer = rc.ti.xcom_pull(task_ids=task_id)
    return answer if isinstance(answer, dict) else None


def deploy(converted: list[dict], stage: str, rc: RunContext | None = None) -> dict:
    """stage 'test': assemble the release, record its sha256 manifest, publish to
    workflows.test_environment; 'production': publish that same accepted release (manifest
    re-checked, never re-assembled from the work folders) to the run's environment."""
    from . import deployment

    rc = rc or current()
    converted = _materialize(converted)
    env_name = rc.config.workflows.test_environment if stage == "test" else rc.environment_name
    env = rc.config.environment(env_name)
    from .sites.httplib_files import write_httplib_files

    if stage == "test":
        release = deployment.assemble(_outputs(converted), rc.folder / "release")
        write_httplib_files(release.folder, rc.config, env_name)
        accepted = deployment.record_accepted(release.folder, rc.folder / ACCEPTED)
        conflicts = release.conflicts
        folder = release.folder
    else:  # exactly what user acceptance saw: the test release, checked against its manifest
        tested = _upstream_result(rc, "deployment.deploy_to_test_environment") or {}
        accepted = deployment.check_accepted(rc.folder / ACCEPTED, tested.get("manifest_sha256"))
        conflicts = []
        # the same files; only the .kicad_httplib (outside the manifest) names this environment
        folder = rc.folder / "release-production"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(accepted["folder"], folder, symlinks=True)
        write_httplib_files(folder, rc.config, env_name)
    published = deployment.publish(
        folder,
        env.target,
        rc.safe_run,
        rc.config.backup.keep_versions,
        rc.config.path,
        env.secondary_target,
        wanted=accepted["files"],  # the copies must read back as what acceptance saw
    )
    from .catalogue.publish import write_catalogue

    # beside the version, outside its manifest; a failure is reported, never fails the deployment
    catalogue = write_catalogue(rc.config, env_name, published.version, folder)
    progress = _progress_now(rc, converted)
    rc.store.put_metrics(rc.run_id, progress)
    if stage == "production":
        from .operations.metrics import emit_run

        emit_run(rc.config, progress)
    rc.store.audit(
        rc.run_id,
        rc.actor,
        f"deployed_{stage}",
        {
            "environment": env_name,
            **published.to_json(),
            "manifest_sha256": accepted["manifest_sha256"],
            "conflicts": conflicts[:20],
            "catalogue": catalogue,
        },
    )
    if stage == "production":
        from .library_db.store import utcnow

        rc.store.update_run(
            rc.run_id, status="deployed", deployed_version=published.version, finished_at=utcnow()
        )
    deployed = {f"{stage} deployment": published.live, "version": published.version}
    if "location" in catalogue or "error" in catalogue:
        deployed["catalogue"] = catalogue.get("location") or f"not written: {catalogue['error']}"
    render_report(rc, converted, deployed)
    counts = rc.store.status_counts(rc.run_id)
    summary = (
        f"Deployed to **{env_name}**: `{published.live}` (version `{published.version}`, {published.files} files"
        f"{', previous ' + published.previous if published.previous else ''}).\n\n"
        f"Items: {counts}. Report: `{rc.report_path}`.{_catalogue_line(catalogue)}\n\n"
        "Approve to publish to production."
    )
    return {
        **published.to_json(),
        "environment": env_name,
        "report": str(rc.report_path),
        "summary": summary,
        "manifest_sha256": accepted["manifest_sha256"],
        "conflicts": len(conflicts),
        "catalogue": catalogue,
    }


def _progress_now(rc: RunContext, converted: list[dict]) -> dict[str, tuple[float, str]]:
    """The run's metrics with time_spent up to now. The counts are those validate_migration stored
    from these same converted rows (the deployments only add time): 70,000 report rows are not
    read again for them; without stored counts they are computed from the rows."""
    from . import metrics

    run = rc.store.run(rc.run_id)
    started = run.started_at if run else None
    stored = rc.store.metrics(rc.run_id)
    counted = ("components_migrated", "migration_quality")
    if not all(name in stored for name in counted):
        return metrics.compute(_all_rows(converted), started)
    return metrics.compute([], started) | {name: (stored[name].value, stored[name].unit) for name in counted}


def _catalogue_line(catalogue: dict) -> str:
    if "error" in catalogue:
        return f" Catalogue not written: {catalogue['error']}."
    return f" Catalogue: `{catalogue['location']}`." if "location" in catalogue else ""


def render_report(rc: RunContext, converted: list[dict], extra: dict | None = None) -> Path:
    from . import report_html

    path = report_html.render(
        rc.store,
        rc.run_id,
        _outputs(converted),
        rc.report_path,
        extra,
        quality_target=rc.config.progress_tracking.quality_target,
    )
    log.info("migration report: %s", path)
    return path
