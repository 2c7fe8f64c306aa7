"""A deployed environment with a parts database, and the plugin's parts app on a real uvicorn."""

from __future__ import annotations

import json
import socket
import textwrap
import threading
import time
from pathlib import Path

import pytest

from converters.kicad.dbl_writer import odbc_connection_string, sqlite_connection_string, write_kicad_dbl
from converters.kicad.parts_database import write_sqlite_file, write_tables
from converters.model.parts import PartField, PartsDatabase, PartsLibrary

TOKEN = "s3cret-token-of-testing"
COLUMNS = ["Key", "Symbols", "Footprints", "Value", "Description", "Manufacturer"]


def parts_database(rows_per_library: int = 3) -> PartsDatabase:
    """Two categories as the DbLib job writes them: key, `Lib:Item` links, shown fields."""

    def library(name: str, prefix: str, symbol: str, footprints: str) -> PartsLibrary:
        rows = [
            {
                "Key": f"{prefix}-{n:04d}" if n else f"{prefix} 10k/1% ünï",  # a key that needs escaping
                "Symbols": f"Sample:{symbol}",
                "Footprints": footprints,
                "Value": f"{n}k",
                "Description": f"{name} part {n}",
                "Manufacturer": "Yageo",
            }
            for n in range(rows_per_library)
        ]
        return PartsLibrary(
            name=name,
            table=name.lower(),
            columns=COLUMNS,
            rows=rows,
            key_column="Key",
            symbols_column="Symbols",
            footprints_column="Footprints",
            fields=[
                PartField("Value", "Value", visible_on_add=True),
                PartField("Manufacturer", "Manufacturer"),
            ],
            description_column="Description",
        )

    return PartsDatabase(
        "Parts",
        "test parts",
        [
            library("Resistors", "R", "RES", "Sample:R0603;Sample:R0805"),
            library("Capacitors", "C", "CAP", "Sample:C0603"),
        ],
    )


def deploy_parts(home: Path, environment: str, url: str | None = None) -> Path:
    """Publishes a version holding Parts.kicad_dbl (SQLite beside it, or the database at `url`)."""
    from include.deployment import publish_local

    release = home / "release"
    database = parts_database()
    folder = release / "database"
    folder.mkdir(parents=True, exist_ok=True)
    if url:
        assert not write_tables(database, url)
        connection = odbc_connection_string(url, folder)
    else:
        assert not write_sqlite_file(database, folder / "Parts.sqlite")
        connection = sqlite_connection_string("Parts.sqlite")
    write_kicad_dbl(database, folder / "Parts.kicad_dbl", connection)
    target = home / "deploy" / environment
    publish_local(release, target, "v1")
    return target


def write_config(home: Path, extra: str = "") -> Path:
    path = home / "altium2kicad.yaml"
    path.write_text(
        textwrap.dedent(
            """
            environments:
              development: {validation_level: basic, target: {kind: local, path: deploy/development}}
              testing: {validation_level: full, target: {kind: local, path: deploy/testing}}
            """
        )
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def site_home(tmp_path, monkeypatch):
    """ALTIUM2KICAD_HOME/CONFIG in a scratch folder, the library database a SQLite file there, and
    the testing environment's token in an Airflow connection (AIRFLOW_CONN_*)."""
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(write_config(tmp_path)))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", f"sqlite:///{tmp_path / 'library.db'}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALTIUM2KICAD_HTTPLIB_TESTING", json.dumps({"conn_type": "generic", "password": TOKEN})
    )
    yield tmp_path
    from include.sites import engines, http_library

    http_library._catalogs.clear()
    engines.dispose_all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def parts_server():
    """The plugin's parts app served by uvicorn on a random port; yields its base URL."""
    import importlib.util

    import uvicorn

    spec = importlib.util.spec_from_file_location(
        "altium2kicad_plugin", Path(__file__).resolve().parents[3] / "plugins" / "altium2kicad_plugin.py"
    )
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    from fastapi import FastAPI

    root = FastAPI()
    root.mount(plugin.PARTS_PREFIX, plugin.create_parts_app())  # as the api-server mounts plugin apps
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}{plugin.PARTS_PREFIX}"
    server.should_exit = True
    thread.join(10)
