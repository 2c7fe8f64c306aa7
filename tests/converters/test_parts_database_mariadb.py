"""The KiCad parts database written to a real MariaDB server, read back by SQL and the way KiCad
reads it (ODBC, the MariaDB driver the `.kicad_dbl` names).

Fast: a CSV DbLib and libraries made by the fixture writers, the scratch database on the local
MariaDB (skipped only when no server listens on its port).
"""

from __future__ import annotations

import json

import pytest

from converters.altium.dblib import DbLibTable
from converters.convert import convert_paths
from converters.fixtures.dblib_writer import CSV_CONNECTION, standard_field_maps, write_dblib
from converters.run import ConvertOptions
from tests.scratch_databases import scratch_database

from .test_dblib_odbc import _require, read_like_kicad
from .test_dblib_status import FP, SYM, _csv, _libraries

PARTS = [
    ["R-10K", SYM, "RES", FP, "R0603", "10 kΩ ±1 %"],  # utf8mb4 text, not latin-1
    ["R-GONE", "Gone.SchLib", "RES", FP, "R0603", "lost"],
    ["r-10k", SYM, "RES", FP, "R0603", "same key, other case"],
]


@pytest.fixture
def mariadb_url():
    with scratch_database("mariadb") as url:
        # the mariadb dialect: the .kicad_dbl then names MariaDB's ODBC driver
        yield url.replace("mysql+pymysql://", "mariadb+pymysql://", 1)


def test_parts_written_to_mariadb_and_read_like_kicad(tmp_path, mariadb_url):
    _libraries(tmp_path)
    _csv(tmp_path / "parts.csv", PARTS)
    dblib = write_dblib(
        tmp_path / "Maria.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs"),
        [DbLibTable("parts.csv")],
        standard_field_maps("parts.csv", parameters={"Value": True}),
        database_path="parts.csv",
    )
    for attempt in range(2):  # the second run replaces the tables: no duplicated parts
        report = convert_paths(
            [dblib], tmp_path / f"out{attempt}", ConvertOptions(output_database_url=mariadb_url)
        )
    failures = [
        (r.item, r.messages) for r in report.items if r.kind == "library" and r.status.value == "failed"
    ]
    assert failures == []
    assert {r.item: r.status.value for r in report.items if r.kind == "part"} == {
        "parts.csv/R-10K": "ok",
        "parts.csv/R-GONE": "failed",
        "parts.csv/r-10k_2": "warning",
    }

    from sqlalchemy import create_engine, inspect, text

    dbl_path = tmp_path / "out1" / "database" / "Maria.kicad_dbl"
    library = json.loads(dbl_path.read_text(encoding="utf-8"))["libraries"][0]
    engine = create_engine(mariadb_url)
    try:
        assert inspect(engine).get_table_names() == [library["table"]]
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    f"SELECT `Key`, `Symbols`, `Footprints`, `Value`, `Conversion Status` FROM `{library['table']}`"
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(tuple(r) for r in rows) == [
        ("R-10K", "Lib:RES", "Lib:R0603", "10 kΩ ±1 %", "ok"),
        ("R-GONE", None, "Lib:R0603", "lost", "failed"),
        ("r-10k_2", "Lib:RES", "Lib:R0603", "same key, other case", "warning"),
    ]

    source = json.loads(dbl_path.read_text(encoding="utf-8"))["source"]["connection_string"]
    assert source.startswith("Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;")
    _require("MariaDB Unicode")
    parts = read_like_kicad(dbl_path)[library["name"]]
    assert {key: row["Value"] for key, row in parts.items()} == {
        "R-10K": "10 kΩ ±1 %",
        "R-GONE": "lost",
        "r-10k_2": "same key, other case",
    }
