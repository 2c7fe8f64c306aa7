"""Helpers shared by the DbLib tests: a scratch PostgreSQL database and independent table reads."""

from __future__ import annotations

import csv
import io
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database on the local server (dropped afterwards); yields its URL."""
    from sqlalchemy import create_engine, text
    name = f"a2k_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def mdb_rows(path, table: str) -> list[dict[str, str]]:
    """A table of an Access file read straight from mdb-export, not through the project's code."""
    out = subprocess.run(["mdb-export", str(path), table], capture_output=True, check=True).stdout
    return list(csv.DictReader(io.StringIO(out.decode("utf-8"), newline="")))


def mdb_tables(path) -> list[str]:
    out = subprocess.run(["mdb-tables", "-1", str(path)], capture_output=True, check=True, text=True).stdout
    return [t for t in out.splitlines() if t.strip()]


MARIADB_ADMIN_URL = "mysql+pymysql://root@127.0.0.1:3306/"


@contextmanager
def scratch_mariadb() -> Iterator[str]:
    """A new, empty MariaDB/MySQL database on the local server (dropped afterwards); yields its URL."""
    from sqlalchemy import create_engine, text
    name = f"a2k_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(MARIADB_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
