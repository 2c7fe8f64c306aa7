"""kicad.dbl_writer and kicad.parts_database: the .kicad_dbl JSON and the SQL parts tables."""

from __future__ import annotations

import json
import sqlite3

import pytest

from converters.kicad.dbl_writer import kicad_dbl_text, odbc_connection_string, sqlite_connection_string
from converters.kicad.parts_database import write_sqlite_file, write_tables
from converters.model.parts import PartField, PartsDatabase, PartsLibrary

from .dblib_helpers import scratch_mariadb, scratch_postgres


def _database(rows=None) -> PartsDatabase:
    rows = (
        rows
        if rows is not None
        else [
            {
                "Part Number": "R1",
                "Value": "1k",
                "Key": "R1",
                "Symbols": "Res:R",
                "Footprints": "Fp:0603;Fp:0805",
            },
            {"Part Number": "R2", "Value": None, "Key": "R2", "Symbols": None, "Footprints": None},
        ]
    )
    lib = PartsLibrary(
        "Resistors",
        "Resistors",
        ["Part Number", "Value", "Key", "Symbols", "Footprints"],
        rows,
        "Key",
        "Symbols",
        "Footprints",
        [
            PartField("Part Number", "Part Number", visible_in_chooser=True),
            PartField("Value", "Value", visible_on_add=True),
        ],
        description_column="Value",
    )
    return PartsDatabase("Parts", "test", [lib])


def test_kicad_dbl_has_what_database_lib_settings_reads():
    doc = json.loads(kicad_dbl_text(_database(), sqlite_connection_string("Parts.sqlite")))
    assert doc["meta"] == {"version": 1}
    assert doc["source"]["type"] == "odbc"
    assert doc["source"]["connection_string"] == "Driver={SQLite3};Database=${CWD}/Parts.sqlite"
    assert isinstance(doc["source"]["timeout_seconds"], int)
    (lib,) = doc["libraries"]
    assert (lib["name"], lib["table"], lib["key"], lib["symbols"], lib["footprints"]) == (
        "Resistors",
        "Resistors",
        "Key",
        "Symbols",
        "Footprints",
    )
    assert lib["fields"][1] == {
        "column": "Value",
        "name": "Value",
        "visible_on_add": True,
        "visible_in_chooser": False,
        "show_name": False,
        "inherit_properties": False,
    }
    assert set(lib["properties"]) == {
        "description",
        "footprint_filters",
        "keywords",
        "exclude_from_bom",
        "exclude_from_board",
    }
    assert lib["properties"]["description"] == "Value"


def test_same_database_same_bytes():
    assert kicad_dbl_text(_database(), "x") == kicad_dbl_text(_database(), "x")


@pytest.mark.parametrize(
    "url,expected",
    [
        (
            "postgresql+psycopg2://kicad:pw@db.local:5433/parts",
            "Driver={PostgreSQL Unicode};Server=db.local;Port=5433;Database=parts;Uid=kicad;Pwd=pw",
        ),
        (
            "mysql+pymysql://me@localhost/lib",
            "Driver={MySQL ODBC 8.0 Unicode Driver};Server=localhost;Database=lib;Uid=me",
        ),
        (
            "mariadb+pymysql://me@db.local:3307/lib",
            "Driver={MariaDB Unicode};Server=db.local;Port=3307;Database=lib;Uid=me",
        ),
        (
            "mssql+pymssql://sa:p;w@srv:1433/parts",
            "Driver={ODBC Driver 18 for SQL Server};Server=srv,1433;Database=parts;Uid=sa;Pwd={p;w}",
        ),
    ],
)
def test_odbc_strings_for_servers(url, expected):
    assert odbc_connection_string(url) == expected


def test_sqlite_beside_the_dbl_is_relative(tmp_path):
    assert (
        odbc_connection_string(f"sqlite:///{tmp_path}/p.sqlite", tmp_path)
        == "Driver={SQLite3};Database=${CWD}/p.sqlite"
    )
    elsewhere = odbc_connection_string(f"sqlite:///{tmp_path}/p.sqlite", tmp_path / "sub")
    assert elsewhere == f"Driver={{SQLite3}};Database={tmp_path}/p.sqlite"


def test_sqlite_file_replaced_never_duplicated(tmp_path):
    path = tmp_path / "Parts.sqlite"
    write_sqlite_file(_database(), path)
    first = path.read_bytes()
    write_sqlite_file(_database(), path)
    assert path.read_bytes() == first
    db = sqlite3.connect(path)
    assert db.execute('SELECT "Key", "Footprints" FROM "Resistors" ORDER BY 1').fetchall() == [
        ("R1", "Fp:0603;Fp:0805"),
        ("R2", None),
    ]
    pk = [r[1] for r in db.execute('PRAGMA table_info("Resistors")') if r[5]]
    assert pk == ["Key"]
    assert not (tmp_path / "Parts.sqlite.tmp").exists()


def test_duplicate_keys_cost_that_table_only(tmp_path):
    """A table the database refuses (here: two rows with one key) is returned as a failure naming
    it and the reason; the file is still written, with the other tables and without that one."""
    database = _database()
    bad = _database(
        [{"Part Number": "A", "Value": None, "Key": "A", "Symbols": None, "Footprints": None}] * 2
    )
    bad.libraries[0].name = bad.libraries[0].table = "Broken"
    database.libraries += bad.libraries
    failures = write_sqlite_file(database, tmp_path / "dup.sqlite")
    assert [(f.library.table, "UNIQUE" in f.reason or "unique" in f.reason) for f in failures] == [
        ("Broken", True)
    ]
    db = sqlite3.connect(tmp_path / "dup.sqlite")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["Resistors"]
    assert db.execute('SELECT COUNT(*) FROM "Resistors"').fetchone()[0] == 2


def test_postgres_tables_replaced(tmp_path):
    from sqlalchemy import create_engine, text

    with scratch_postgres() as url:
        write_tables(_database(), url)
        write_tables(_database(), url)
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text('SELECT COUNT(*) FROM "Resistors"')).scalar() == 2
            assert conn.execute(text('SELECT "Value" FROM "Resistors" WHERE "Key" = \'R1\'')).scalar() == "1k"
        engine.dispose()


@pytest.mark.parametrize(
    "scratch,dialect",
    [(scratch_postgres, ""), (scratch_mariadb, ""), (scratch_mariadb, "mariadb+pymysql")],
    ids=["postgresql", "mysql-url", "mariadb-url"],
)
def test_keys_compare_exactly_on_every_server(scratch, dialect):
    """Keys unique to KiCad (`RÉS-1`, `RES-1`, `res-1 `) stay three parts, and KiCad's
    `WHERE key = ?` finds exactly one: MariaDB's default collation ignores case, accents and
    trailing spaces, and refuses a TEXT primary key."""
    from sqlalchemy import create_engine, text

    keys = ["RÉS-1", "RES-1", "res-1 "]
    rows = [{"Part Number": k, "Value": k, "Key": k, "Symbols": None, "Footprints": None} for k in keys]
    with scratch() as url:
        url = dialect + url[url.index("://") :] if dialect else url
        assert write_tables(_database(rows), url) == []
        engine = create_engine(url)
        q = "`" if engine.dialect.name in ("mysql", "mariadb") else '"'
        with engine.connect() as conn:
            for key in keys:
                found = conn.execute(
                    text(f"SELECT {q}Value{q} FROM {q}Resistors{q} WHERE {q}Key{q} = :k"), {"k": key}
                ).all()
                assert found == [(key,)]
        engine.dispose()
