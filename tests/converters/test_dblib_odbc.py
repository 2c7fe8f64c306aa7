"""The written .kicad_dbl and parts database, read through real unixODBC drivers as KiCad does.

KiCad (common/database/database_connection.cpp) connects with the `.kicad_dbl` connection string
after replacing `${CWD}` by the file's folder, asks the driver for its identifier quote character,
finds each table and its columns through the ODBC catalog, then runs
`SELECT <columns> FROM "table" WHERE "key" = ?` with the key bound as VARCHAR. These tests do the
same with pyodbc over Debian's libsqliteodbc, odbc-postgresql and odbc-mariadb drivers.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pyodbc
import pytest

from converters.convert import start_run
from converters.run import ConvertOptions

from .dblib_helpers import scratch_postgres

CORPUS = "corpus/ubc-thunderbots/libraries-v2.0"


def _driver_installed(name: str) -> bool:
    return name in pyodbc.drivers()


def _require(name: str) -> None:
    if not _driver_installed(name):
        pytest.fail(
            f"ODBC driver '{name}' is not registered with unixODBC (./run setup installs it): "
            f"drivers: {pyodbc.drivers()}"
        )


def read_like_kicad(dbl_path: Path) -> dict[str, dict[str, dict[str, str | None]]]:
    """{library name: {key: row}} read the way KiCad's database library plugin reads it."""
    dbl = json.loads(dbl_path.read_text(encoding="utf-8"))
    assert dbl["meta"]["version"] == 1 and dbl["source"]["type"] == "odbc"
    connection = dbl["source"]["connection_string"].replace("${CWD}", str(dbl_path.parent))
    conn = pyodbc.connect(connection, timeout=dbl["source"]["timeout_seconds"], autocommit=True)
    try:
        quote = conn.getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR).strip() or '"'
        found: dict[str, dict[str, dict[str, str | None]]] = {}
        for lib in dbl["libraries"]:
            cursor = conn.cursor()
            tables = [t.table_name for t in cursor.tables(table=lib["table"])]
            assert lib["table"] in tables, f"table {lib['table']} not in the ODBC catalog: {tables}"
            columns = {c.column_name for c in conn.cursor().columns(table=lib["table"])}
            required = {lib["key"], lib["symbols"], lib["footprints"]} | {f["column"] for f in lib["fields"]}
            optional = {v for v in lib["properties"].values() if v}
            assert required | optional <= columns, f"missing columns {required | optional - columns}"
            q = lambda name: f"{quote}{name}{quote}"  # noqa: E731
            keys = [row[0] for row in conn.cursor().execute(f"SELECT {q(lib['key'])} FROM {q(lib['table'])}")]
            rows = {}
            select = ", ".join(q(c) for c in sorted(required))
            for key in keys:
                cursor = conn.cursor()
                cursor.setinputsizes([(pyodbc.SQL_VARCHAR, 255, 0)])
                result = cursor.execute(
                    f"SELECT {select} FROM {q(lib['table'])} WHERE {q(lib['key'])} = ?", key
                ).fetchall()
                assert len(result) == 1, f"key {key!r} of {lib['table']} gives {len(result)} rows"
                rows[key] = dict(zip([d[0] for d in cursor.description], result[0], strict=True))
            found[lib["name"]] = rows
        return found
    finally:
        conn.close()


@pytest.fixture(scope="module")
def corpus_sqlite(shared, tmp_path_factory):
    """The corpus DbLibs converted once into SQLite (default output), copied to a new folder."""
    out = tmp_path_factory.mktemp("odbc_sqlite")
    run = start_run(out / "first")
    dblibs = sorted((shared / CORPUS).glob("*.DbLib"))
    for dblib in dblibs:
        run.convert(dblib)
    run.finish()
    # KiCad finds the SQLite file through ${CWD}: the folder may move anywhere.
    moved = out / "moved elsewhere"
    shutil.copytree(out / "first" / "database", moved)
    return moved, dblibs


def test_sqlite_odbc_reads_every_part_by_key(corpus_sqlite):
    _require("SQLite3")
    folder, dblibs = corpus_sqlite
    dbl_files = sorted(folder.glob("*.kicad_dbl"))
    assert len(dbl_files) == len(dblibs) == 7
    total = 0
    for dbl_path in dbl_files:
        through_odbc = read_like_kicad(dbl_path)
        sqlite_file = dbl_path.with_suffix(".sqlite")
        assert sqlite_file.exists()
        db = sqlite3.connect(sqlite_file)
        for lib in json.loads(dbl_path.read_text())["libraries"]:
            count = db.execute(f'SELECT COUNT(*) FROM "{lib["table"]}"').fetchone()[0]
            assert len(through_odbc[lib["name"]]) == count > 0
            total += count
        db.close()
    assert total == 131 + 29 + 5 + 15 + 6 + 213 + 23


def test_connection_string_is_relative_to_the_dbl(corpus_sqlite):
    folder, _ = corpus_sqlite
    for dbl_path in folder.glob("*.kicad_dbl"):
        source = json.loads(dbl_path.read_text())["source"]["connection_string"]
        assert "${CWD}/" in source and str(folder.parent) not in source


def test_postgres_output_through_psqlodbc(shared, tmp_path):
    _require("PostgreSQL Unicode")
    dblib = shared / CORPUS / "Resistor_Library.DbLib"
    with scratch_postgres() as url:
        for attempt in range(2):  # the second run replaces the tables: no duplicated parts
            run = start_run(tmp_path / f"out{attempt}", ConvertOptions(output_database_url=url))
            run.convert(dblib)
            run.finish()
        dbl_path = tmp_path / "out1" / "database" / "Resistor_Library.kicad_dbl"
        source = json.loads(dbl_path.read_text())["source"]["connection_string"]
        assert source.startswith("Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;")
        parts = read_like_kicad(dbl_path)
        assert len(parts["Resistors"]) == 213
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
                )
            ]
            assert tables == ["Resistor_Library_Resistors"]
            assert conn.execute(text('SELECT COUNT(*) FROM "Resistor_Library_Resistors"')).scalar() == 213
        engine.dispose()


def test_shortened_names_on_postgres_through_psqlodbc(tmp_path):
    """A long DbLib name, long table and column names: KiCad's catalog look-ups and keyed SELECTs
    find every table and column under the shortened names the .kicad_dbl lists."""
    from .test_dblib_output_servers import NICKNAME, _write_long_dblib

    _require("PostgreSQL Unicode")
    dblib = _write_long_dblib(tmp_path)
    with scratch_postgres() as url:
        run = start_run(tmp_path / "out", ConvertOptions(output_database_url=url))
        run.convert(dblib)
        run.finish()
        dbl_path = tmp_path / "out" / "database" / f"{NICKNAME}.kicad_dbl"
        dbl = json.loads(dbl_path.read_text(encoding="utf-8"))
        assert sum(len(lib["table"]) < len(f"{NICKNAME}_{lib['name']}") for lib in dbl["libraries"]) == 3
        parts = read_like_kicad(dbl_path)
    _assert_every_long_part_read_back(parts, dbl)


def _assert_every_long_part_read_back(parts: dict, dbl: dict) -> None:
    """Every row of the long-named tables, read as KiCad reads it, with its symbol link and its
    long-named columns under the names the .kicad_dbl gives."""
    from .test_dblib_output_servers import LONG_COLUMNS, TABLES

    assert {name: len(rows) for name, rows in parts.items()} == {
        name: len(rows) for name, rows in TABLES.items()
    }
    for lib in dbl["libraries"]:
        fields = {f["name"]: f["column"] for f in lib["fields"]}
        for key, row in parts[lib["name"]].items():
            assert row[lib["symbols"]].startswith("Passives:")
            for name in LONG_COLUMNS:
                assert row[fields[name]].startswith(f"{key} {name[-9:]}")


@pytest.mark.parametrize("dialect", ["mysql+pymysql", "mariadb+pymysql"])
def test_mariadb_output_through_the_mariadb_odbc_driver(dialect, tmp_path, monkeypatch):
    """The same long names on MariaDB, read through MariaDB Connector/ODBC (Debian's odbc-mariadb)
    with KiCad's catalog look-ups, backtick quoting and keyed SELECTs."""
    from converters.kicad.dbl_writer import MYSQL_DRIVER_ENV

    from .dblib_helpers import scratch_mariadb
    from .test_dblib_output_servers import NICKNAME, _write_long_dblib

    _require("MariaDB Unicode")
    if dialect.startswith("mysql"):  # a mysql:// URL names MySQL's driver unless told otherwise
        monkeypatch.setenv(MYSQL_DRIVER_ENV, "MariaDB Unicode")
    dblib = _write_long_dblib(tmp_path)
    with scratch_mariadb() as url:
        run = start_run(
            tmp_path / "out", ConvertOptions(output_database_url=dialect + url[url.index("://") :])
        )
        run.convert(dblib)
        run.finish()
        dbl_path = tmp_path / "out" / "database" / f"{NICKNAME}.kicad_dbl"
        dbl = json.loads(dbl_path.read_text(encoding="utf-8"))
        assert dbl["source"]["connection_string"].startswith(
            "Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;"
        )
        parts = read_like_kicad(dbl_path)
    _assert_every_long_part_read_back(parts, dbl)
