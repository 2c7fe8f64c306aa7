"""The parts of a database library as one PostgreSQL table partitioned by component category.

Why: a 70,000-part library in one place (one table to back up, index and replicate) while each
query still touches only its category's partition. KiCad keeps reading the table names the
`.kicad_dbl` lists: each is a view `SELECT <its columns> FROM <parent> WHERE component_category =
'<library>'`, so `SELECT * FROM "<table>" WHERE "Key" = ?` (KiCad's lookup of one part) and
`SELECT * FROM "<table>"` (a category's parts) are pruned to one partition by the planner.

- `list`: whole categories per partition, the largest categories first onto the emptiest one, so
  `number_of_shards` partitions hold about the same number of rows;
- `hash`: PostgreSQL's hash of the category, `number_of_shards` partitions (no balancing, no
  list to maintain when categories are added).
Every row's key is `part_key` (the view names it as the library names its key column), so the
primary key (category, part_key) serves KiCad's lookups; `row_version` is for concurrent edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..model.parts import PartsDatabase
from .parts_database import TableFailure

CATEGORY_COLUMN, PART_KEY_COLUMN, VERSION_COLUMN = "component_category", "part_key", "row_version"
MAX_IDENTIFIER = 63
BATCH_ROWS = 5000


@dataclass(frozen=True)
class PartitionLayout:
    number_of_shards: int
    method: Literal["list", "hash"] = "list"
    key: str = CATEGORY_COLUMN  # the partition column (`sharding.shard_key`): the KiCad library's name


def parent_table(database: PartsDatabase) -> str:
    return f"{database.name}_parts"[-MAX_IDENTIFIER:]


def assign_shards(sizes: dict[str, int], shards: int) -> list[list[str]]:
    """Categories onto `shards` lists, largest first onto the emptiest (stable for equal sizes)."""
    loads = [0] * shards
    groups: list[list[str]] = [[] for _ in range(shards)]
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):
        emptiest = loads.index(min(loads))
        groups[emptiest].append(name)
        loads[emptiest] += sizes[name]
    return groups


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stored_columns(database: PartsDatabase) -> list[str]:
    """The parent's own columns: every library's columns but their keys (held as `part_key`)."""
    others = {c for lib in database.libraries for c in lib.columns if c != lib.key_column}
    columns: list[str] = []
    for lib in database.libraries:
        columns += [c for c in lib.columns if c not in columns and (c != lib.key_column or c in others)]
    return columns


def partition_statements(database: PartsDatabase, layout: PartitionLayout, quote) -> list[str]:
    """DDL of the parent, its partitions and one view per library (PostgreSQL)."""
    parent = parent_table(database)
    columns = stored_columns(database)
    reserved = {layout.key, PART_KEY_COLUMN, VERSION_COLUMN}
    clash = sorted(reserved & set(columns))
    if clash:
        raise ValueError(f"columns {', '.join(clash)} are reserved by the partitioned layout")
    body = ", ".join(
        [f"{layout.key} text NOT NULL", f"{PART_KEY_COLUMN} text NOT NULL"]
        + [f"{quote(c)} text" for c in columns]
        + [
            f"{VERSION_COLUMN} integer NOT NULL DEFAULT 1",
            f"PRIMARY KEY ({layout.key}, {PART_KEY_COLUMN})",
        ]
    )
    method = "LIST" if layout.method == "list" else "HASH"
    statements = [f"CREATE TABLE {quote(parent)} ({body}) PARTITION BY {method} ({layout.key})"]
    if layout.method == "list":
        sizes = {lib.name: len(lib.rows) for lib in database.libraries}
        groups = [g for g in assign_shards(sizes, min(layout.number_of_shards, len(sizes))) if g]
        for n, group in enumerate(groups):
            values = ", ".join(_literal(name) for name in group)
            statements.append(
                f"CREATE TABLE {quote(f'{parent[:58]}_p{n}')} PARTITION OF {quote(parent)} FOR VALUES IN ({values})"
            )
    else:
        for n in range(layout.number_of_shards):
            statements.append(
                f"CREATE TABLE {quote(f'{parent[:58]}_p{n}')} PARTITION OF {quote(parent)} "
                f"FOR VALUES WITH (MODULUS {layout.number_of_shards}, REMAINDER {n})"
            )
    for lib in database.libraries:
        # the key is `part_key`, named as the library names it: KiCad's `WHERE "Key" = ?` is then
        # the primary key's (category, part_key) index
        shown = ", ".join(
            f"{PART_KEY_COLUMN} AS {quote(c)}" if c == lib.key_column else quote(c)
            for c in lib.columns + [VERSION_COLUMN]
        )
        statements.append(
            f"CREATE VIEW {quote(lib.table)} AS SELECT {shown} FROM {quote(parent)} "
            f"WHERE {layout.key} = {_literal(lib.name)}"
        )
    return statements


def write_partitioned(
    database: PartsDatabase, url: str, layout: PartitionLayout, engine_options=None
) -> list[TableFailure]:
    """Replaces the parts at `url` (PostgreSQL) by the partitioned layout, in one transaction."""
    from sqlalchemy import Column as SqlColumn
    from sqlalchemy import MetaData, Table, Text, create_engine, insert, inspect, text

    engine = create_engine(url, **(engine_options or {}))
    if engine.dialect.name != "postgresql":
        engine.dispose()
        raise ValueError(
            f"partitioning needs PostgreSQL; {engine.dialect.name} has no declarative partitions"
        )
    quote = engine.dialect.identifier_preparer.quote
    parent = parent_table(database)
    try:
        statements = partition_statements(database, layout, quote)
        with engine.begin() as conn:
            existing = inspect(conn)
            views, tables = set(existing.get_view_names()), set(existing.get_table_names())
            for lib in database.libraries:
                if lib.table in views:
                    conn.execute(text(f"DROP VIEW {quote(lib.table)}"))
                elif lib.table in tables:
                    conn.execute(text(f"DROP TABLE {quote(lib.table)}"))
            conn.execute(text(f"DROP TABLE IF EXISTS {quote(parent)} CASCADE"))
            for statement in statements:
                conn.execute(text(statement))
            columns = stored_columns(database)
            table = Table(
                parent,
                MetaData(),
                *(SqlColumn(c, Text) for c in [layout.key, PART_KEY_COLUMN, *columns]),
            )
            for lib in database.libraries:
                rows = [
                    {
                        layout.key: lib.name,
                        PART_KEY_COLUMN: row[lib.key_column],
                        **{c: (row.get(c) if c != lib.key_column else None) for c in columns},
                    }
                    for row in lib.rows
                ]
                for start in range(0, len(rows), BATCH_ROWS):
                    conn.execute(insert(table), rows[start : start + BATCH_ROWS])
            conn.execute(text(f"ANALYZE {quote(parent)}"))
    finally:
        engine.dispose()
    return []
