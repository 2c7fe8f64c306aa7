"""Helpers shared by the DbLib tests: a scratch PostgreSQL database and independent table reads."""

from __future__ import annotations

import csv
import io
import subprocess

from tests.scratch_databases import scratch_database


def scratch_postgres():
    """A new, empty PostgreSQL database on the local server (dropped afterwards); yields its URL."""
    return scratch_database("postgresql")


def mdb_rows(path, table: str) -> list[dict[str, str]]:
    """A table of an Access file read straight from mdb-export, not through the project's code."""
    out = subprocess.run(["mdb-export", str(path), table], capture_output=True, check=True).stdout
    return list(csv.DictReader(io.StringIO(out.decode("utf-8"), newline="")))


def mdb_tables(path) -> list[str]:
    out = subprocess.run(["mdb-tables", "-1", str(path)], capture_output=True, check=True, text=True).stdout
    return [t for t in out.splitlines() if t.strip()]


def scratch_mariadb():
    """A new, empty MariaDB/MySQL database on the local server (dropped afterwards); yields its URL."""
    return scratch_database("mariadb")
