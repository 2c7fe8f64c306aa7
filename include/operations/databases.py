"""Database snapshots: dump and load (pg_dump -Fc / pg_restore, SQLite's online backup API), and the
per-table row counts and checksums that prove a restore identical to its source."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# seconds one pg_dump / pg_restore may take: a server that stops answering must fail the backup or
# restore task (which retries), not hold its worker until the task's execution_timeout
PG_TOOL_TIMEOUT = 1800


def _pg_tool(command: list[str], what: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs pg_dump/pg_restore with a time limit; `what` names the database or file in the error."""
    try:
        return subprocess.run(command, capture_output=True, env=env, timeout=PG_TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{command[0]} {what}: did not finish within {PG_TOOL_TIMEOUT} s") from None


class RestoreRefused(Exception):
    """A restore would overwrite something it must not (non-empty target without --force)."""


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    checksum: str


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL (no driver, no password) and the environment holding the password."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    plain = u.set(drivername="postgresql", password=None, query={})
    return plain.render_as_string(hide_password=False), env


def dialect(url: str) -> str:
    """The backend a SQLAlchemy URL names (postgresql, sqlite, mysql, ...)."""
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


def sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[1])


def fingerprints(url: str) -> dict[str, TableFingerprint]:
    """Every table's row count and a checksum of its rows in a canonical order."""
    from sqlalchemy import MetaData, create_engine, select

    from include.sites.engines import configured_pool_options

    eng = create_engine(url, **configured_pool_options(url))
    try:
        meta = MetaData()
        meta.reflect(eng)
        result = {}
        with eng.connect() as conn:
            for name, table in sorted(meta.tables.items()):
                lines = sorted(
                    json.dumps(list(row), default=str, sort_keys=True, ensure_ascii=False)
                    for row in conn.execute(select(table))
                )
                digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
                result[name] = TableFingerprint(len(lines), digest)
        return result
    finally:
        eng.dispose()


def server_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    from include.sites.engines import configured_pool_options

    eng = create_engine(url, **configured_pool_options(url))
    try:
        with eng.connect() as conn:
            if eng.dialect.name == "postgresql":
                return str(conn.execute(text("SHOW server_version")).scalar_one())
            return "sqlite " + sqlite3.sqlite_version
    finally:
        eng.dispose()


def dump(url: str) -> tuple[str, bytes]:
    """(format, bytes) of a consistent snapshot: pg_dump's custom format or a SQLite file copy."""
    kind = dialect(url)
    if kind == "postgresql":
        libpq, env = _libpq(url)
        out = _pg_tool(["pg_dump", "-Fc", "--no-owner", "-d", libpq], _safe(url), env)
        if out.returncode:
            raise RuntimeError(f"pg_dump {libpq}: {out.stderr.decode(errors='replace').strip()}")
        return "pg_dump-Fc", out.stdout
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "snapshot.db"
            src = sqlite3.connect(sqlite_path(url))
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)  # online: readers and writers of the live file keep working
            finally:
                dst.close()
                src.close()
            return "sqlite", copy.read_bytes()
    raise ValueError(f"{url}: no backup method for the {kind} dialect")


def is_empty(url: str) -> bool:
    """True when the target holds no tables (a restore there needs no --force)."""
    from sqlalchemy import create_engine, inspect

    if dialect(url) == "sqlite" and not sqlite_path(url).exists():
        return True
    from include.sites.engines import configured_pool_options

    eng = create_engine(url, **configured_pool_options(url))
    try:
        return not inspect(eng).get_table_names()
    finally:
        eng.dispose()


def check_dump(fmt: str, data: bytes) -> None:
    """Refuses a dump its own tool cannot read (before the target is touched)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dump"
        path.write_bytes(data)
        if fmt == "pg_dump-Fc":
            out = _pg_tool(["pg_restore", "--list", str(path)], "--list of the dump")
            if out.returncode:
                raise RuntimeError(f"pg_restore cannot read the dump: {out.stderr.decode().strip()}")
        elif fmt == "sqlite":
            conn = sqlite3.connect(path)
            try:
                if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise RuntimeError("SQLite integrity_check failed on the backup")
            finally:
                conn.close()


def load(fmt: str, data: bytes, url: str, force: bool = False) -> None:
    """Replaces the target database's content with the dump (the target must be empty or forced)."""
    if not is_empty(url) and not force:
        raise RestoreRefused(f"{_safe(url)} is not empty; pass --force to overwrite it")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dump"
        path.write_bytes(data)
        if fmt == "pg_dump-Fc":
            _wipe_postgres(url)
            libpq, env = _libpq(url)
            out = _pg_tool(
                ["pg_restore", "--no-owner", "--exit-on-error", "-d", libpq, str(path)], _safe(url), env
            )
            if out.returncode:
                raise RuntimeError(f"pg_restore into {_safe(url)}: {out.stderr.decode().strip()}")
        elif fmt == "sqlite":
            target = sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            src = sqlite3.connect(path)
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        else:
            raise ValueError(f"unknown dump format {fmt}")


def _wipe_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    from include.sites.engines import configured_pool_options

    eng = create_engine(url, isolation_level="AUTOCOMMIT", **configured_pool_options(url))
    try:
        with eng.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        eng.dispose()


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
