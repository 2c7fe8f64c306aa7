"""The maintenance DAGs end to end with dag.test() on real services: Airflow's metadata database and
the library database on the machine's PostgreSQL, DAGs paused and resumed through a real api-server.

Must-show 5: database_optimization on PostgreSQL records table statistics before and after;
application_updates' failure path restores the configuration byte for byte and resumes the DAGs.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .conftest import METADATA_DB, REPO

pytestmark = [pytest.mark.slow]
PAUSABLE = ["backup_full", "monitoring"]  # two DAGs that are running normally before an update


@pytest.fixture(scope="module")
def site(airflow_api, pipeline_env, tmp_path_factory):
    """A deployment whose configuration folder holds only configuration, DAGs known to the api-server."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    from include.operations.sealing import new_key
    from tests.scratch_databases import PG_SERVER

    root = tmp_path_factory.mktemp("site")
    folder = root / "config"
    folder.mkdir()
    shutil.copyfile(REPO / "config" / "altium2kicad.yaml", folder / "altium2kicad.yaml")
    (folder / "mapping_overrides.yaml").write_bytes(b"# site rules\nsymbols: {R: Device:R}\n")
    env = {
        "ALTIUM2KICAD_CONFIG": str(folder / "altium2kicad.yaml"),
        "ALTIUM2KICAD_HOME": str(root / "home"),
        "ALTIUM2KICAD_BACKUP_KEY": new_key(),
        "AIRFLOW_CONN_ALTIUM2KICAD_AIRFLOW_API": json.dumps(
            {
                "conn_type": "http",
                "host": airflow_api.base_url,
                "login": airflow_api.username,
                "password": airflow_api.password,
            }
        ),
        "AIRFLOW_CONN_ALTIUM2KICAD_METADATA_DB": f"{PG_SERVER.replace('+psycopg2', '')}/{METADATA_DB}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()  # the dags-folder bundle the DAG rows belong to
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    for dag_id in PAUSABLE:
        airflow_api.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    yield {**pipeline_env, "folder": folder, "home": root / "home", "dags": bag.dags, "api": airflow_api}
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _files(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _paused(api, dag_id: str) -> bool:
    return api.call("GET", f"/api/v2/dags/{dag_id}")["is_paused"]


def test_database_optimization_records_statistics_on_postgresql(site):
    from include.library_db.store import LibraryStore
    from include.operations.records import runs

    store = LibraryStore(site["db_url"])  # a library database with history, as a site has
    for i in range(300):
        store.audit(f"manual__{i}", "tester", "analysis", {"i": i})
    run = site["dags"]["database_optimization"].test()
    assert str(run.state) == "success", task_states_of(run)
    [row] = [r for r in runs(site["db_url"], "database_optimization") if r.run_id == run.run_id]
    assert row.status == "success" and row.detail["backup_set"].endswith("-full")
    before, after = row.detail["before"], row.detail["after"]
    assert {"migration_run", "audit_log", "maintenance_run"} <= set(before) == set(after)
    assert all(t["last_vacuum"] and t["last_analyze"] for t in after.values())
    assert all(t["dead_rows"] == 0 for t in after.values())
    steps = row.detail["steps"]
    assert 'REINDEX TABLE CONCURRENTLY "migration_run"' in steps and 'VACUUM "migration_run"' in steps


def test_failed_update_restores_the_configuration_and_resumes(site, tmp_path):
    """Must-show 5: a new configuration is applied, the migration step fails (no such Alembic
    revision), and the rollback puts back every byte of the configuration and unpauses the DAGs."""
    from include.operations.records import runs

    original = _files(site["folder"])
    release = tmp_path / "release"
    release.mkdir()
    (release / "altium2kicad.yaml").write_text(
        (site["folder"] / "altium2kicad.yaml").read_text() + "\n# release 2.0\n"
    )
    (release / "new_rules.yaml").write_text("symbols: {}\n")
    run = site["dags"]["application_updates"].test(
        run_conf={"new_config": str(release), "revision": "9999_no_such_revision"}
    )
    states = task_states_of(run)
    assert str(run.state) == "failed"
    assert states["backup_configuration"] == states["pause_dags"] == "success"
    assert states["apply_release_configuration"] == "success"  # the new configuration was in place
    # the rollback is the run's watcher: it restores, resumes, and then fails the run on purpose
    assert states["apply_migrations"] == "failed" and states["rollback"] == "failed", states
    assert _files(site["folder"]) == original  # byte for byte, the release's extra file gone too
    assert not any(_paused(site["api"], d) for d in PAUSABLE)
    [row] = [r for r in runs(site["db_url"], "application_updates") if r.run_id == run.run_id]
    assert row.status == "rolled_back" and set(PAUSABLE) <= set(row.detail["resumed"])


def test_update_migrates_and_smoke_runs_the_sample_library(site):
    from alembic import command

    from include.library_db.database import alembic_config, engine, upgrade
    from include.operations.records import runs

    engine.cache_clear()
    upgrade(site["db_url"])
    command.downgrade(alembic_config(site["db_url"]), "0001")  # the release brings 0002
    run = site["dags"]["application_updates"].test(run_conf={"new_config": "", "revision": "head"})
    states = task_states_of(run)
    assert str(run.state) == "success", states
    assert states["rollback"] == "skipped" and set(states.values()) == {"success", "skipped"}, states
    [row] = [r for r in runs(site["db_url"], "application_updates") if r.run_id == run.run_id]
    assert row.detail["migrated"]["from"] == "0001" and row.detail["migrated"]["to"] != "0001"
    assert row.detail["smoke"]["libraries"] == 3 and row.detail["smoke"]["counts"]["ok"] > 0
    from include.library_db.store import LibraryStore

    smoke = LibraryStore(site["db_url"]).run(f"{run.run_id}-smoke")
    assert smoke.dag_id == "application_updates" and smoke.status == "smoke_passed"
    assert set(PAUSABLE) <= set(row.detail["paused"])
    assert not any(_paused(site["api"], d) for d in PAUSABLE)


def test_housekeeping_cleans_old_metadata_and_folders(site):
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    from include.operations.records import runs

    old_day = datetime.now(UTC) - timedelta(days=200)
    with create_session() as s:
        ids = s.scalars(
            select(DagRun.run_id).where(DagRun.dag_id == "application_updates").order_by(DagRun.id)
        ).all()
        assert len(ids) >= 2
        s.execute(update(DagRun).where(DagRun.run_id == ids[0]).values(start_date=old_day))
    old_run = site["home"] / "var" / "altium2kicad" / "runs" / "scheduled__long_ago"
    old_run.mkdir(parents=True)
    (old_run / "report.json").write_text("{}")
    t = (datetime.now(UTC) - timedelta(days=40)).timestamp()
    os.utime(old_run / "report.json", (t, t))
    os.utime(old_run, (t, t))
    recent_run = old_run.with_name("scheduled__yesterday")
    recent_run.mkdir()

    run = site["dags"]["housekeeping"].test()
    assert str(run.state) == "success", task_states_of(run)
    with create_session() as s:
        left = set(s.scalars(select(DagRun.run_id).where(DagRun.dag_id == "application_updates")))
    assert ids[0] not in left and ids[-1] in left  # older than 90 days: gone; the recent one kept
    assert not old_run.exists() and recent_run.is_dir()
    [row] = [r for r in runs(site["db_url"], "housekeeping") if r.run_id == run.run_id]
    assert row.detail["deleted"]["runs"] == [str(old_run)] and row.detail["kept"]["runs"] >= 1


def task_states_of(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        tis = s.scalars(
            select(TaskInstance).where(TaskInstance.run_id == run.run_id, TaskInstance.dag_id == run.dag_id)
        )
        return {t.task_id: str(t.state) for t in tis}


def test_announcements_dag_announces_a_window_once(site):
    import yaml

    from include.operations.records import announcements

    path = site["folder"] / "altium2kicad.yaml"
    original = path.read_bytes()
    opens = (datetime.now(UTC) + timedelta(hours=20)).replace(second=0, microsecond=0)
    config = yaml.safe_load(original)
    config["maintenance"]["windows"] = [
        {"name": "release-2.0", "start": opens.isoformat(), "hours": 3, "description": "application update"}
    ]
    path.write_text(yaml.safe_dump(config))
    try:
        dag = site["dags"]["maintenance_announcements"]
        first, second = dag.test(), dag.test()
    finally:
        path.write_bytes(original)
    assert str(first.state) == str(second.state) == "success"
    rows = [a for a in announcements(site["db_url"]) if a.window_name == "release-2.0"]
    assert [(r.lead_hours, r.opens_at) for r in rows] == [(24, opens)]  # once, though it ran twice
    assert "application update" in rows[0].message and not rows[0].delivered
