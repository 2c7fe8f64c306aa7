"""Application updates: back up the configuration, stop new runs (pause DAGs through Airflow's REST
API), apply a new release's configuration and the library database's Alembic migrations, resume,
and verify with a smoke migration of the sample library. A failed step restores the configuration
backup and resumes the DAGs (the application_updates DAG's rollback task).

Why the REST API: Airflow 3 keeps task code out of the metadata database, so pausing goes through
the api-server like any client, with the credentials of an Airflow connection
(maintenance.application_updates.airflow_api_conn_id: host = base URL, login, password).
Why the plan carries the backup settings: the rollback must work when the new configuration is the
thing that broke, so it never reads the live configuration before restoring it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from include.airflow_api import AirflowApi
from include.config import PipelineConfig, config_path
from include.operations.backup import SiteSources, Vault

log = logging.getLogger(__name__)
CONFIG_TREE = "config"


def api_client(conn_id: str) -> AirflowApi:
    """A REST client from an Airflow connection (host: the api-server's base URL)."""
    from include.connections import http_connection

    base, conn = http_connection(
        conn_id, "maintenance.application_updates.airflow_api_conn_id", "the api-server URL"
    )
    return AirflowApi(base, conn.login or "", conn.password or "")


def active_dags(api: AirflowApi, exclude: set[str]) -> list[str]:
    """Every unpaused DAG except `exclude` (the update's own DAG)."""
    ids, offset = [], 0
    while True:
        page = api.call("GET", f"/api/v2/dags?paused=false&limit=100&offset={offset}")
        ids += [d["dag_id"] for d in page.get("dags", [])]
        offset += 100
        if offset >= page.get("total_entries", 0):
            return sorted(set(ids) - exclude)


def set_paused(api: AirflowApi, dag_ids: list[str], paused: bool) -> list[str]:
    """Pauses (or resumes) the DAGs through Airflow's REST API; returns their ids."""
    for dag_id in dag_ids:
        api.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})
    log.info("%s %d DAGs: %s", "paused" if paused else "unpaused", len(dag_ids), ", ".join(dag_ids))
    return dag_ids


def wait_drained(api: AirflowApi, own_dag: str, timeout_minutes: float) -> list[str]:
    """Waits until no DAG run but the update's own is running; raises (the rollback follows) on time out."""
    deadline = time.monotonic() + timeout_minutes * 60
    while True:
        page = api.call("GET", "/api/v2/dags/~/dagRuns?state=running&limit=100")
        busy = sorted(
            f"{r['dag_id']}/{r['dag_run_id']}" for r in page.get("dag_runs", []) if r["dag_id"] != own_dag
        )
        if not busy:
            return busy
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"runs still running after {timeout_minutes:g} min "
                f"(maintenance.application_updates.drain_timeout_minutes): {', '.join(busy)}"
            )
        time.sleep(5)


def vault_of(backup: dict, resolve_path) -> Vault:
    """The backup vault from backup settings carried in the plan (not read from the live config)."""
    from include.config import Backup
    from include.operations.sealing import load_key
    from include.operations.stores import open_store

    b = Backup.model_validate(backup)
    return Vault(
        [open_store(b.primary, resolve_path), open_store(b.secondary, resolve_path)],
        load_key(b.key_env, b.key_conn_id),
    )


def backup_configuration(vault: Vault, folder: Path) -> str:
    """A sealed backup set of kind `config` holding the configuration folder; returns its id."""
    from include.operations.backup import create_backup

    return create_backup(vault, SiteSources({}, {CONFIG_TREE: folder}), "config")["set_id"]


def restore_configuration(vault: Vault, set_id: str, folder: Path, force: bool):
    """The configuration tree of a set, authenticated in full before the folder is replaced."""
    from include.operations.restore import restore_tree

    result = restore_tree(vault, vault.manifest(set_id), CONFIG_TREE, folder, force=force, verify=True)
    if not result.ok:
        raise RuntimeError(
            f"configuration restore differs from backup {set_id}: {'; '.join(result.problems)}"
        )
    return result


def apply_configuration(release: Path, folder: Path) -> list[str]:
    """Copies a release's configuration files over the configuration folder; returns what changed."""
    if not release.is_dir():
        raise FileNotFoundError(f"param 'new_config': {release} is not a folder")
    changed = []
    for src in sorted(p for p in release.rglob("*") if p.is_file()):
        rel = src.relative_to(release)
        dst = folder / rel
        if not dst.is_file() or dst.read_bytes() != src.read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            changed.append(rel.as_posix())
    return changed


def migrate(url: str, revision: str) -> dict:
    """Alembic upgrade of the library database to `revision` ('head': the release's newest)."""
    from alembic import command

    from include.library_db.database import alembic_config
    from include.operations.backup import _alembic_revision

    before = _alembic_revision(url)
    command.upgrade(alembic_config(url), revision)
    return {"from": before, "to": _alembic_revision(url)}


def smoke_run(cfg: PipelineConfig, run_id: str) -> dict:
    """The migration's first stages (analysis, mapping rules, test migration) on the sample library,
    through the same pipeline functions the DAG and the demo run; any failed item fails it."""
    from converters.fixtures.sample_library import write_sample_library
    from include import pipeline

    with tempfile.TemporaryDirectory(prefix="a2k-smoke-") as tmp:
        write_sample_library(Path(tmp))
        rc = pipeline.RunContext(
            run_id,
            "application_updates",
            {"source": tmp, "environment": cfg.workflows.default_environment, "sample_size": 10},
            cfg,
            "application_updates",
        )
        units = pipeline.analyze_source_library(rc)
        rules = pipeline.create_mapping_rules(units, rc)
        test = pipeline.run_test_migration(units, rules, rc)
    counts = test["counts"]
    ok = not counts.get("failed", 0) and counts.get("ok", 0) > 0
    from include.library_db.store import utcnow

    rc.store.update_run(run_id, status="smoke_passed" if ok else "smoke_failed", finished_at=utcnow())
    if not ok:
        raise RuntimeError(f"smoke migration of the sample library failed: {counts} (report: {test['out']})")
    return {"libraries": len(test["sample"]), "counts": counts}


def config_folder() -> Path:
    """The folder holding the pipeline configuration (what a configuration backup covers)."""
    return config_path().parent


def roll_back(plan: dict, run_id: str) -> dict:
    """Restores the configuration backup of `plan`, resumes its DAGs and records the rollback."""
    from datetime import UTC, datetime

    def resolve(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(plan["home"]) / p

    vault = vault_of(plan["backup"], resolve)
    restore_configuration(vault, plan["set_id"], Path(plan["config_dir"]), force=True)
    resumed = set_paused(api_client(plan["api_conn_id"]), plan["dags"], False)
    detail = {"backup_set": plan["set_id"], "restored": plan["config_dir"], "resumed": resumed}
    try:  # the configuration is the backed-up one again, so it names the library database
        from include.config import load_config
        from include.operations.records import record_run

        record_run(
            load_config().library_db_url(),
            "application_updates",
            run_id,
            "rolled_back",
            detail,
            datetime.now(UTC),
        )
    except Exception as exc:  # noqa: BLE001 - the rollback itself succeeded; say why it is unrecorded
        log.error("rollback done but not recorded in the library database: %s", exc)
        detail["unrecorded"] = str(exc)
    log.warning("application update rolled back: %s", detail)
    return detail
