"""The task functions on SQL-backed DbLibs (PostgreSQL, MariaDB reached through Airflow connections)
and the runs that must never end as a success: a library lost, nothing migrated."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from converters.altium.dblib import DbLibTable
from converters.fixtures.dblib_writer import CSV_CONNECTION, standard_field_maps, write_dblib
from converters.fixtures.sql_dblib_writer import write_sql_dblib
from include import pipeline
from include.config import DEFAULT_CONFIG, PartsSource, load_config
from include.quality_gates import GateFailed
from tests.scratch_databases import scratch_database


@pytest.fixture
def run_context(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.delenv("ALTIUM2KICAD_DB_URL", raising=False)
    monkeypatch.delenv("ALTIUM2KICAD_KICAD_CLI", raising=False)

    def make(source: Path, environment: str, sources=(), **params) -> pipeline.RunContext:
        config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
        config.parts_sources = list(sources)
        return pipeline.RunContext(
            f"manual__{uuid.uuid4().hex[:6]}",
            "full_library_migration",
            {"source": str(source), "environment": environment, "sample_size": 1, **params},
            config,
            "tester",
        )

    return make


def _through_every_stage(rc: pipeline.RunContext) -> dict:
    units = pipeline.analyze_source_library(rc)
    rules = pipeline.create_mapping_rules(units, rc)
    criteria = pipeline.setup_validation_criteria(units, rc)
    test = pipeline.run_test_migration(units, rules, rc)
    converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
    for kind in ("symbols", "footprints", "models"):
        pipeline.validate(kind, converted, criteria, rc)
    pipeline.validate_migration(converted, criteria, rc)
    pipeline.deploy(converted, "test", rc)  # what user acceptance sees
    deployed = pipeline.deploy(converted, "production", rc)
    return {"test": test, "converted": converted, "deployed": deployed}


def _deployed_rows(deployed: dict, name: str) -> int:
    live = Path(deployed["live"])
    dbl = json.loads((live / "database" / f"{name}.kicad_dbl").read_text())
    with sqlite3.connect(live / "database" / f"{name}.sqlite") as db:
        return sum(
            db.execute(f'SELECT count(*) FROM "{lib["table"]}"').fetchone()[0] for lib in dbl["libraries"]
        )


def _airflow_json(url: str) -> str:
    u = make_url(url)
    kind = "mysql" if u.get_backend_name() == "mysql" else "postgres"
    return json.dumps(
        {"conn_type": kind, "host": u.host, "port": u.port, "login": u.username, "schema": u.database}
    )


@pytest.mark.parametrize(
    "kind, rule",
    [("mariadb", "database"), ("postgresql", "dblib")],
)
def test_sql_dblib_through_an_airflow_connection(tmp_path, run_context, monkeypatch, kind, rule):
    """MariaDB matched by `Initial Catalog`, PostgreSQL by the DbLib's file name; the connection in
    Airflow's JSON form."""
    with scratch_database(kind) as url:
        made = write_sql_dblib(tmp_path / "src", url, 150, 4, dsn="someDsn", duplicate_every=20)
        monkeypatch.setenv("AIRFLOW_CONN_A2K_PARTS_SQL", _airflow_json(url))
        match = {"database": make_url(url).database} if rule == "database" else {"dblib": made.path.name}
        rc = run_context(made.path, "development", [PartsSource(**match, conn_id="a2k_parts_sql")])
        done = _through_every_stage(rc)
    assert _deployed_rows(done["deployed"], "EnterpriseParts") == made.rows == 150
    assert "150 parts in 4 tables" in done["test"]["summary"]
    assert len(rc.store.source_items(rc.run_id, "part")) == 150
    gates = {g.gate: g.success for g in rc.store.gates(rc.run_id)}
    assert gates["libraries.source"] and gates["libraries.converted"] and gates["migration_outcome"]
    assert rc.store.run(rc.run_id).status == "deployed"


def test_param_overrides_parts_sources(tmp_path, run_context, monkeypatch):
    with scratch_database("postgresql") as url:
        made = write_sql_dblib(tmp_path / "src", url, 40, 2)
        monkeypatch.setenv("AIRFLOW_CONN_A2K_PARTS_RUN", _airflow_json(url))
        wrong = [PartsSource(data_source="localPostgres", conn_id="a2k_parts_not_defined")]
        rc = run_context(made.path, "development", wrong, parts_conn_id="a2k_parts_run")
        done = _through_every_stage(rc)
    assert _deployed_rows(done["deployed"], "EnterpriseParts") == 40
    (lib,) = [i for i in rc.store.source_items(rc.run_id, "library") if i.item == made.path.name]
    assert lib.facts["parts_source"] == "Airflow connection 'a2k_parts_run' (param parts_conn_id)"


def _stops_at_preparation(rc) -> str:
    units = pipeline.analyze_source_library(rc)
    pipeline.create_mapping_rules(units, rc)
    with pytest.raises(GateFailed) as failed:
        pipeline.setup_validation_criteria(units, rc)
    assert rc.store.run(rc.run_id).status == "failed"
    report = rc.report_path.read_text()
    assert "Why the run stopped" in report
    return str(failed.value) + "\n" + report


@pytest.mark.parametrize("level_env", ["development", "testing", "production"])
def test_unmatched_sql_dblib_fails_at_every_level_saying_what_to_map(tmp_path, run_context, level_env):
    with scratch_database("postgresql") as url:
        made = write_sql_dblib(tmp_path / "src", url, 10, 1)
    text = _stops_at_preparation(run_context(made.path, level_env))
    assert "cannot open the parts database" in text and "EnterpriseParts.DbLib" in text
    assert "data_source: localPostgres" in text and "parts_conn_id" in text
    assert "DbLibOwnSecret" not in text and "Password=***" in text


def test_undefined_connection_is_named(tmp_path, run_context):
    with scratch_database("postgresql") as url:
        made = write_sql_dblib(tmp_path / "src", url, 10, 1)
    rules = [PartsSource(data_source="localPostgres", conn_id="a2k_parts_nowhere")]
    text = _stops_at_preparation(run_context(made.path, "development", rules))
    assert "Airflow connection &#x27;a2k_parts_nowhere&#x27; is not defined" in text or (
        "Airflow connection 'a2k_parts_nowhere' is not defined" in text
    )


def test_unreadable_library_file_fails_at_basic(tmp_path, run_context):
    from converters.fixtures.broken import not_compound_file
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(tmp_path / "src")
    bad = not_compound_file(tmp_path / "src")
    text = _stops_at_preparation(run_context(tmp_path / "src", "development"))
    assert bad.name in text and "libraries.source" in text


def test_nothing_migrated_fails_at_basic(tmp_path, run_context):
    """Every part names libraries that do not exist: the conversion writes nothing usable."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "Parts.csv").write_text(
        "Part Number,Library Path,Library Ref,Footprint Path,Footprint Ref\n"
        "P1,Gone.SchLib,X,Gone.PcbLib,F\nP2,Gone.SchLib,Y,Gone.PcbLib,F\n"
    )
    dblib = write_dblib(
        src / "Gone.DbLib",
        CSV_CONNECTION.format(path="Parts.csv"),
        [DbLibTable("Parts.csv")],
        standard_field_maps("Parts.csv"),
        database_path="Parts.csv",
    )
    rc = run_context(dblib, "development")
    units = pipeline.analyze_source_library(rc)
    rules = pipeline.create_mapping_rules(units, rc)
    criteria = pipeline.setup_validation_criteria(units, rc)
    converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
    with pytest.raises(GateFailed, match="0 components migrated"):
        pipeline.validate_migration(converted, criteria, rc)
    assert rc.store.metrics(rc.run_id)["components_migrated"].value == 0
    report = rc.report_path.read_text()
    assert "Why the run stopped" in report and "never a hollow success" in report
