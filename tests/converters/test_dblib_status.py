"""Every status rule of the DbLib job (converters/dblib_job.py), one crafted part per rule.

Fast: CSV parts tables and libraries made by the fixture writers, converted in-process. Each part's
report status, its database row's `Conversion Status` and `Conversion Notes` are checked against
the rule that decides it:
- ok       symbol and every named footprint found, key present and unique;
- warning  symbol found, but a footprint is missing, or the key is empty, repeated or damaged;
- failed   the symbol is missing (whatever else is wrong);
and the library rows: a disabled table warns, an unreadable table fails alone, no enabled table
fails the DbLib.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from converters.altium.dblib import DbLibTable
from converters.convert import convert_paths
from converters.fixtures.dblib_writer import CSV_CONNECTION, standard_field_maps, write_dblib
from converters.fixtures.pcblib_writer import Footprint, Pad, write_pcblib
from converters.fixtures.schlib_writer import Pin, Rectangle, Symbol, write_schlib
from converters.run import ConvertOptions
from tests.scratch_databases import scratch_database

COLUMNS = ["Part Number", "Library Path", "Library Ref", "Footprint Path", "Footprint Ref", "Value"]
SYM, FP = "Lib.SchLib", "Lib.PcbLib"

# (row label, Part Number, Library Path, Library Ref, Footprint Path, Footprint Ref) -> status and
# what its notes must say (empty: no notes at all).
CASES = [
    ("all found", "P-OK", SYM, "RES", FP, "R0603", "ok", ""),
    ("no footprint named", "P-NOFP", SYM, "RES", "", "", "ok", ""),
    ("footprint not in its library", "P-FPGONE", SYM, "RES", FP, "R9999", "warning", "'R9999' not found"),
    ("footprint library missing", "P-FPLIB", SYM, "RES", "Gone.PcbLib", "R0603", "warning", "Gone.PcbLib"),
    ("empty key", "", SYM, "RES", FP, "R0603", "warning", "has no 'Part Number'"),
    ("blank key", "   ", SYM, "RES", FP, "R0603", "warning", "has no 'Part Number'"),
    ("duplicate key", "P-OK", SYM, "RES", FP, "R0603", "warning", "used by an earlier row"),
    ("duplicate key in another case", "p-ok", SYM, "RES", FP, "R0603", "warning", "used by an earlier row"),
    ("NUL in the key", "P-\x00NUL", SYM, "RES", FP, "R0603", "warning", "NUL"),
    ("symbol not in its library", "P-SYMGONE", SYM, "NOPE", FP, "R0603", "failed", "'NOPE' not found"),
    ("symbol library missing", "P-SYMLIB", "Gone.SchLib", "RES", FP, "R0603", "failed", "Gone.SchLib"),
    ("no symbol named", "P-NOSYM", SYM, "", FP, "R0603", "failed", "no symbol named"),
    ("symbol missing and key repeated", "P-OK", SYM, "NOPE", FP, "R0603", "failed", "used by an earlier row"),
]


def _libraries(folder: Path) -> None:
    pins = [Pin("1", "1", -10, 0, orientation=2), Pin("2", "2", 10, 0, orientation=0)]
    write_schlib(folder / SYM, [Symbol("RES", pins=pins, graphics=[Rectangle(-10, -4, 10, 4)])])
    write_pcblib(
        folder / FP, [Footprint("R0603", primitives=[Pad("1", -30, 0, 30, 35), Pad("2", 30, 0, 30, 35)])]
    )


def _csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([COLUMNS] + rows)


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[dict[str, dict], dict[str, dict], list[dict]]:
    """(report row per case label, database row per case label, every report row)."""
    folder = tmp_path_factory.mktemp("status")
    _libraries(folder)
    _csv(folder / "parts.csv", [[key, lp, lr, fpp, fpr, label] for label, key, lp, lr, fpp, fpr, *_ in CASES])
    dblib = write_dblib(
        folder / "Status.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs"),
        [DbLibTable("parts.csv")],
        standard_field_maps("parts.csv", parameters={"Value": True}),
        database_path="parts.csv",
    )
    convert_paths([dblib], folder / "out")
    report = json.loads((folder / "out" / "report.json").read_text(encoding="utf-8"))["items"]
    dbl = json.loads((folder / "out" / "database" / "Status.kicad_dbl").read_text(encoding="utf-8"))
    table = dbl["libraries"][0]["table"]
    with sqlite3.connect(folder / "out" / "database" / "Status.sqlite") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(f'SELECT * FROM "{table}" ORDER BY rowid')]
    by_label = {r["Value"]: r for r in rows}
    parts = {}
    for row in rows:  # a report row names its part by the key the database row holds
        parts[row["Value"]] = next(
            r for r in report if r["kind"] == "part" and r["item"].endswith("/" + row["Key"])
        )
    return parts, by_label, report


@pytest.mark.parametrize(("label", "status", "note"), [(c[0], c[6], c[7]) for c in CASES])
def test_part_status_follows_its_rule(converted, label, status, note):
    parts, rows, _ = converted
    assert parts[label]["status"] == status, parts[label]
    assert rows[label]["Conversion Status"] == status
    if note:
        assert note in rows[label]["Conversion Notes"] and any(note in m for m in parts[label]["messages"])
    else:
        assert rows[label]["Conversion Notes"] is None and parts[label]["messages"] == []


def test_every_source_row_is_kept_with_a_unique_clean_key(converted):
    _, rows, _ = converted
    keys = [r["Key"] for r in rows.values()]
    assert len(rows) == len(CASES)
    assert len({k.casefold() for k in keys}) == len(keys)
    assert all(k.strip() and "\x00" not in k for k in keys)
    assert rows["all found"]["Key"] == "P-OK"  # the first row keeps the key, later ones are renamed
    assert rows["duplicate key"]["Key"] != "P-OK"


def test_found_links_are_written_and_missing_ones_left_empty(converted):
    _, rows, _ = converted
    assert (rows["all found"]["Symbols"], rows["all found"]["Footprints"]) == ("Lib:RES", "Lib:R0603")
    assert (
        rows["footprint not in its library"]["Symbols"],
        rows["footprint not in its library"]["Footprints"],
    ) == (
        "Lib:RES",
        None,
    )
    assert rows["symbol not in its library"]["Symbols"] is None
    assert rows["symbol not in its library"]["Footprints"] == "Lib:R0603"


def test_table_row_warns_of_the_damaged_cells(converted):
    _, _, report = converted
    tables = [r for r in report if r["kind"] == "library" and r["item"] == "parts.csv"]
    assert [(t["status"], t["messages"]) for t in tables] == [
        ("warning", ["table 'parts.csv': column 'Part Number': NUL characters dropped from 1 value(s)"])
    ]


def test_nul_characters_do_not_cost_the_postgresql_parts_database(tmp_path):
    """PostgreSQL refuses a NUL in any text; before, one damaged cell failed every part."""
    _libraries(tmp_path)
    _csv(
        tmp_path / "parts.csv",
        [["P-\x00A", SYM, "RES", FP, "R0603", "1\x00k"], ["P-B", SYM, "RES", FP, "R0603", "2k"]],
    )
    dblib = write_dblib(
        tmp_path / "Nul.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs"),
        [DbLibTable("parts.csv")],
        standard_field_maps("parts.csv", parameters={"Value": True}),
        database_path="parts.csv",
    )
    from sqlalchemy import create_engine, text

    with scratch_database("postgresql") as url:
        report = convert_paths([dblib], tmp_path / "out", ConvertOptions(output_database_url=url))
        parts = {r.item: r.status.value for r in report.items if r.kind == "part"}
        assert parts == {"parts.csv/P-A": "warning", "parts.csv/P-B": "ok"}
        table = json.loads((tmp_path / "out" / "database" / "Nul.kicad_dbl").read_text())["libraries"][0][
            "table"
        ]
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(f'SELECT "Key", "Value" FROM "{table}" ORDER BY "Key"')).all()
        finally:
            engine.dispose()
    assert [tuple(r) for r in rows] == [("P-A", "1k"), ("P-B", "2k")]


def _one_table_dblib(folder: Path, tables: list[DbLibTable]) -> Path:
    _libraries(folder)
    (folder / "tables").mkdir()
    _csv(folder / "tables" / "good.csv", [["G1", SYM, "RES", FP, "R0603", "1k"]])
    maps = [m for t in tables for m in standard_field_maps(t.name)]
    return write_dblib(
        folder / "Tables.DbLib", CSV_CONNECTION.format(path="C:\\Libs"), tables, maps, database_path="tables"
    )


def test_disabled_table_warns_unreadable_table_fails_alone(tmp_path):
    dblib = _one_table_dblib(
        tmp_path, [DbLibTable("good.csv"), DbLibTable("old.csv", enabled=False), DbLibTable("absent.csv")]
    )
    report = convert_paths([dblib], tmp_path / "out")
    libraries = {r.item: r for r in report.items if r.kind == "library" and r.source == str(dblib)}
    assert libraries["old.csv"].status.value == "warning" and "disabled" in libraries["old.csv"].messages[0]
    assert (
        libraries["absent.csv"].status.value == "failed"
        and "absent.csv" in libraries["absent.csv"].messages[0]
    )
    assert libraries["good.csv"].status.value == "ok"
    assert [(r.item, r.status.value) for r in report.items if r.kind == "part"] == [("good.csv/G1", "ok")]


def test_no_enabled_table_fails_the_dblib(tmp_path):
    dblib = _one_table_dblib(tmp_path, [DbLibTable("good.csv", enabled=False)])
    report = convert_paths([dblib], tmp_path / "out")
    failed = [r for r in report.items if r.status.value == "failed"]
    assert len(failed) == 1 and "no enabled table" in failed[0].messages[0]
    assert not (tmp_path / "out" / "database" / "Tables.kicad_dbl").exists()


def test_no_readable_table_fails_the_dblib(tmp_path):
    dblib = _one_table_dblib(tmp_path, [DbLibTable("absent.csv")])
    report = convert_paths([dblib], tmp_path / "out")
    messages = [m for r in report.items if r.status.value == "failed" for m in r.messages]
    assert any("no table of the DbLib could be read" in m for m in messages)
    assert not [r for r in report.items if r.kind == "part"]


def test_odbc_source_lists_tables_and_views_and_reads_them(tmp_path):
    """A DbLib whose parts are behind an ODBC string (here unixODBC's SQLite3 driver)."""
    from converters.altium.parts_tables import OdbcSource

    with sqlite3.connect(tmp_path / "parts.db") as db:
        db.execute('CREATE TABLE parts ("Part Number" TEXT, "Value" TEXT)')
        db.execute("INSERT INTO parts VALUES ('P1', '1k')")
        db.execute("CREATE VIEW cheap AS SELECT * FROM parts WHERE \"Value\" = '1k'")
    source = OdbcSource(f"Driver={{SQLite3}};Database={tmp_path / 'parts.db'}")
    try:
        assert sorted(source.table_names()) == ["cheap", "parts"]
        table = source.read_all("cheap")
        assert (table.columns, table.rows) == (
            ["Part Number", "Value"],
            [{"Part Number": "P1", "Value": "1k"}],
        )
    finally:
        source.close()
