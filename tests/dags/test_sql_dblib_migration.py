"""full_library_migration on a SQL-backed DbLib whose connection string names an ODBC data source.

The DbLib says `Provider=MSDASQL.1;...;Data Source=localPostgres;Initial Catalog=...` (with its own
user and password, as real ones do); configuration `parts_sources` maps the data source to an
Airflow connection given the Airflow way (AIRFLOW_CONN_*), holding a real PostgreSQL scratch
database that the project's fixture writer filled (many tables, long names, duplicate keys).
Same machinery as test_full_library_migration: dag.test(), approvals answered over REST.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
import yaml

from converters.fixtures.sql_dblib_writer import write_sql_dblib
from tests.scratch_databases import SERVERS, create_database, drop_database

from .conftest import run_dag, task_states

pytestmark = [pytest.mark.slow]
PARTS, TABLES = 600, 12
CONN_ID = "a2k_parts_dsn"
CONN_SECRET = "ConnSecret-" + uuid.uuid4().hex[:8]  # trust auth ignores it; it must still never show
DBLIB_SECRET = "DbLibOwnSecret"


@pytest.fixture(scope="module")
def parts_db(tmp_path_factory):
    name = f"a2k_parts_{uuid.uuid4().hex[:10]}"
    try:
        url = create_database("postgresql", name)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    folder = tmp_path_factory.mktemp("sql_dblib")
    dblib = write_sql_dblib(
        folder, url, PARTS, TABLES, dsn="localPostgres", password=DBLIB_SECRET, duplicate_every=20
    )
    yield name, dblib
    drop_database("postgresql", name)


@pytest.fixture(scope="module")
def sql_config(pipeline_env, tmp_path_factory):
    """The test configuration plus a parts_sources entry for the DbLib's ODBC data source."""
    path = Path(os.environ["ALTIUM2KICAD_CONFIG"])
    config = yaml.safe_load(path.read_text())
    config["parts_sources"] = [{"data_source": "localPostgres", "conn_id": CONN_ID}]
    mine = tmp_path_factory.mktemp("sql_config") / "altium2kicad.yaml"
    mine.write_text(yaml.safe_dump(config))
    os.environ["ALTIUM2KICAD_CONFIG"] = str(mine)
    yield mine
    os.environ["ALTIUM2KICAD_CONFIG"] = str(path)


def _connection(database: str) -> str:
    server = SERVERS["postgresql"].url.replace("postgresql+psycopg2://", "")
    user, _, host = server.partition("@")
    return f"postgresql://{user}:{CONN_SECRET}@{host}/{database}"


def _source_rows(database: str) -> dict[str, int]:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(SERVERS["postgresql"].database_url(database))
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                for t in inspect(engine).get_table_names()
            }
    finally:
        engine.dispose()


def _run_texts(run, home: Path) -> dict[str, str]:
    """Everything a run leaves where people or tasks read it: XComs, task logs, reports, run files,
    the library database's rows of the run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from include.config import load_config
    from include.library_db.store import LibraryStore

    texts = {}
    with create_session() as s:
        rows = s.execute(select(XComModel.task_id, XComModel.value).where(XComModel.run_id == run.run_id))
        texts["xcom"] = "\n".join(f"{t}: {v}" for t, v in rows)
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    texts["task logs"] = "\n".join(
        p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file() and run.run_id in str(p)
    )
    for p in home.rglob("*"):
        if p.is_file() and p.suffix in (".html", ".js", ".json", ".yaml", ".kicad_dbl"):
            texts[str(p)] = p.read_text(errors="replace")
    store = LibraryStore(load_config().library_db_url())
    texts["library db"] = "\n".join(
        [json.dumps(i.facts) for i in store.source_items(run.run_id, "library")]
        + [json.dumps(a.detail, default=str) for a in store.audit_log(run.run_id)]
        + [json.dumps(g.summary) for g in store.gates(run.run_id)]
        + [" ".join(r.messages) for r in store.converted_items(run.run_id) if r.messages]
    )
    return texts


def test_odbc_data_source_dblib_through_an_airflow_connection(
    dag, airflow_api, pipeline_env, parts_db, sql_config, monkeypatch, capfd
):
    from include.library_db.store import LibraryStore

    database, dblib = parts_db
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", _connection(database))
    source_rows = _source_rows(database)
    assert sum(source_rows.values()) == PARTS and len(source_rows) == TABLES
    run, reviewer, seconds = run_dag(
        dag, airflow_api, {"source": str(dblib.path), "environment": "development", "sample_size": 1}
    )
    states = task_states(run)
    assert str(run.state) == "success", (states, reviewer.errors)
    store = LibraryStore(pipeline_env["db_url"])
    assert len(store.source_items(run.run_id, "part")) == PARTS  # the analysis read the real parts
    (library,) = [i for i in store.source_items(run.run_id, "library") if i.item == dblib.path.name]
    assert library.facts["rows"] == PARTS and library.facts["tables"] == TABLES
    assert library.facts["parts_source"] == f"Airflow connection '{CONN_ID}' (data source 'localPostgres')"
    parts = [r for r in store.converted_items(run.run_id) if r.kind == "part"]
    assert len(parts) == PARTS and all(r.status != "failed" for r in parts)
    duplicates = [r for r in parts if "used by an earlier row" in " ".join(r.messages)]
    assert len(duplicates) == dblib.duplicate_keys > 0
    gates = {g.gate: g.success for g in store.gates(run.run_id)}
    assert gates["libraries.source"] and gates["libraries.converted"] and gates["migration_outcome"]
    review = next(a["body"] for a in reviewer.answered if a["task_id"] == "migration.review_test_results")
    assert f"{PARTS} parts in {TABLES} tables" in review

    # deployed: the parts database holds every source row, table by table
    live = pipeline_env["home"] / "var" / "altium2kicad" / "deploy" / "development" / "current"
    assert (
        store.run(run.run_id).deployed_version
        and live.resolve().name == store.run(run.run_id).deployed_version
    )
    dbl = json.loads((live / "database" / "EnterpriseParts.kicad_dbl").read_text())
    with sqlite3.connect(live / "database" / "EnterpriseParts.sqlite") as db:
        written = {
            lib["table"]: db.execute(f'SELECT count(*) FROM "{lib["table"]}"').fetchone()[0]
            for lib in dbl["libraries"]
        }
    assert sum(written.values()) == PARTS and sorted(written.values()) == sorted(source_rows.values())

    # no password (the DbLib's own, the connection's) in XCom, task logs, reports, the library DB
    out, err = capfd.readouterr()
    texts = {**_run_texts(run, pipeline_env["home"]), "task output": out + err}
    for secret in (DBLIB_SECRET, CONN_SECRET):
        leaked = [where for where, text in texts.items() if secret in text]
        assert not leaked, f"{secret} found in {leaked}"
    print(f"\nSQL DbLib ({PARTS} parts, {TABLES} tables) through the DAG: {seconds:.1f}s")


def test_unreachable_parts_database_fails_and_deploys_nothing(
    dag, airflow_api, pipeline_env, parts_db, sql_config, monkeypatch, capfd
):
    from include.library_db.store import LibraryStore

    _, dblib = parts_db
    live = pipeline_env["home"] / "var" / "altium2kicad" / "deploy" / "development" / "current"
    before = live.resolve() if live.exists() else None
    absent = f"a2k_absent_{uuid.uuid4().hex[:8]}"  # the server answers; the database is not there
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", _connection(absent))
    run, reviewer, _ = run_dag(
        dag, airflow_api, {"source": str(dblib.path), "environment": "development", "sample_size": 1}
    )
    states = task_states(run)
    store = LibraryStore(pipeline_env["db_url"])
    gates = {g.gate: g.summary for g in store.gates(run.run_id)}
    assert str(run.state) == "failed"
    assert states["preparation.setup_validation_criteria"] == "failed", (states, gates)
    assert states["migration.run_test_migration"] == "upstream_failed"
    assert states["deployment.deploy_to_test_environment"] == "upstream_failed"
    assert states["deployment.deploy_to_production"] == "upstream_failed"
    assert reviewer.answered == []  # nothing reached a reviewer
    record = store.run(run.run_id)
    assert record.status == "failed" and not record.deployed_version
    assert (live.resolve() if live.exists() else None) == before  # nothing deployed
    assert store.converted_items(run.run_id) == []
    gate = next(g for g in store.gates(run.run_id) if g.gate == "libraries.source")
    assert not gate.success
    report = Path(record.report_path).read_text()
    assert "Why the run stopped" in report and "EnterpriseParts.DbLib" in report
    assert "cannot open the parts database" in report and absent in report
    assert f"Airflow connection &#x27;{CONN_ID}&#x27;" in report or CONN_ID in report
    out, err = capfd.readouterr()
    assert "cannot open the parts database" in out + err  # the reason is in the task log too
    for secret in (DBLIB_SECRET, CONN_SECRET):
        assert secret not in report and secret not in out + err
    # the DAG's failure callback: metrics of a run that converted nothing, where and why it stopped
    metrics = store.metrics(run.run_id)
    assert metrics["components_migrated"].value == 0 and "total_components" in metrics
    assert "Final state: failed at setup_validation_criteria: gate libraries.source" in report
    assert "status <b>running</b>" not in report
