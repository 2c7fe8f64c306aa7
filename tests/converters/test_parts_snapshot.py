"""The analysis' parts snapshot: the conversion reads the rows the analysis read (not the server
again), with the same output, and only for the DbLib bytes and tables it was taken from."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text

from converters.convert import convert_paths
from converters.fixtures.sql_dblib_writer import write_sql_dblib
from converters.run import ConvertOptions
from include.inventory import analyze


def _parts(out: Path) -> list[tuple]:
    dbl = json.loads(next((out / "database").glob("*.kicad_dbl")).read_text())
    with sqlite3.connect(next((out / "database").glob("*.sqlite"))) as db:
        return [
            (lib["table"], *row)
            for lib in dbl["libraries"]
            for row in db.execute(f'SELECT * FROM "{lib["table"]}" ORDER BY 1, 2')
        ]


def _setup(tmp_path):
    url = f"sqlite:///{tmp_path}/parts.db"
    made = write_sql_dblib(tmp_path / "src", url, 60, 3, duplicate_every=7)
    snapshot = tmp_path / "run" / "parts" / "EnterpriseParts.json"
    inv = analyze(made.path, lambda _: (url, "test"), lambda _: snapshot)
    assert len(inv.of_kind("part")) == 60 and snapshot.is_file()
    return made, url, snapshot


def _convert(made, url, out, snapshot=None):
    report = convert_paths([made.path], out, ConvertOptions(database_url=url, parts_snapshot=snapshot))
    return [r.to_json() for r in report.items]


def test_conversion_from_the_snapshot_equals_reading_the_database(tmp_path):
    made, url, snapshot = _setup(tmp_path)
    direct = _convert(made, url, tmp_path / "direct")
    shared = _convert(made, url, tmp_path / "shared", snapshot)
    assert shared == direct and _parts(tmp_path / "shared") == _parts(tmp_path / "direct")
    assert len(_parts(tmp_path / "shared")) == 60


def test_the_snapshot_is_what_is_converted_and_only_for_its_dblib(tmp_path):
    made, url, snapshot = _setup(tmp_path)
    table = made.tables[0]
    with create_engine(url).begin() as conn:  # the server changes after the analysis
        conn.execute(text(f'UPDATE "{table}" SET "Value" = \'changed\''))
    assert not any("changed" in row for row in _parts_of(made, url, tmp_path / "a", snapshot))
    # a DbLib edited since the analysis: its snapshot no longer stands for it
    made.path.write_bytes(made.path.read_bytes() + b"\r\n")
    assert any("changed" in row for row in _parts_of(made, url, tmp_path / "b", snapshot))


def _parts_of(made, url, out, snapshot):
    _convert(made, url, out, snapshot)
    return _parts(out)


def test_a_table_the_analysis_could_not_read_leaves_no_snapshot(tmp_path):
    made, url, snapshot = _setup(tmp_path)
    with create_engine(url).begin() as conn:
        conn.execute(text(f'DROP TABLE "{made.tables[1]}"'))
    inv = analyze(made.path, lambda _: (url, "test"), lambda _: snapshot)
    assert any(made.tables[1] in p for p in inv.problems)
    assert not snapshot.exists()  # the earlier attempt's snapshot is gone too
    rows = _convert(made, url, tmp_path / "out", None)
    assert any(r["status"] == "failed" and r["item"] == made.tables[1] for r in rows)
