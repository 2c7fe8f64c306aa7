"""DbLibs over Excel, CSV, SQLite and PostgreSQL, converted through the command line.

The symbol and footprint libraries are made by the project's own fixture writers; the DbLibs name
them with Windows paths in the wrong letter case, as real tables do.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from pathlib import Path

import pytest

from converters.altium.dblib import DbLibTable
from converters.cli import main
from converters.fixtures.dblib_writer import (
    ACCESS_CONNECTION,
    CSV_CONNECTION,
    EXCEL_CONNECTION,
    standard_field_maps,
    write_dblib,
)
from converters.fixtures.pcblib_writer import Footprint, Pad, write_pcblib
from converters.fixtures.schlib_writer import Pin, Rectangle, Symbol, write_schlib

from .dblib_helpers import scratch_postgres

COLUMNS = [
    "Part Number",
    "Library Path",
    "Library Ref",
    "Footprint Path",
    "Footprint Ref",
    "Footprint Path 2",
    "Footprint Ref 2",
    "Value",
    "Description",
]
PARTS = [
    [
        "RC0603-1K",
        "symbols\\PASSIVES.schlib",
        "RES",
        "FOOTPRINTS\\chip.PcbLib",
        "0603",
        "footprints\\Chip.pcblib",
        "0805",
        "1k",
        "Resistor 1k 0603",
    ],
    [
        "RC0603-10K",
        "Symbols\\Passives.SchLib",
        "res",
        "footprints\\Chip.PcbLib",
        "0603",
        "",
        "",
        "10k",
        "Resistor 10k",
    ],
    [
        "CC0603-100N",
        "symbols\\passives.SCHLIB",
        "CAP",
        "footprints\\chip.pcblib",
        "0603",
        "",
        "",
        "100n",
        "Cap 100n",
    ],
    [
        "MISSING-SYM",
        "symbols\\Gone.SchLib",
        "X",
        "footprints\\chip.pcblib",
        "0805",
        "",
        "",
        "",
        "no symbol file",
    ],
    [
        "NO-FP",
        "symbols\\Passives.SchLib",
        "CAP",
        "footprints\\chip.pcblib",
        "1206",
        "",
        "",
        "1u",
        "footprint absent",
    ],
]


def _two_pin(name: str, designator: str) -> Symbol:
    return Symbol(
        name,
        description=name,
        designator=designator,
        pins=[Pin("1", "1", -10, 0, orientation=2), Pin("2", "2", 10, 0, orientation=0)],
        graphics=[Rectangle(-10, -4, 10, 4)],
    )


def _libraries(root: Path) -> None:
    (root / "Symbols").mkdir()
    (root / "Footprints").mkdir()
    write_schlib(root / "Symbols" / "Passives.SchLib", [_two_pin("RES", "R?"), _two_pin("CAP", "C?")])
    write_pcblib(
        root / "Footprints" / "Chip.PcbLib",
        [
            Footprint("0603", primitives=[Pad("1", -30, 0, 30, 35), Pad("2", 30, 0, 30, 35)]),
            Footprint("0805", primitives=[Pad("1", -40, 0, 40, 50), Pad("2", 40, 0, 40, 50)]),
        ],
    )


def _maps(table: str):
    return standard_field_maps(table, footprints=2, parameters={"Value": True, "Description": False})


def _convert(*args: str | Path) -> int:
    return main(["convert", *map(str, args), "-q"])


def _parts(out: Path, name: str) -> tuple[dict, list[dict]]:
    dbl = json.loads((out / "database" / f"{name}.kicad_dbl").read_text())
    db = sqlite3.connect(out / "database" / f"{name}.sqlite")
    db.row_factory = sqlite3.Row
    lib = dbl["libraries"][0]
    rows = [dict(r) for r in db.execute(f'SELECT * FROM "{lib["table"]}" ORDER BY rowid')]
    return dbl, rows


def _check_links(out: Path, rows: list[dict]) -> None:
    by_key = {r["Key"]: r for r in rows}
    assert by_key["RC0603-1K"]["Symbols"] == "Passives:RES"
    assert by_key["RC0603-1K"]["Footprints"] == "Chip:0603;Chip:0805"
    assert by_key["RC0603-10K"]["Symbols"] == "Passives:RES"  # Library Ref in another case
    assert by_key["CC0603-100N"]["Footprints"] == "Chip:0603"
    assert by_key["MISSING-SYM"]["Symbols"] is None
    assert by_key["MISSING-SYM"]["Conversion Status"] == "failed"
    assert "Gone.SchLib" in by_key["MISSING-SYM"]["Conversion Notes"]
    assert by_key["NO-FP"]["Conversion Status"] == "warning" and "1206" in by_key["NO-FP"]["Conversion Notes"]
    symbols = (out / "symbols" / "Passives.kicad_sym").read_text()
    assert re.search(r'\(symbol "RES"', symbols) and re.search(r'\(symbol "CAP"', symbols)
    assert {p.name for p in (out / "footprints" / "Chip.pretty").glob("*.kicad_mod")} == {
        "0603.kicad_mod",
        "0805.kicad_mod",
    }


def _report(out: Path) -> dict[str, str]:
    report = json.loads((out / "report.json").read_text())
    return {r["item"].split("/", 1)[1]: r["status"] for r in report["items"] if r["kind"] == "part"}


def test_excel_dblib(tmp_path):
    import openpyxl

    _libraries(tmp_path)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Passives"
    sheet.append(COLUMNS)
    for part in PARTS:
        sheet.append([v or None for v in part])
    book.save(tmp_path / "Parts.xlsx")
    dblib = write_dblib(
        tmp_path / "Excel Parts.DbLib",
        EXCEL_CONNECTION.format(path="C:\\Libs\\Parts.xlsx"),
        [DbLibTable("Passives$")],
        _maps("Passives$"),
        database_path="parts.XLSX",
    )
    out = tmp_path / "out"
    assert _convert(dblib, "-o", out) == 1  # one part lost its symbol: some failed
    dbl, rows = _parts(out, "Excel_Parts")
    assert len(rows) == len(PARTS)
    assert dbl["libraries"][0]["name"] == "Passives"
    fields = {f["name"]: f for f in dbl["libraries"][0]["fields"]}
    assert fields["Value"]["visible_on_add"] and not fields["Part Number"]["visible_on_add"]
    assert dbl["libraries"][0]["properties"]["description"] == "Description"
    _check_links(out, rows)
    assert _report(out) == {
        "RC0603-1K": "ok",
        "RC0603-10K": "warning",  # Library Ref 'res' names the symbol 'RES'
        "CC0603-100N": "ok",
        "MISSING-SYM": "failed",
        "NO-FP": "warning",
    }


def test_csv_dblib_and_rerun_replaces(tmp_path):
    _libraries(tmp_path)
    (tmp_path / "tables").mkdir()
    with (tmp_path / "tables" / "passives.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(PARTS)
    dblib = write_dblib(
        tmp_path / "Csv.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs\\tables"),
        [DbLibTable("Passives#csv")],
        _maps("Passives#csv"),
        database_path="Tables",
    )
    out = tmp_path / "out"
    assert _convert(dblib, "-o", out) == 1
    first = (out / "database" / "Csv.sqlite").read_bytes()
    assert _convert(dblib, "-o", out) == 1
    assert (out / "database" / "Csv.sqlite").read_bytes() == first
    _, rows = _parts(out, "Csv")
    assert len(rows) == len(PARTS)
    _check_links(out, rows)


def test_sqlite_dblib_with_disabled_and_missing_tables(tmp_path):
    _libraries(tmp_path)
    db = sqlite3.connect(tmp_path / "parts.db")
    db.execute("CREATE TABLE Passives (" + ", ".join(f'"{c}" TEXT' for c in COLUMNS) + ")")
    db.executemany(
        f"INSERT INTO Passives VALUES ({', '.join('?' * len(COLUMNS))})",
        [[v or None for v in p] for p in PARTS],
    )
    db.commit()
    db.close()
    tables = [DbLibTable("passives"), DbLibTable("Retired", enabled=False), DbLibTable("NotThere")]
    dblib = write_dblib(
        tmp_path / "Sql.DbLib",
        "Provider=MSDASQL.1;DSN=parts",
        tables,
        _maps("passives") + _maps("NotThere"),
        database_path="PARTS.db",
    )
    out = tmp_path / "out"
    assert _convert(dblib, "-o", out) == 1
    _, rows = _parts(out, "Sql")
    _check_links(out, rows)
    report = json.loads((out / "report.json").read_text())
    libs = {r["item"]: r for r in report["items"] if r["kind"] == "library" and r["source"] == str(dblib)}
    assert libs["Retired"]["status"] == "warning" and "disabled" in libs["Retired"]["messages"][0]
    assert libs["NotThere"]["status"] == "failed" and "not found" in libs["NotThere"]["messages"][0]


def test_postgres_dblib_in_and_out(tmp_path):
    from sqlalchemy import create_engine, text

    _libraries(tmp_path)
    dblib = write_dblib(
        tmp_path / "Pg.DbLib",
        "Provider=SQLOLEDB;Data Source=sql01;User ID=sa;Password=pw0rd",
        [DbLibTable("Passives")],
        _maps("Passives"),
    )
    with scratch_postgres() as source_url, scratch_postgres() as target_url:
        engine = create_engine(source_url)
        with engine.begin() as conn:
            conn.execute(text('CREATE TABLE "Passives" (' + ", ".join(f'"{c}" TEXT' for c in COLUMNS) + ")"))
            conn.execute(
                text(f'INSERT INTO "Passives" VALUES ({", ".join(f":p{i}" for i in range(len(COLUMNS)))})'),
                [{f"p{i}": v or None for i, v in enumerate(p)} for p in PARTS],
            )
        engine.dispose()
        out = tmp_path / "out"
        assert (
            _convert(dblib, "-o", out, "--database-url", source_url, "--output-database-url", target_url) == 1
        )
        dbl = json.loads((out / "database" / "Pg.kicad_dbl").read_text())
        assert dbl["libraries"][0]["table"] == "Pg_Passives"
        assert "PostgreSQL Unicode" in dbl["source"]["connection_string"]
        engine = create_engine(target_url)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(text('SELECT * FROM "Pg_Passives"'))]
        engine.dispose()
        _check_links(out, rows)


def test_unreachable_database_exit_2_and_masked(tmp_path, capsys):
    dblib = write_dblib(
        tmp_path / "Remote.DbLib",
        "Provider=SQLOLEDB.1;Password=TopSecret;User ID=sa;Initial Catalog=Parts;Data Source=sql01",
        [DbLibTable("Parts")],
        _maps("Parts"),
    )
    assert _convert(dblib, "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "Remote.DbLib" in err and "Data Source=sql01" in err and "--database-url" in err
    assert "TopSecret" not in err and "Password=***" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "database").exists()


def test_unreachable_url_names_the_server(tmp_path, capsys):
    dblib = write_dblib(
        tmp_path / "Remote.DbLib",
        "Provider=SQLOLEDB;Data Source=sql01",
        [DbLibTable("Parts")],
        _maps("Parts"),
    )
    code = _convert(
        dblib,
        "-o",
        tmp_path / "out",
        "--database-url",
        "postgresql+psycopg2://kicad:hunter2@127.0.0.1:5432/a2k_absent_db",
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "a2k_absent_db" in err and "hunter2" not in err and "Remote.DbLib" in err


def test_one_bad_dblib_does_not_cost_the_others(tmp_path):
    _libraries(tmp_path)
    missing = write_dblib(
        tmp_path / "Missing.DbLib",
        ACCESS_CONNECTION.format(path="X:\\nowhere\\parts.mdb"),
        [DbLibTable("Parts")],
        _maps("Parts"),
        database_path="nowhere\\parts.mdb",
    )
    (tmp_path / "tables").mkdir()
    with (tmp_path / "tables" / "ok.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS] + PARTS[:3])
    good = write_dblib(
        tmp_path / "Good.DbLib",
        CSV_CONNECTION.format(path="tables"),
        [DbLibTable("ok.csv")],
        _maps("ok.csv"),
        database_path="tables",
    )
    out = tmp_path / "out"
    assert _convert(missing, good, "-o", out) == 1
    assert _report(out) == {"RC0603-1K": "ok", "RC0603-10K": "warning", "CC0603-100N": "ok"}  # res
    report = json.loads((out / "report.json").read_text())
    failed = [r for r in report["items"] if r["status"] == "failed"]
    assert len(failed) == 1 and "Missing.DbLib" in failed[0]["messages"][0]
    assert "not found" in failed[0]["messages"][0]


@pytest.mark.parametrize("name", ["Broken.DbLib", "Broken.SVNDbLib"])
def test_not_a_dblib_exit_2(tmp_path, name, capsys):
    path = tmp_path / name
    path.write_text("this is not an INI file")
    assert _convert(path, "-o", tmp_path / "out") == 2
    assert name in capsys.readouterr().err


def test_output_database_unwritable_fails_every_part(tmp_path, capsys):
    _libraries(tmp_path)
    (tmp_path / "tables").mkdir()
    with (tmp_path / "tables" / "ok.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS] + PARTS[:2])
    good = write_dblib(
        tmp_path / "Good.DbLib",
        CSV_CONNECTION.format(path="tables"),
        [DbLibTable("ok.csv")],
        _maps("ok.csv"),
        database_path="tables",
    )
    out = tmp_path / "out"
    assert _convert(good, "-o", out) == 0  # an earlier run's .kicad_dbl must not outlive this failure
    assert (out / "database" / "Good.kicad_dbl").exists()
    capsys.readouterr()
    url = "postgresql+psycopg2://postgres:s3cr3t@127.0.0.1:5432/a2k_absent_target"
    assert _convert(good, "-o", out, "--output-database-url", url) == 1  # its symbols/footprints converted
    assert not (out / "database" / "Good.kicad_dbl").exists()
    assert set(_report(out).values()) == {"failed"}
    err = capsys.readouterr().err
    assert "a2k_absent_target" in err and "s3cr3t" not in err and "could not be written" in err


def test_svndblib_libraries_from_a_checkout(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "Lib").mkdir(parents=True)
    _libraries(checkout / "Lib")
    (tmp_path / "dblib").mkdir()
    with (tmp_path / "dblib" / "parts.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS] + PARTS[:3])
    svn = write_dblib(
        tmp_path / "dblib" / "Vault.SVNDbLib",
        CSV_CONNECTION.format(path="parts.csv"),
        [DbLibTable("parts.csv")],
        _maps("parts.csv"),
        database_path="parts.csv",
    )
    out = tmp_path / "out"
    assert _convert(svn, "-o", out) == 1
    report = json.loads((out / "report.json").read_text())
    assert any("--svn-checkout" in m for r in report["items"] for m in r["messages"])
    out = tmp_path / "out2"
    assert _convert(svn, "-o", out, "--svn-checkout", checkout) == 0
    _, rows = _parts(out, "Vault")
    assert [r["Symbols"] for r in rows] == ["Passives:RES", "Passives:RES", "Passives:CAP"]


def test_sample_dblib_over_the_sample_library(tmp_path):
    from converters.fixtures.dblib_writer import SAMPLE_PARTS, write_sample_dblib
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(tmp_path)
    dblib = write_sample_dblib(tmp_path)
    out = tmp_path / "out"
    assert _convert(dblib, "-o", out) == 1  # LEGACY-CAP-1206 names a library that is not there
    statuses = _report(out)
    assert statuses == {
        "RC0603FR-0710KL": "ok",
        "RC0805FR-071KL": "warning",  # Library Ref 'res' names the symbol 'RES'
        "CL10B104KB8NNNC": "ok",
        "CL21B105KBFNNNE": "ok",
        "LEGACY-CAP-1206": "failed",
    }
    dbl = json.loads((out / "database" / "SampleParts.kicad_dbl").read_text())
    assert [lib["name"] for lib in dbl["libraries"]] == list(SAMPLE_PARTS)
    db = sqlite3.connect(out / "database" / "SampleParts.sqlite")
    assert db.execute(
        'SELECT "Symbols", "Footprints" FROM "Resistors" WHERE "Key" = ?', ("RC0603FR-0710KL",)
    ).fetchone() == ("Sample:RES", "Sample:R0603;Sample:R0805")


def test_nul_in_a_column_name_costs_only_that_name(tmp_path):
    """A damaged CSV header with a NUL byte: SQL refuses the name, so it is cleaned and reported,
    and the parts are still written (before, the whole parts database failed)."""
    _libraries(tmp_path)
    header = ["Part Number", "Library Path", "Library Ref", "Val\x00ue"]
    (tmp_path / "parts.csv").write_text(
        ",".join(header) + "\nP1,symbols\\Passives.SchLib,RES,1k\n", encoding="utf-8"
    )
    dblib = write_dblib(
        tmp_path / "Nul.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs"),
        [DbLibTable("parts.csv")],
        [],
        database_path="parts.csv",
    )
    out = tmp_path / "out"
    assert _convert(dblib, "-o", out) == 0
    _, rows = _parts(out, "Nul")
    assert rows[0]["Key"] == "P1" and rows[0]["Value"] == "1k" and rows[0]["Symbols"] == "Passives:RES"
    report = json.loads((out / "report.json").read_text())
    table = next(r for r in report["items"] if r["kind"] == "library" and r["item"] == "parts.csv")
    assert table["status"] == "warning" and any("Val\\0ue" in m for m in table["messages"])


def test_bracketed_parameter_names_are_altiums_own(tmp_path):
    """`ParameterName=[Description]` is the component's description (KiCad's description property),
    not a field named `[Description]`; a column named `[Value]` is the column `Value`."""
    from converters.altium.dblib import FieldMap

    _libraries(tmp_path)
    with (tmp_path / "parts.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([COLUMNS] + PARTS[:1])
    maps = standard_field_maps("parts.csv", footprints=2) + [
        FieldMap("parts.csv", "Description", "[Description]"),
        FieldMap("parts.csv", "[Value]", "Value", 1, True),
    ]
    dblib = write_dblib(
        tmp_path / "Brackets.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs"),
        [DbLibTable("parts.csv")],
        maps,
        database_path="parts.csv",
    )
    out = tmp_path / "out"
    assert _convert(dblib, "-o", out) == 0
    dbl, rows = _parts(out, "Brackets")
    lib = dbl["libraries"][0]
    assert lib["properties"]["description"] == "Description"
    assert rows[0][lib["properties"]["description"]] == "Resistor 1k 0603"
    fields = {f["name"]: f for f in lib["fields"]}
    assert not any("[" in name for name in fields), sorted(fields)
    assert fields["Value"]["column"] == "Value" and fields["Value"]["visible_on_add"]
    report = json.loads((out / "report.json").read_text())
    assert not any("[Value]" in m for r in report["items"] for m in r["messages"])


def test_references_that_nearly_match_one_item(tmp_path):
    """A Library/Footprint Ref differing from the item's name only by letter case or by '/' written
    as '_' resolves, with a warning naming both, when exactly one item matches; several is failed."""
    (tmp_path / "Symbols").mkdir()
    (tmp_path / "Footprints").mkdir()
    symbols = ["RES/0603", "Cap", "Diode", "DIODE"]
    write_schlib(tmp_path / "Symbols" / "Near.SchLib", [_two_pin(name, "U?") for name in symbols])
    pads = [Pad("1", -30, 0, 30, 35), Pad("2", 30, 0, 30, 35)]
    write_pcblib(tmp_path / "Footprints" / "Near.PcbLib", [Footprint("SOT-23/5", primitives=pads)])
    columns = ["Part Number", "Library Path", "Library Ref", "Footprint Path", "Footprint Ref"]
    rows = [
        ["SLASH", "Symbols\\Near.SchLib", "RES_0603", "Footprints\\Near.PcbLib", "sot-23_5"],
        ["CASE", "Symbols\\Near.SchLib", "CAP", "", ""],
        ["EXACT", "Symbols\\Near.SchLib", "Diode", "", ""],
        ["AMBIGUOUS", "Symbols\\Near.SchLib", "diode", "", ""],
    ]
    with (tmp_path / "near.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([columns] + rows)
    dblib = write_dblib(
        tmp_path / "Near.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs"),
        [DbLibTable("near.csv")],
        standard_field_maps("near.csv"),
        database_path="near.csv",
    )
    out = tmp_path / "out"
    assert _convert(dblib, "-o", out) == 1  # the ambiguous part fails
    report = json.loads((out / "report.json").read_text())
    targets = {r["item"]: r["target"] for r in report["items"] if r["kind"] in ("symbol", "footprint")}
    parts = {r["item"].split("/", 1)[1]: r for r in report["items"] if r["kind"] == "part"}
    _, db_rows = _parts(out, "Near")
    by_key = {r["Key"]: r for r in db_rows}
    assert by_key["SLASH"]["Symbols"] == targets["RES/0603"]
    assert by_key["SLASH"]["Footprints"] == targets["SOT-23/5"]
    assert parts["SLASH"]["status"] == "warning"
    assert any("'RES_0603' taken as 'RES/0603'" in m for m in parts["SLASH"]["messages"])
    assert any("'sot-23_5' taken as 'SOT-23/5'" in m for m in parts["SLASH"]["messages"])
    assert by_key["CASE"]["Symbols"] == targets["Cap"] and parts["CASE"]["status"] == "warning"
    assert any("'CAP' taken as 'Cap'" in m for m in parts["CASE"]["messages"])
    assert by_key["EXACT"]["Symbols"] == targets["Diode"] and parts["EXACT"]["status"] == "ok"
    assert by_key["AMBIGUOUS"]["Symbols"] is None and parts["AMBIGUOUS"]["status"] == "failed"
    assert any("'Diode', 'DIODE'" in m and "ambiguous" in m for m in parts["AMBIGUOUS"]["messages"])
