#!/usr/bin/env python3
"""Parts-database benchmark: a DbLib shaped like a large real one (168 tables, about 70,000 parts,
a long DbLib name, long table and column names) converted into SQLite, PostgreSQL and MariaDB.

Prints, per server, the conversion time, how many tables were written, how many SQL names had to
be shortened and how many tables failed. A script, not a test: nothing is asserted.
    PYTHONPATH=. .venv/bin/python benchmarks/dblib_servers_benchmark.py [--tables 168] [--rows 417]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converters.altium.dblib import DbLibTable  # noqa: E402
from converters.convert import start_run  # noqa: E402
from converters.fixtures.dblib_writer import CSV_CONNECTION, standard_field_maps, write_dblib  # noqa: E402
from converters.fixtures.pcblib_writer import Footprint, Pad, write_pcblib  # noqa: E402
from converters.fixtures.schlib_writer import Pin, Rectangle, Symbol, write_schlib  # noqa: E402
from converters.run import ConvertOptions  # noqa: E402

DBLIB_NAME = "Postgres Altium Library - altium_library.DbLib"
FAMILIES = ["Capacitors", "Resistors", "Inductors", "Connectors", "Integrated Circuits", "Diodes"]
KINDS = ["Ceramic", "Thick Film", "Power - Shielded", "Board to Board - Header", "Interface - CAN", "TVS"]
COLUMNS = ["Part Number", "Library Path", "Library Ref", "Footprint Path", "Footprint Ref", "Value"]
LONG_COLUMNS = ["Manufacturer Part Number of the Second Approved Source of Supply", "Description"]


def write_collection(root: Path, tables: int, rows: int) -> Path:
    """The libraries, one CSV per table, and the DbLib over them."""
    pins = [Pin("1", "1", -10, 0, orientation=2), Pin("2", "2", 10, 0, orientation=0)]
    write_schlib(root / "Parts.SchLib", [Symbol("PART", pins=pins, graphics=[Rectangle(-10, -4, 10, 4)])])
    write_pcblib(root / "Parts.PcbLib", [Footprint("0603", primitives=[Pad("1", -30, 0, 30, 35)])])
    folder = root / "tables"
    folder.mkdir()
    names, maps = [], []
    for t in range(tables):
        family, kind = FAMILIES[t % len(FAMILIES)], KINDS[(t // len(FAMILIES)) % len(KINDS)]
        name = f"{family} - {kind}" + (f" - Series {t:03d}" if t % 5 else "") + ".csv"
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS + LONG_COLUMNS)
            for r in range(rows):
                key = f"P{t:03d}-{r:05d}"
                writer.writerow(
                    [key, "Parts.SchLib", "PART", "Parts.PcbLib", "0603", "1k", f"ALT-{key}", key]
                )
        names.append(name)
        maps += standard_field_maps(name, parameters={"Value": True, LONG_COLUMNS[0]: False})
    return write_dblib(
        root / DBLIB_NAME,
        CSV_CONNECTION.format(path="tables"),
        [DbLibTable(n) for n in names],
        maps,
        "tables",
    )


def convert_once(dblib: Path, out: Path, url: str | None) -> dict:
    started = time.perf_counter()
    run = start_run(out, ConvertOptions(output_database_url=url))
    run.convert(dblib)
    run.finish()
    seconds = time.perf_counter() - started
    items = json.loads((out / "report.json").read_text(encoding="utf-8"))["items"]
    libraries = [r for r in items if r["kind"] == "library" and r["source"] == str(dblib)]
    dbls = list((out / "database").glob("*.kicad_dbl"))
    return {
        "seconds": round(seconds, 2),
        "tables written": len(json.loads(dbls[0].read_text())["libraries"]) if dbls else 0,
        "tables renamed": sum(any("SQL table" in m for m in r["messages"]) for r in libraries),
        "tables failed": sum(r["status"] == "failed" for r in libraries),
        "parts": sum(r["kind"] == "part" for r in items),
        "parts failed": sum(r["kind"] == "part" and r["status"] == "failed" for r in items),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=168)
    parser.add_argument("--rows", type=int, default=417)
    parser.add_argument("--servers", default="sqlite,postgresql,mariadb")
    args = parser.parse_args()
    from tests.scratch_databases import scratch_database

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dblib = write_collection(root, args.tables, args.rows)
        print(f"{args.tables} tables x {args.rows} rows, DbLib '{DBLIB_NAME}'")
        for server in args.servers.split(","):
            if server == "sqlite":
                figures = convert_once(dblib, root / "out-sqlite", None)
            else:
                with scratch_database(server, "a2k_bench") as url:
                    figures = convert_once(dblib, root / f"out-{server}", url)
            print(f"{server:>10}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
