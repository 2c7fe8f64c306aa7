"""Disaster-recovery tests: restore the site from its backups into scratch targets, measure how long
it took (RTO) and how much was lost (RPO), and compare both with business_continuity.

The steps (each a task of the dr_test DAG):
- declare_failure: the failure point F, the live library database's fingerprints at F, and a
  scratch folder every later step restores into (removed by `remove_scratch`, whatever happened);
- database_recovery: the library database as of F: point-in-time (newest base backup + every
  archived WAL file) when the server archives WAL, else the newest set's dump, into a scratch
  server (a PostgreSQL cluster of its own, or a SQLite file);
- application_recovery: the configuration and the deployed libraries from the newest set, checked
  against the manifest, and the restored configuration loaded;
- site_failover: the whole site from the secondary store alone (the primary counted as lost);
- data_integrity: every object of the newest chain opens in each store, the restored database
  compared with the live one at F (what differs was lost: that is the RPO).
RTO = max(database + application recovery, site failover): the longest way back measured.
RPO = 0 when the restored database equals the live one at F, else F minus the newest change
recovered. Results are stored sealed in the backup stores (`dr-tests/<id>`), so they outlive the
site; the report (markdown) compares them with the previous test.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from include.config import PipelineConfig
from include.operations.backup import Vault

if TYPE_CHECKING:
    from include.operations.pg_cluster import Cluster

log = logging.getLogger(__name__)
DATABASE = "library_db"  # the name site_sources gives the library database


class ObjectiveMissed(Exception):
    """A DR test failed a step or missed the RTO / RPO of business_continuity."""


def _now() -> datetime:
    return datetime.now(UTC)


def declare_failure(cfg: PipelineConfig) -> dict:
    """The failure point, what the live database holds then, and a fresh scratch folder."""
    from include.operations.databases import dialect, fingerprints

    url = cfg.library_db_url()
    failure_point = _now()
    live = {t: f.__dict__ for t, f in fingerprints(url).items()}
    scratch = Path(tempfile.mkdtemp(prefix="altium2kicad-dr-test-"))
    scratch.chmod(0o755)  # a scratch PostgreSQL (its own user when we are root) works inside
    return {
        "failure_point": failure_point.isoformat(),
        "scratch": str(scratch),
        "dialect": dialect(url),
        "live_tables": live,
    }


def _latest(vault: Vault) -> dict:
    ids = vault.set_ids()
    if not ids:
        raise ObjectiveMissed(f"no backup set in {', '.join(s.name for s in vault.stores)}")
    return vault.manifest(ids[-1])


def _scratch_database(state: dict, label: str) -> tuple[str, Cluster | None]:
    """An empty database to restore a dump into: a SQLite file, or a new PostgreSQL cluster."""
    from include.operations.pg_cluster import Cluster, free_port

    folder = Path(state["scratch"]) / label
    if state["dialect"] == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'library.db'}", None
    from sqlalchemy import create_engine, text

    cluster = Cluster(folder, free_port()).initdb().start()
    eng = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text('CREATE DATABASE "library"'))
    eng.dispose()
    return cluster.url("library"), cluster


def database_recovery(cfg: PipelineConfig, state: dict) -> dict:
    """The library database as of the failure point, timed; its fingerprints for data_integrity."""
    from sqlalchemy.engine import make_url

    from include.operations.databases import fingerprints
    from include.operations.pg_cluster import free_port
    from include.operations.pitr import restore_to_point
    from include.operations.restore import restore_database
    from include.operations.site import site_vault
    from include.operations.wal import base_backups

    vault = site_vault(cfg)
    started = time.monotonic()
    if any(b["database"] == DATABASE for b in base_backups(vault)):
        live = make_url(cfg.library_db_url())
        done = restore_to_point(
            vault,
            DATABASE,
            None,
            Path(state["scratch"]) / "database",
            free_port(),
            live.username or "postgres",
        )
        seconds = time.monotonic() - started
        try:
            tables = fingerprints(done.cluster.url(live.database or DATABASE))
        finally:
            done.cluster.stop()
        return {
            "method": "point_in_time",
            "set_id": done.set_id,
            "seconds": round(seconds, 3),
            "recovered_until": done.replayed_until,
            "wal_files": done.wal_files,
            "tables": {t: f.__dict__ for t, f in tables.items()},
        }
    manifest = _latest(vault)
    url, cluster = _scratch_database(state, "database")
    try:
        result = restore_database(vault, manifest, DATABASE, url, verify=True)
        seconds = time.monotonic() - started
        tables = fingerprints(url)
    finally:
        if cluster:
            cluster.stop()
    if result.problems:
        raise ObjectiveMissed("database_recovery: " + "; ".join(result.problems))
    return {
        "method": "dump",
        "set_id": manifest["set_id"],
        "seconds": round(seconds, 3),
        "recovered_until": manifest["started_at"],
        "tables": {t: f.__dict__ for t, f in tables.items()},
    }


def application_recovery(cfg: PipelineConfig, state: dict) -> dict:
    """Configuration and deployed libraries from the newest set, verified, the config loaded."""
    from include.config import load_config
    from include.operations.restore import restore_tree
    from include.operations.site import site_vault

    vault = site_vault(cfg)
    started = time.monotonic()
    manifest = _latest(vault)
    root = Path(state["scratch"]) / "application"
    problems, files = [], 0
    for name in sorted(manifest["trees"]):
        result = restore_tree(vault, manifest, name, root / name, verify=True)
        problems += [f"{name}: {p}" for p in result.problems]
        files += len(manifest["trees"][name]["files"])
    restored_config = root / "config" / "altium2kicad.yaml"
    if restored_config.exists():
        load_config(restored_config)  # a ConfigError here means the restored application cannot start
    elif "config" in manifest["trees"]:
        problems.append("config: the restored configuration folder has no altium2kicad.yaml")
    seconds = time.monotonic() - started
    if problems:
        raise ObjectiveMissed("application_recovery: " + "; ".join(problems))
    return {"set_id": manifest["set_id"], "seconds": round(seconds, 3), "files": files}


def site_failover(cfg: PipelineConfig, state: dict) -> dict:
    """The whole site from the secondary store alone, into scratch targets, verified."""
    from include.operations.restore import restore_site
    from include.operations.site import site_vault

    vault = site_vault(cfg)
    secondary = Vault(vault.stores[1:], vault.key)
    started = time.monotonic()
    manifest = _latest(secondary)
    root = Path(state["scratch"]) / "failover"
    url, cluster = _scratch_database(state, "failover-database")
    try:
        results = restore_site(
            secondary,
            manifest,
            {DATABASE: url},
            {name: root / name for name in manifest["trees"]},
            max_workers=4,
            verify=True,
        )
    finally:
        if cluster:
            cluster.stop()
    seconds = time.monotonic() - started
    problems = [f"{r.what}: {p}" for r in results for p in r.problems]
    if problems:
        raise ObjectiveMissed("site_failover: " + "; ".join(problems))
    return {
        "store": secondary.stores[0].name,
        "set_id": manifest["set_id"],
        "seconds": round(seconds, 3),
        "restored": [r.what for r in results],
    }


def data_integrity(cfg: PipelineConfig, state: dict, database: dict) -> dict:
    """Every object of the newest chain opens in each store; the restored database against the
    live one at the failure point (tables that differ were lost: the RPO)."""
    from include.operations.backup import chain, verify_objects
    from include.operations.site import site_vault

    vault = site_vault(cfg)
    problems = []
    latest = vault.set_ids()[-1]
    for store in vault.stores:
        one = Vault([store], vault.key)
        for set_id in chain(one, latest):
            problems += [f"{store.name} {set_id}: {p}" for p in verify_objects(one, one.manifest(set_id))]
    live, restored = state["live_tables"], database["tables"]
    lost = sorted(t for t in set(live) | set(restored) if live.get(t) != restored.get(t))
    failure_point = datetime.fromisoformat(state["failure_point"])
    if not lost:
        rpo = 0.0
    elif database["recovered_until"]:
        rpo = (failure_point - datetime.fromisoformat(database["recovered_until"])).total_seconds()
    else:
        rpo = None  # nothing recovered that carries a time
        problems.append("the restored database differs from the live one and holds no change time")
    if problems:
        raise ObjectiveMissed("data_integrity: " + "; ".join(problems))
    return {
        "tables_compared": len(live),
        "tables_lost_changes": lost,
        "rpo_seconds": None if rpo is None else round(max(rpo, 0.0), 3),
        "newest_recoverable_change": database["recovered_until"],
    }


def remove_scratch(state: dict) -> list[str]:
    """Stops every scratch cluster and deletes the scratch folder (the DAG's teardown)."""
    from include.operations.pg_cluster import Cluster, ClusterError

    scratch = Path(state["scratch"])
    stopped = []
    for pid_file in list(scratch.rglob("postmaster.pid")) if scratch.exists() else []:
        try:
            Cluster(pid_file.parent, 0).stop("immediate")
            stopped.append(str(pid_file.parent))
        except ClusterError as exc:  # a server that died already: its folder goes all the same
            log.warning("scratch cluster %s: %s", pid_file.parent, exc)
    shutil.rmtree(scratch, ignore_errors=True)
    if scratch.exists():
        raise OSError(f"scratch folder {scratch} could not be removed")
    return stopped


def evaluate(cfg: PipelineConfig, state: dict | None, steps: dict[str, dict | None]) -> dict:
    """The measured RTO and RPO against business_continuity, and which steps failed."""
    bc = cfg.business_continuity
    db, app, site, integrity = (steps.get(k) for k in STEPS)
    rto = None
    if db and app and site:
        rto = round(max(db["seconds"] + app["seconds"], site["seconds"]), 3)
    rpo = integrity.get("rpo_seconds") if integrity else None
    failures = [f"{name} did not succeed (see its log)" for name in STEPS if not steps.get(name)]
    if rto is not None and rto > bc.rto_hours * 3600:
        failures.append(f"RTO {rto:.1f} s exceeds business_continuity.rto_hours {bc.rto_hours:g} h")
    if rpo is not None and rpo > bc.rpo_hours * 3600:
        failures.append(f"RPO {rpo:.1f} s exceeds business_continuity.rpo_hours {bc.rpo_hours:g} h")
    return {
        "test_id": _now().strftime("%Y%m%dT%H%M%S%fZ"),
        "failure_point": state and state["failure_point"],
        "scratch": state and state["scratch"],  # removed by the teardown (the report says where it was)
        "rto_seconds": rto,
        "rpo_seconds": rpo,
        "rto_objective_seconds": bc.rto_hours * 3600,
        "rpo_objective_seconds": bc.rpo_hours * 3600,
        "steps": steps,
        "failures": failures,
        "passed": not failures,
    }


STEPS = ("database_recovery", "application_recovery", "site_failover", "data_integrity")


def previous_results(vault: Vault) -> list[dict]:
    ids = sorted({k.split("/", 1)[1] for s in vault.stores for k in s.list("dr-tests/")})
    return [json.loads(vault.get(f"dr-tests/{i}")) for i in ids]


def store_result(vault: Vault, result: dict) -> None:
    vault.put(f"dr-tests/{result['test_id']}", json.dumps(result, default=str).encode())


def _figure(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.1f} s"


def render_report(result: dict, previous: dict | None) -> str:
    """Markdown: the measured figures, the objectives, each step, and the change since last time."""
    lines = [
        f"# Disaster-recovery test {result['test_id']}",
        "",
        f"Result: **{'PASSED' if result['passed'] else 'FAILED'}**; failure point {result['failure_point']}",
        "",
        "| measure | this test | objective | previous test |",
        "|---|---|---|---|",
    ]
    for key, name in (("rto", "RTO (time to restore)"), ("rpo", "RPO (changes lost)")):
        before = _figure(previous[f"{key}_seconds"]) if previous else "none"
        lines.append(
            f"| {name} | {_figure(result[f'{key}_seconds'])} | "
            f"{result[f'{key}_objective_seconds'] / 3600:g} h | {before} |"
        )
    lines += ["", "| step | outcome | seconds | details |", "|---|---|---|---|"]
    for name in STEPS:
        step = result["steps"].get(name)
        if not step:
            lines.append(f"| {name} | failed | | see the task's log |")
            continue
        details = {k: v for k, v in step.items() if k not in ("tables", "seconds")}
        lines.append(f"| {name} | ok | {step.get('seconds', '')} | {json.dumps(details, default=str)} |")
    if previous:
        lines += [
            "",
            f"Previous test: {previous['test_id']} ({'passed' if previous['passed'] else 'failed'}).",
        ]
        for key in ("rto", "rpo"):
            now, then = result[f"{key}_seconds"], previous[f"{key}_seconds"]
            if now is not None and then is not None:
                lines.append(
                    f"- {key.upper()} changed by {now - then:+.1f} s ({_figure(then)} -> {_figure(now)})"
                )
    else:
        lines += ["", "No previous test to compare with."]
    if result["failures"]:
        lines += ["", "## Failures", *[f"- {f}" for f in result["failures"]]]
    return "\n".join(lines) + "\n"


def notify(cfg: PipelineConfig, result: dict, report: Path) -> bool:
    """Tells the configured channels: `workflow_complete` for a pass, `error_occurred` for a failure
    (with the report's path and what failed); True when a channel took it. Never raises."""
    from include.notifications.dispatch import send_event

    summary = (
        f"altium2kicad dr_test {result['test_id']}: {'passed' if result['passed'] else 'FAILED'}; "
        f"RTO {_figure(result['rto_seconds'])}, RPO {_figure(result['rpo_seconds'])}; report {report}"
    )
    log.info(summary)
    context: dict = {}
    try:
        from airflow.sdk import get_current_context

        context = dict(get_current_context())
    except Exception:  # outside a task (a test, the command line)
        pass
    event = "workflow_complete" if result["passed"] else "error_occurred"
    error = summary if result["passed"] else summary + "; " + "; ".join(result["failures"])
    try:
        outcomes = send_event(cfg, event, context, {"error": error, "stage": "dr_test", "message": summary})
    except Exception:
        log.exception("dr_test: the notification could not be sent")
        return False
    return "sent" in outcomes.values()


def report(cfg: PipelineConfig, state: dict | None, steps: dict[str, dict | None]) -> dict:
    """Evaluates, stores the result in the backup stores, writes the report, notifies; raises
    ObjectiveMissed (after all of that) when the test failed."""
    from include.operations.site import site_vault

    result = evaluate(cfg, state, steps)
    vault = site_vault(cfg)
    earlier = previous_results(vault)
    store_result(vault, result)
    folder = cfg.report_dir / "dr_tests"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"dr_test-{result['test_id']}.md"
    path.write_text(render_report(result, earlier[-1] if earlier else None), encoding="utf-8")
    result["report"] = str(path)
    result["notified"] = notify(cfg, result, path)
    if not result["passed"]:
        raise ObjectiveMissed(f"DR test failed ({path}): " + "; ".join(result["failures"]))
    return {k: v for k, v in result.items() if k != "steps"}
