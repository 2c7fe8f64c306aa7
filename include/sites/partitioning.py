"""Moves a deployed PostgreSQL parts database to the partitioned layout `database.scaling.sharding`
describes, keeping every table name, column and row KiCad reads (each table becomes a view).

Row versions start again at 1 and the edit history of those tables is cleared: an edit based on
a version read before the move is refused as stale rather than merged against the wrong row.
"""

from __future__ import annotations

from sqlalchemy import MetaData, Table, inspect, select, text

from converters.kicad.parts_partitions import PartitionLayout, parent_table, write_partitioned
from converters.model.parts import PartField, PartsDatabase, PartsLibrary

from .kicad_dbl import KicadDbl, database_url
from .part_edits import HISTORY, VERSION_COLUMN


def read_parts(dbl: KicadDbl, engine, sharding_key: str = "component_category") -> PartsDatabase:
    """The deployed parts as the neutral model (every column of every table, in table order)."""
    database = PartsDatabase(dbl.name, dbl.description)
    for lib in dbl.libraries:
        table = Table(lib.table, MetaData(), autoload_with=engine)
        columns = [c.name for c in table.columns if c.name not in (VERSION_COLUMN, sharding_key, "part_key")]
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(select(*(table.c[c] for c in columns))).mappings()]
        database.libraries.append(
            PartsLibrary(
                name=lib.name,
                table=lib.table,
                columns=columns,
                rows=rows,
                key_column=lib.key,
                symbols_column=lib.symbols,
                footprints_column=lib.footprints,
                fields=[PartField(f.column, f.name, f.visible_on_add) for f in lib.fields],
            )
        )
    return database


def partition_deployed(dbl: KicadDbl, sharding, scaling) -> dict:
    """Rewrites the database behind `dbl` partitioned; what was done, for the audit log."""
    from .engines import make_engine, pool_options

    if not sharding.enabled:
        raise ValueError("database.scaling.sharding.enabled is false; nothing to partition")
    url = database_url(dbl)
    engine = make_engine(url, scaling)
    try:
        if engine.dialect.name != "postgresql":
            raise ValueError(
                f"{dbl.path}: its parts database is {engine.dialect.name}; partitioning needs PostgreSQL"
            )
        database = read_parts(dbl, engine, sharding.shard_key)
        layout = PartitionLayout(sharding.number_of_shards, sharding.method, sharding.shard_key)
        write_partitioned(database, url, layout, pool_options(scaling, url))
        if HISTORY.name in inspect(engine).get_table_names():
            with engine.begin() as conn:
                conn.execute(
                    HISTORY.delete().where(
                        HISTORY.c.table_name.in_([lib.table for lib in database.libraries])
                    )
                )
        with engine.connect() as conn:
            parts = conn.execute(text(f'SELECT count(*) FROM "{parent_table(database)}"')).scalar()
    finally:
        engine.dispose()
    return {
        "parent": parent_table(database),
        "method": layout.method,
        "partitions": layout.number_of_shards,
        "categories": len(database.libraries),
        "parts": parts,
    }
