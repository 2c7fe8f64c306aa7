"""The partitioned parts layout on PostgreSQL: KiCad reads it through ODBC exactly as the tables.

KiCad finds each `.kicad_dbl` table through the ODBC catalog (views included), then runs
`SELECT <columns> FROM "<table>"` and `... WHERE "<key>" = ?`; the planner must prune those to the
category's partition.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from converters.kicad.dbl_writer import odbc_connection_string, write_kicad_dbl
from converters.kicad.parts_database import write_tables
from converters.kicad.parts_partitions import PartitionLayout, assign_shards, write_partitioned
from tests.include.sites.conftest import parts_database

from .dblib_helpers import scratch_postgres
from .test_dblib_odbc import _require, read_like_kicad


def _explain(url: str, sql: str) -> str:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
    finally:
        eng.dispose()


def test_assign_shards_balances_rows():
    groups = assign_shards({"a": 50, "b": 30, "c": 20, "d": 20, "e": 10}, 2)
    assert groups == [["a", "d"], ["b", "c", "e"]]  # 70 and 60 rows (greedy, largest first)
    assert assign_shards({"a": 1}, 3) == [["a"], [], []]


@pytest.mark.parametrize("method", ["list", "hash"])
def test_kicad_reads_the_partitioned_layout_as_the_tables(tmp_path, method):
    _require("PostgreSQL Unicode")
    database = parts_database(rows_per_library=40)
    with scratch_postgres() as plain_url, scratch_postgres() as url:
        assert not write_tables(database, plain_url)
        write_partitioned(database, url, PartitionLayout(3, method))
        write_partitioned(database, url, PartitionLayout(3, method))  # a re-run replaces it
        plain = write_kicad_dbl(
            database, tmp_path / "plain" / "P.kicad_dbl", odbc_connection_string(plain_url)
        )
        parted = write_kicad_dbl(database, tmp_path / "parted" / "P.kicad_dbl", odbc_connection_string(url))
        assert read_like_kicad(parted) == read_like_kicad(plain)
        one = _explain(url, """SELECT * FROM resistors WHERE "Key" = 'R-0001'""")
        category = _explain(url, "SELECT * FROM capacitors")
        eng = create_engine(url)
        with eng.connect() as conn:
            partitions = conn.execute(
                text("""SELECT count(*) FROM pg_inherits WHERE inhparent = '"Parts_parts"'::regclass""")
            ).scalar()
            kinds = dict(
                conn.execute(
                    text("SELECT relname, relkind FROM pg_class WHERE relname IN ('resistors', 'capacitors')")
                ).all()
            )
        eng.dispose()
    assert partitions == (2 if method == "list" else 3)  # list: no more partitions than categories
    assert kinds == {"resistors": "v", "capacitors": "v"}
    for plan in (one, category):  # pruned to the category's one partition
        assert plan.count("Parts_parts_p") == 1, plan


def test_partitioning_needs_postgresql(tmp_path):
    with pytest.raises(ValueError, match="partitioning needs PostgreSQL"):
        write_partitioned(parts_database(), f"sqlite:///{tmp_path / 'x.db'}", PartitionLayout(2))
