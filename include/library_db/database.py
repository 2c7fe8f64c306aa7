"""Opening the library database: engine per URL, schema brought up to date by Alembic once."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "altium2kicad_alembic_version"  # beside Airflow's own alembic_version when sharing a DB


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


# pg_advisory_lock key of the schema upgrade ("a2kschem"): task processes starting at once on a
# fresh database would otherwise all create the version table and collide
UPGRADE_LOCK_KEY = 0x6132_6B73_6368_656D


def upgrade(url: str) -> None:
    """Applies pending migrations (a no-op when the schema is current), one process at a time on
    PostgreSQL (an advisory lock held on a connection of its own while Alembic runs)."""
    from alembic import command

    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(url), "head")
        return
    from sqlalchemy import text

    guard = create_engine(url, poolclass=NullPool)
    try:
        with guard.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK_KEY})
    finally:
        guard.dispose()


_created: dict[str, Engine] = {}  # every engine made, so a failover can drop its pool without making one
_first_use = threading.Lock()  # Alembic's context is process-global: one migration at a time


def dispose(url: str) -> None:
    """Closes the pooled connections of the engine for `url`, if one was made (after a failover they
    may all point at the old primary); never connects."""
    found = _created.get(url)
    if found is not None:
        found.dispose()


def engine(url: str) -> Engine:
    """One engine per URL per process, its schema migrated on first use (thread-safe: the
    api-server's request threads may all ask at once)."""
    with _first_use:
        return _engine(url)


def _clear() -> None:
    _engine.cache_clear()


engine.cache_clear = _clear  # type: ignore[attr-defined]  # tests reset it as they did the lru_cache


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from include.config import load_config
    from include.sites.engines import pool_options

    eng = create_engine(url, **{"pool_pre_ping": True, **pool_options(load_config().database.scaling, url)})
    if eng.dialect.name == "sqlite":

        @event.listens_for(eng, "connect")
        def _pragmas(conn, _record):  # parallel task processes share one file
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    upgrade(url)
    _created[url] = eng
    return eng


def session(url: str) -> Session:
    return sessionmaker(engine(url), expire_on_commit=False)()
