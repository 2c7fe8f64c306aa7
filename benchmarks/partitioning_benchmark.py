#!/usr/bin/env python3
"""KiCad's lookups on a 70,000-part PostgreSQL parts database, with and without partitioning.

Builds the parts the DbLib job writes for the fixture DbLib (converters/fixtures/sql_dblib_writer.py:
PARTS parts in TABLES categories, the sample library's symbols and footprints) three times, in
scratch PostgreSQL databases: one table per category (the default), and one table partitioned by
category (`database.scaling.sharding`) with `list` and with `hash` partitions, a view per category.
Then runs KiCad's own queries through the same ODBC driver KiCad uses (common/database/
database_connection.cpp): `SELECT <columns> FROM "<table>" WHERE "Key" = ?` with the key bound as
VARCHAR (one part, by part number) and `SELECT <columns> FROM "<table>"` (a category, which KiCad
reads whole and caches). Prints median and 95th percentile latency per layout (docs/sites.md
quotes them). A script, not a test: speed is measured here, never asserted in the suite.
    .venv/bin/python benchmarks/partitioning_benchmark.py
    .venv/bin/python benchmarks/partitioning_benchmark.py --parts 5000 --tables 20 --shards 4
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COLUMNS = ["Key", "Symbols", "Footprints", "Value", "Description", "Manufacturer", "Manufacturer Part Number"]


def parts_database(parts: int, tables: int):
    """The fixture DbLib's parts as the DbLib job writes them (key, `Lib:Item` links, fields)."""
    from converters.fixtures.sql_dblib_writer import part_rows, table_names
    from converters.model.parts import PartField, PartsDatabase, PartsLibrary

    database = PartsDatabase("Bench", "partitioning benchmark")
    for index, name in enumerate(table_names(tables)):
        count = parts // tables + (1 if index < parts % tables else 0)
        rows = [
            dict(
                zip(COLUMNS, [r[0], f"Sample:{r[2]}", f"Sample:{r[4]}", r[5], r[6], r[7], r[8]], strict=True)
            )
            for r in part_rows(index, count, duplicate_every=0)
        ]
        database.libraries.append(
            PartsLibrary(
                name=name,
                table=f"t{index:03d}_{name.replace(' ', '_')}"[:63].lower(),
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
        )
    return database


def timed(cursor, sql: str, *params) -> float:
    started = time.perf_counter()
    cursor.execute(sql, *params).fetchall()
    return (time.perf_counter() - started) * 1000


def measure(urls: dict[str, str], database, lookups: int, seed: int) -> dict[str, dict[str, list[float]]]:
    """KiCad's two queries over ODBC on every layout, interleaved (each lookup on each layout in
    turn, the order rotating) so that load from other processes falls on all layouts alike."""
    import pyodbc

    from converters.kicad.dbl_writer import odbc_connection_string

    conns = {
        label: pyodbc.connect(odbc_connection_string(url), autocommit=True) for label, url in urls.items()
    }
    quote = next(iter(conns.values())).getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR).strip() or '"'

    def q(name: str) -> str:
        return f"{quote}{name}{quote}"

    select = ", ".join(q(c) for c in COLUMNS)
    rng = random.Random(seed)
    results = {label: {"by part number": [], "by category": []} for label in urls}
    labels = list(urls)
    try:
        cursors = {label: conn.cursor() for label, conn in conns.items()}
        for cursor in cursors.values():  # warm the server's caches and the driver
            for lib in database.libraries:
                cursor.execute(f"SELECT {select} FROM {q(lib.table)}").fetchall()
        for n in range(lookups):
            lib = rng.choice(database.libraries)
            key = rng.choice(lib.rows)["Key"]
            sql = f"SELECT {select} FROM {q(lib.table)} WHERE {q('Key')} = ?"
            for label in labels[n % len(labels) :] + labels[: n % len(labels)]:
                cursors[label].setinputsizes([(pyodbc.SQL_VARCHAR, 255, 0)])
                results[label]["by part number"].append(timed(cursors[label], sql, key))
        for n, lib in enumerate(database.libraries):
            for label in labels[n % len(labels) :] + labels[: n % len(labels)]:
                results[label]["by category"].append(
                    timed(cursors[label], f"SELECT {select} FROM {q(lib.table)}")
                )
    finally:
        for conn in conns.values():
            conn.close()
    return results


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=70_000)
    parser.add_argument("--tables", type=int, default=168)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--lookups", type=int, default=3000)
    args = parser.parse_args()

    from converters.kicad.parts_database import write_tables
    from converters.kicad.parts_partitions import PartitionLayout, write_partitioned
    from tests.scratch_databases import create_database, drop_database

    database = parts_database(args.parts, args.tables)
    total = sum(len(lib.rows) for lib in database.libraries)
    print(f"{total} parts in {len(database.libraries)} categories; {args.lookups} lookups by part number")
    layouts = {
        "one table per category": None,
        f"partitioned, list ({args.shards})": PartitionLayout(args.shards, "list"),
        f"partitioned, hash ({args.shards})": PartitionLayout(args.shards, "hash"),
    }
    names = {label: f"a2k_bench_{uuid.uuid4().hex[:8]}" for label in layouts}
    urls = {}
    try:
        for label, layout in layouts.items():
            urls[label] = url = create_database("postgresql", names[label])
            started = time.perf_counter()
            if layout is None:
                assert not write_tables(database, url)
            else:
                write_partitioned(database, url, layout)
            print(f"{label}: written in {time.perf_counter() - started:.1f} s")
        for label, results in measure(urls, database, args.lookups, seed=11).items():
            print(f"\n{label}")
            for query, samples in results.items():
                print(f"  {query:16} {summary(samples)}   ({len(samples)} queries)")
    finally:
        for name in names.values():
            drop_database("postgresql", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
