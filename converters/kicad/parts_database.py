"""Writes the parts of a database library into a SQL database with SQLAlchemy.

One table per library, every column as text, the key column the primary key. A re-run replaces
the tables (drop, create, insert), one transaction per table: a table the server refuses costs that
table only, and is dropped again so the database holds exactly the tables the `.kicad_dbl` lists.
The default is a SQLite file beside the `.kicad_dbl`; it is written to a temporary file and moved
into place, so the same parts give the same bytes and a reader never sees half a database.

MySQL/MariaDB need a bounded key type (a TEXT primary key is refused) and a binary collation, so
keys compare exactly as in SQLite and PostgreSQL (the default collation ignores case and accents,
which would make `R1` and `r1` one key).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..model.parts import PartsDatabase, PartsLibrary

MYSQL_KEY_CHARS = 768  # InnoDB's 3072-byte index limit over utf8mb4's 4 bytes a character


@dataclass
class TableFailure:
    """A table the server would not take, and why (the other tables are written)."""

    library: PartsLibrary
    reason: str


def _table(metadata, library: PartsLibrary):
    from sqlalchemy import Column, Table, Text
    from sqlalchemy.dialects.mysql import MEDIUMTEXT, VARCHAR

    value_type = Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")
    key_type = Text().with_variant(VARCHAR(MYSQL_KEY_CHARS), "mysql", "mariadb")
    columns = [
        Column(
            name,
            key_type if name == library.key_column else value_type,
            primary_key=(name == library.key_column),
            nullable=(name != library.key_column),
        )
        for name in library.columns
    ]
    return Table(
        library.table,
        metadata,
        *columns,
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mariadb_charset="utf8mb4",  # a mariadb:// URL reads only its own prefix
        mariadb_collate="utf8mb4_bin",
    )


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _drop_quietly(engine, table) -> None:
    """Leaves no half-written table behind (MySQL commits DDL; PostgreSQL restores the old table)."""
    try:
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
    except Exception:  # the table's failure is already reported; what stays is not listed anywhere
        pass


def write_tables(database: PartsDatabase, url: str, engine_options: dict | None = None) -> list[TableFailure]:
    """Replaces the database's tables at `url` with the parts, one transaction per table.

    A server that cannot be reached raises (nothing can be written); a table it refuses is
    returned as a TableFailure and the other tables are still written.
    """
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url, **(engine_options or {}))
    failures = []
    try:
        with engine.connect():
            pass
        metadata = MetaData()
        for lib in database.libraries:
            table = _table(metadata, lib)
            try:
                with engine.begin() as conn:
                    table.drop(conn, checkfirst=True)
                    table.create(conn)
                    if lib.rows:
                        conn.execute(
                            table.insert(), [{c: row.get(c) for c in lib.columns} for row in lib.rows]
                        )
            except Exception as exc:  # a table the server refuses costs that table only
                failures.append(TableFailure(lib, _reason(exc)))
                _drop_quietly(engine, table)
    finally:
        engine.dispose()
    return failures


def write_sqlite_file(database: PartsDatabase, path: Path) -> list[TableFailure]:
    """A fresh SQLite file at `path` (replacing any old one whole); the tables it could not take."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    failures = write_tables(database, f"sqlite:///{temporary.resolve()}")
    os.replace(temporary, path)
    return failures
