"""Scratch databases on the machine's real servers, for tests: created empty, dropped afterwards.

One place for what every database test needs (DbLib sources and outputs, the library database,
Airflow's metadata database), so servers and SQL dialects are named once.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Server:
    url: str  # server URL without a database
    admin_database: str
    create: str  # SQL with {name}
    drop: str
    query: str = ""  # appended to a database URL

    def database_url(self, name: str) -> str:
        return f"{self.url}/{name}{self.query}"


SERVERS = {
    "postgresql": Server(
        os.environ.get("ALTIUM2KICAD_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432"),
        "postgres",
        'CREATE DATABASE "{name}"',
        'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
    ),
    "mariadb": Server(
        os.environ.get("ALTIUM2KICAD_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306"),
        "",
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
        "DROP DATABASE IF EXISTS `{name}`",
        "?charset=utf8mb4",
    ),
}
PG_SERVER = SERVERS["postgresql"].url


def server_absent(kind: str) -> str | None:
    """Why no `kind` server is there to test against (nothing listens on its port), or None.

    Only this is a reason to skip: a server that answers but refuses (CREATE DATABASE denied, bad
    credentials) is an error the test must report, not hide.
    """
    from sqlalchemy.engine import make_url

    url = make_url(SERVERS[kind].url)
    host, port = url.host or "127.0.0.1", url.port or {"postgresql": 5432, "mariadb": 3306}[kind]
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return f"no {kind} server at {host}:{port} ({exc})"
    return None


def require_server(kind: str) -> None:
    """Skips the calling test when the `kind` server is absent (see server_absent)."""
    import pytest

    reason = server_absent(kind)
    if reason:
        pytest.skip(reason)


def _execute(kind: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    server = SERVERS[kind]
    admin = create_engine(f"{server.url}/{server.admin_database}", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def create_database(kind: str, name: str) -> str:
    """(Re)creates an empty database `name`; returns its URL."""
    server = SERVERS[kind]
    _execute(kind, server.drop.format(name=name))
    _execute(kind, server.create.format(name=name))
    return server.database_url(name)


def drop_database(kind: str, name: str) -> None:
    _execute(kind, SERVERS[kind].drop.format(name=name))


@contextmanager
def scratch_database(kind: str, prefix: str = "a2k_test") -> Iterator[str]:
    """A new, empty database with a unique name; yields its URL and drops it afterwards.

    Skips the test when the server is absent; any error of a server that is there fails it."""
    require_server(kind)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = create_database(kind, name)
    try:
        yield url
    finally:
        drop_database(kind, name)
