"""A DbLib with long names written to real PostgreSQL and MariaDB servers (--output-database-url).

PostgreSQL keeps 63 bytes of a name and MariaDB 64 characters: a long DbLib name (every table is
`<Name>_<Table>` on a shared server), long table names, long and non-ASCII column names, and names
that only differ after the limit must all be written, under names the `.kicad_dbl` lists, and a
table the server still refuses costs that table only.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from converters.altium.dblib import DbLibTable, FieldMap
from converters.fixtures.dblib_writer import CSV_CONNECTION, standard_field_maps, write_dblib
from converters.kicad.sql_identifiers import MAX_IDENTIFIER_BYTES

from .dblib_helpers import scratch_mariadb, scratch_postgres
from .test_dblib_sources import COLUMNS, PARTS, _convert, _libraries

DBLIB_NAME = "Postgres Altium Library - altium_library.DbLib"
NICKNAME = "Postgres_Altium_Library_-_altium_library"
LONG_COLUMNS = [
    "Manufacturer Part Number of the Second Approved Source of Supply - Primary",
    "Manufacturer Part Number of the Second Approved Source of Supply - Alternate",
    "Spannungsfestigkeit über die gesamte Lebensdauer bei höchster Temperatur (Ω)",
    "Ρεύμα διαρροής στους εκατόν πενήντα βαθμούς Κελσίου",  # 51 characters but 95 bytes
]
TABLES = {
    "Passives.csv": PARTS[:3],
    "Capacitors - Ceramic - Multilayer - Automotive Grade AEC-Q200 - Series A.csv": PARTS[2:3],
    "Capacitors - Ceramic - Multilayer - Automotive Grade AEC-Q200 - Series B.csv": PARTS[:1],
    "Widerstände – Präzision – Dünnschicht – Hochspannung – Ausführung ÄÖÜ.csv": PARTS[1:2],
}
SERVERS = {"postgresql": scratch_postgres, "mariadb": scratch_mariadb}


def _write_long_dblib(root: Path) -> Path:
    _libraries(root)
    folder = root / "tables"
    folder.mkdir()
    maps: list[FieldMap] = []
    for number, (name, parts) in enumerate(TABLES.items()):
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS + LONG_COLUMNS)
            for part in parts:
                writer.writerow(part + [f"{part[0]} {column[-9:]} {number}" for column in LONG_COLUMNS])
        maps += standard_field_maps(
            name,
            footprints=2,
            parameters={"Value": True, "Description": False} | dict.fromkeys(LONG_COLUMNS, True),
        )
    return write_dblib(
        root / DBLIB_NAME,
        CSV_CONNECTION.format(path="C:\\Libs\\tables"),
        [DbLibTable(name) for name in TABLES],
        maps,
        database_path="tables",
    )


def _server_tables(url: str) -> dict[str, list[dict]]:
    """Every table of the database and its rows, read with SQLAlchemy's inspector (not our code)."""
    from sqlalchemy import MetaData, create_engine, inspect, select

    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        names = inspect(engine).get_table_names()
        with engine.connect() as conn:
            return {
                name: [dict(r._mapping) for r in conn.execute(select(metadata.tables[name]))]
                for name in names
            }
    finally:
        engine.dispose()


def _report(out: Path) -> list[dict]:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))["items"]


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_long_names_fit_the_server_and_match_the_kicad_dbl(server, tmp_path):
    dblib = _write_long_dblib(tmp_path)
    with SERVERS[server]() as url:
        outs = [tmp_path / "out1", tmp_path / "out2"]
        for out in outs:  # the second run replaces the tables under the same names
            assert _convert(dblib, "-o", out, "--output-database-url", url) == 0
        written = _server_tables(url)
    dbl_texts = [(out / "database" / f"{NICKNAME}.kicad_dbl").read_text(encoding="utf-8") for out in outs]
    assert dbl_texts[0] == dbl_texts[1]  # deterministic names
    dbl = json.loads(dbl_texts[0])
    libraries = {lib["name"]: lib for lib in dbl["libraries"]}
    assert sorted(libraries) == sorted(TABLES)  # KiCad shows the Altium table names, not the SQL ones
    assert sorted(lib["table"] for lib in dbl["libraries"]) == sorted(written)  # exactly these tables
    assert len({t.casefold() for t in written}) == len(TABLES)
    for lib in dbl["libraries"]:
        assert len(lib["table"].encode("utf-8")) <= MAX_IDENTIFIER_BYTES
        rows = written[lib["table"]]
        columns = set(rows[0])
        assert all(len(c.encode("utf-8")) <= MAX_IDENTIFIER_BYTES for c in columns)
        assert {lib["key"], lib["symbols"], lib["footprints"]} <= columns
        fields = {f["name"]: f["column"] for f in lib["fields"]}
        # KiCad shows the source names; the columns behind them are the shortened ones
        assert set(LONG_COLUMNS) <= set(fields)
        assert len({fields[name] for name in LONG_COLUMNS}) == len(LONG_COLUMNS)
        for row in rows:
            for name in LONG_COLUMNS:
                assert row[fields[name]].startswith(row[lib["key"]] + " " + name[-9:])
        assert lib["properties"]["description"] in columns
    by_table = {lib["table"]: lib for lib in dbl["libraries"]}
    passives = by_table[f"{NICKNAME}_Passives_csv"]  # short enough: unchanged
    assert {r[passives["key"]]: r[passives["symbols"]] for r in written[passives["table"]]} == {
        "RC0603-1K": "Passives:RES",
        "RC0603-10K": "Passives:RES",
        "CC0603-100N": "Passives:CAP",
    }
    # the mapping is in the report: each renamed table and column, original and written name
    rows = {r["item"]: r for r in _report(outs[1]) if r["kind"] == "library"}
    for name in TABLES:
        messages = " ".join(rows[name]["messages"])
        if name == "Passives.csv":
            assert "SQL table" not in messages
            continue
        lib = next(lib for lib in dbl["libraries"] if lib["table"] in messages)
        assert f"written as '{lib['table']}'" in messages and "longer than 63 bytes" in messages
        for column in LONG_COLUMNS:
            assert f"column '{column}' written as '" in messages
    assert {r["status"] for r in _report(outs[1]) if r["kind"] == "part"} <= {"ok", "warning"}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_table_the_server_refuses_costs_that_table_only(server, tmp_path):
    """A view already holds one table's name: that table fails, named with the reason; the other
    tables and the .kicad_dbl (listing only tables that exist) are written."""
    from sqlalchemy import create_engine, text

    dblib = _write_long_dblib(tmp_path)
    taken = f"{NICKNAME}_Passives_csv"
    out = tmp_path / "out"
    with SERVERS[server]() as url:
        engine = create_engine(url)
        q = "`" if engine.dialect.name in ("mysql", "mariadb") else '"'
        with engine.begin() as conn:
            conn.execute(text(f"CREATE VIEW {q}{taken}{q} AS SELECT 1 AS {q}x{q}"))
        engine.dispose()
        assert _convert(dblib, "-o", out, "--output-database-url", url) == 1
        written = _server_tables(url)
    dbl = json.loads((out / "database" / f"{NICKNAME}.kicad_dbl").read_text(encoding="utf-8"))
    listed = sorted(lib["table"] for lib in dbl["libraries"])
    assert len(listed) == len(TABLES) - 1 and taken not in listed
    assert listed == sorted(t for t in written if t != taken)  # every listed table exists
    report = _report(out)
    table_row = next(r for r in report if r["kind"] == "library" and r["item"] == "Passives.csv")
    assert table_row["status"] == "failed"
    assert any(f"SQL table '{taken}'" in m and "could not be written" in m for m in table_row["messages"])
    parts = [r for r in report if r["kind"] == "part"]
    lost = [r for r in parts if r["item"].startswith("Passives.csv/")]
    assert len(lost) == 3 and all(r["status"] == "failed" for r in lost)
    assert all("not written" in r["messages"][-1] for r in lost)
    kept = [r for r in parts if not r["item"].startswith("Passives.csv/")]
    assert len(kept) == 3 and all(r["status"] != "failed" for r in kept)
