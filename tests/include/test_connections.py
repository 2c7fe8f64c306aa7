"""The library database's URL through Airflow's own connection API: URI and JSON forms, and no
silent fall back to SQLite when a connection is broken or, in the distributed mode, missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from include.config import ConfigError, parse_config
from tests.scratch_databases import PG_SERVER

REPO = Path(__file__).resolve().parents[2]
CONN = "AIRFLOW_CONN_ALTIUM2KICAD_LIBRARY_DB"


def _config(mode: str = "embedded"):
    text_ = (REPO / "config" / "altium2kicad.yaml").read_text()
    return parse_config(text_.replace("mode: embedded", f"mode: {mode}", 1), Path("test.yaml"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("ALTIUM2KICAD_DB_URL", raising=False)
    monkeypatch.delenv(CONN, raising=False)


def _pg_parts() -> dict:
    user, hostport = PG_SERVER.split("://", 1)[1].split("@", 1)
    host, _, port = hostport.partition(":")
    return {"login": user, "host": host, "port": int(port or 5432), "schema": "postgres"}


def _connects(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")
    finally:
        engine.dispose()


def test_json_form(monkeypatch):
    monkeypatch.setenv(CONN, json.dumps({"conn_type": "postgres", **_pg_parts()}))
    url = _config("distributed").library_db_url()
    assert url.startswith("postgresql+psycopg2://") and url.endswith("/postgres")
    _connects(url)


def test_uri_form_with_a_quoted_password(monkeypatch):
    monkeypatch.setenv(CONN, "postgres://lib:p%40ss%20word@db.example:6543/parts")
    url = _config().library_db_url()
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    assert (parsed.drivername, parsed.password, parsed.host, parsed.port, parsed.database) == (
        "postgresql+psycopg2",
        "p@ss word",
        "db.example",
        6543,
        "parts",
    )


def test_broken_connection_is_an_error_not_sqlite(monkeypatch):
    monkeypatch.setenv(CONN, '{"conn_type": "postgres", "host": ')
    with pytest.raises(ConfigError, match=f"{CONN} is set but Airflow cannot read it"):
        _config().library_db_url()


def test_wrong_connection_type_is_an_error(monkeypatch):
    monkeypatch.setenv(CONN, json.dumps({"conn_type": "http", "host": "x"}))
    with pytest.raises(ConfigError, match="type 'http' is not a database"):
        _config().library_db_url()


def test_missing_everywhere(monkeypatch):
    assert _config("embedded").library_db_url().startswith("sqlite:///")
    with pytest.raises(ConfigError, match="tried env ALTIUM2KICAD_DB_URL, Airflow connection"):
        _config("distributed").library_db_url()
