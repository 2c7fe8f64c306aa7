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


# -- which sources a lookup tried, and which one won -------------------------------------------
TRIED = "env ALTIUM2KICAD_DB_URL -> Airflow connection 'altium2kicad_library_db'"


def _lookup_lines(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("deployment.library_database")
    ]


def test_lookup_logs_the_sources_in_order_and_the_winner(monkeypatch, caplog):
    caplog.set_level("INFO", logger="include.connections")
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", "postgresql://u:from-env@db/lib")
    assert _config().library_db_url() == "postgresql://u:from-env@db/lib"
    assert _lookup_lines(caplog) == [
        "deployment.library_database: from env ALTIUM2KICAD_DB_URL (tried in order: env ALTIUM2KICAD_DB_URL)"
    ]

    caplog.clear()
    monkeypatch.delenv("ALTIUM2KICAD_DB_URL")
    monkeypatch.setenv(CONN, "postgres://lib:from-conn@db.example:6543/parts")
    _config().library_db_url()
    assert _lookup_lines(caplog) == [
        f"deployment.library_database: from Airflow connection 'altium2kicad_library_db' (tried in order: {TRIED})"
    ]

    caplog.clear()
    monkeypatch.delenv(CONN)
    assert _config().library_db_url().startswith("sqlite:///")
    (line,) = _lookup_lines(caplog)
    assert line == (
        "deployment.library_database: from configuration default deployment.library_database.default_url "
        f"(SQLite) (tried in order: {TRIED} -> configuration default "
        "deployment.library_database.default_url (SQLite))"
    )
    assert "from-env" not in caplog.text and "from-conn" not in caplog.text  # never the value


def test_distributed_mode_refuses_the_embedded_default_naming_key_and_sources(caplog):
    caplog.set_level("INFO", logger="include.connections")
    with pytest.raises(ConfigError) as raised:
        _config("distributed").library_db_url()
    assert str(raised.value) == (
        "deployment.library_database: not found (tried env ALTIUM2KICAD_DB_URL, Airflow connection "
        "'altium2kicad_library_db'); deployment.mode distributed never falls back to the configuration "
        "default deployment.library_database.default_url (SQLite)"
    )
    assert _lookup_lines(caplog) == []  # nothing was used


def test_resolve_setting_stops_at_a_broken_source():
    """A source that raises is an error, not a reason to try the next one (the default)."""
    from include.connections import ConnectionUnusable, Source, resolve_setting

    def broken() -> str:
        raise ConnectionUnusable("connection 'x': unreadable")

    with pytest.raises(ConnectionUnusable):
        resolve_setting("k", [Source("broken", broken), Source("default", lambda: "d", embedded=True)])
    assert resolve_setting("k", [Source("empty", lambda: ""), Source("default", lambda: "d", True)]) == (
        "d",
        "default",
    )


def test_backup_key_lookup_logs_where_it_came_from(monkeypatch, caplog):
    import base64

    from include.operations.sealing import BackupKeyError, load_key

    caplog.set_level("INFO", logger="include.connections")
    key = base64.b64encode(bytes(range(32))).decode()
    monkeypatch.delenv("A2K_TEST_KEY", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_A2K_TEST_KEY_CONN", f"generic://user:{key.replace('/', '%2F')}@host")
    assert load_key("A2K_TEST_KEY", "a2k_test_key_conn") == bytes(range(32))
    assert "backup key: from Airflow connection a2k_test_key_conn (tried in order: env A2K_TEST_KEY -> " in (
        caplog.text
    )
    assert key not in caplog.text
    monkeypatch.delenv("AIRFLOW_CONN_A2K_TEST_KEY_CONN")
    with pytest.raises(
        BackupKeyError, match="looked in: env A2K_TEST_KEY, Airflow connection a2k_test_key_conn"
    ):
        load_key("A2K_TEST_KEY", "a2k_test_key_conn")
