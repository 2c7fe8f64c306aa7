"""parts_sources: which Airflow connection holds a DbLib's parts, and the URL built from it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import make_url

from converters.altium.dblib import DbLibTable
from converters.fixtures.dblib_writer import standard_field_maps, write_dblib
from converters.fixtures.sql_dblib_writer import ODBC_DSN_CONNECTION
from include import parts_sources
from include.config import ConfigError, PartsSource, parse_config


def _dblib(tmp_path, name="Parts.DbLib", dsn="localPostgres", database="parts_db"):
    connection = ODBC_DSN_CONNECTION.format(
        user="altium", password="DbLibOwnSecret", dsn=dsn, database=database
    )
    return write_dblib(tmp_path / name, connection, [DbLibTable("Parts")], standard_field_maps("Parts"))


def test_identity_reads_data_source_and_catalog(tmp_path):
    ident = parts_sources.identity(_dblib(tmp_path))
    assert ident == parts_sources.DbLibIdentity("Parts.DbLib", "localPostgres", "parts_db")


def test_most_specific_rule_wins_and_the_param_overrides(tmp_path):
    ident = parts_sources.identity(_dblib(tmp_path))
    rules = [
        PartsSource(database="PARTS_DB", conn_id="by_database"),
        PartsSource(data_source="localpostgres", conn_id="by_dsn"),
        PartsSource(dblib="parts.dblib", conn_id="by_file"),
    ]
    assert parts_sources.match(ident, rules) == ("by_file", "DbLib file 'Parts.DbLib'")
    assert parts_sources.match(ident, rules[:2]) == ("by_dsn", "data source 'localPostgres'")
    assert parts_sources.match(ident, rules[:1]) == ("by_database", "database 'parts_db'")
    assert parts_sources.match(ident, [PartsSource(dblib="Other.DbLib", conn_id="x")]) is None
    assert parts_sources.match(ident, rules, "for_this_run") == ("for_this_run", "param parts_conn_id")


def test_a_rule_names_exactly_one_thing():
    with pytest.raises(ConfigError, match="exactly one of data_source, database, dblib"):
        parse_config(
            "environments: {development: {validation_level: basic, target: {kind: local, path: x}},"
            " testing: {validation_level: full, target: {kind: local, path: y}}}\n"
            "parts_sources: [{data_source: a, database: b, conn_id: c}]\n",
            __import__("pathlib").Path("cfg.yaml"),
        )


@pytest.mark.parametrize(
    "env, expected",
    [
        (
            "postgresql://kicad:pw%40rd@db.example:5433/parts",
            "postgresql+psycopg2://kicad:pw%40rd@db.example:5433/parts",
        ),
        (
            json.dumps(
                {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": "parts"}
            ),
            "mysql+pymysql://root@127.0.0.1:3306/parts?charset=utf8mb4",
        ),
        (
            json.dumps(
                {
                    "conn_type": "mssql",
                    "host": "sql01",
                    "login": "sa",
                    "password": "x",
                    "schema": "Components",
                    "extra": {"driver": "FreeTDS", "TDS_Version": "7.4"},
                }
            ),
            "mssql+pyodbc://sa:x@sql01/Components?TDS_Version=7.4&driver=FreeTDS",
        ),
        (
            json.dumps({"conn_type": "mssql", "host": "sql01", "schema": "Components"}),
            "mssql+pyodbc://sql01/Components?driver=ODBC+Driver+18+for+SQL+Server",
        ),
    ],
    ids=["postgres-uri", "mysql-json", "mssql-freetds", "mssql-microsoft"],
)
def test_connection_url_from_airflow(monkeypatch, env, expected):
    monkeypatch.setenv("AIRFLOW_CONN_A2K_PARTS_TEST", env)
    url = parts_sources.connection_url("a2k_parts_test")
    assert make_url(url) == make_url(expected)


def test_unknown_connection_and_type_are_named(monkeypatch, tmp_path):
    path = _dblib(tmp_path)
    rules = [PartsSource(data_source="localPostgres", conn_id="a2k_not_defined")]
    with pytest.raises(parts_sources.PartsSourceError, match="a2k_not_defined.*not defined") as err:
        parts_sources.resolve(path, rules)
    assert "Parts.DbLib" in str(err.value) and "data source 'localPostgres'" in str(err.value)
    monkeypatch.setenv("AIRFLOW_CONN_A2K_HTTP", "http://example.com")
    with pytest.raises(parts_sources.PartsSourceError, match="type 'http'"):
        parts_sources.connection_url("a2k_http")


def test_unmatched_hint_names_what_to_configure(tmp_path):
    hint = parts_sources.unmatched_hint(_dblib(tmp_path))
    assert "data_source: localPostgres" in hint and "database: parts_db" in hint
    assert "dblib: Parts.DbLib" in hint and "parts_conn_id" in hint


def test_environment_parts_conn_id_after_the_param_before_the_rules(monkeypatch, tmp_path):
    """environments.<env>.parts_conn_id: each environment reads its own parts database."""
    from include.config import DEFAULT_CONFIG, load_config
    from include.pipeline import RunContext

    monkeypatch.setenv("AIRFLOW_CONN_A2K_TESTING_PARTS", "postgresql://altium@pg-testing:5432/parts_testing")
    monkeypatch.setenv("AIRFLOW_CONN_A2K_RUN_PARTS", "postgresql://altium@pg-run:5432/parts_run")
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.environments["testing"].parts_conn_id = "a2k_testing_parts"
    config.parts_sources = [PartsSource(dblib="Parts.DbLib", conn_id="a2k_not_defined")]
    path = _dblib(tmp_path)

    def source(params):
        return RunContext("r", "full_library_migration", params, config, "t").parts_source(path)

    found = source({"environment": "testing"})
    assert (found.conn_id, found.matched_by) == ("a2k_testing_parts", "environments.testing.parts_conn_id")
    assert make_url(found.url).host == "pg-testing"
    assert source({"environment": "testing", "parts_conn_id": "a2k_run_parts"}).conn_id == "a2k_run_parts"
    with pytest.raises(parts_sources.PartsSourceError, match="a2k_not_defined"):  # no env value: the rule
        source({"environment": "development"})
