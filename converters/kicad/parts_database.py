"""Writes the parts of a database library into a SQL database with SQLAlchemy.

One table per library, every column as text, the key column the primary key. A re-run replaces
the tables (drop, create, insert in one transaction), so parts are never duplicated. The default
is a SQLite file beside the `.kicad_dbl`; it is written to a temporary file and moved into place,
so the same parts give the same bytes and a reader never sees half a database.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..model.parts import PartsDatabase, PartsLibrary


def _table(metadata, library: PartsLibrary):
    from sqlalchemy import Column, Table, Text

    columns = [
        Column(name, Text, primary_key=(name == library.key_column), nullable=(name != library.key_column))
        for name in library.columns
    ]
    return Table(library.table, metadata, *columns)


def write_tables(database: PartsDatabase, url: str) -> None:
    """Replaces the database's tables at `url` with the parts (one transaction per database)."""
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    try:
        metadata = MetaData()
        tables = [(_table(metadata, lib), lib) for lib in database.libraries]
        with engine.begin() as conn:
            for table, _ in tables:
                table.drop(conn, checkfirst=True)
            for table, lib in tables:
                table.create(conn)
                if lib.rows:
                    conn.execute(table.insert(), [{c: row.get(c) for c in lib.columns} for row in lib.rows])
    finally:
        engine.dispose()


def write_sqlite_file(database: PartsDatabase, path: Path) -> Path:
    """A fresh SQLite file at `path` (replacing any old one whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    write_tables(database, f"sqlite:///{temporary.resolve()}")
    os.replace(temporary, path)
    return path
