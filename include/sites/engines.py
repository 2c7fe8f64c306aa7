"""SQLAlchemy engines with `database.scaling` applied: pool sizes, read-only use, read replicas.

Every engine the services open comes from here, so the configured pool sizes hold everywhere and a
read-only query can never write: SQLite files open with `mode=ro`, PostgreSQL sessions are
`default_transaction_read_only`, MySQL sessions `READ ONLY`.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
_engines: dict[tuple, Engine] = {}
_lock = threading.Lock()


def pool_options(scaling, url: str) -> dict:
    """create_engine() keywords for the configured pool (SQLite in memory keeps its single pool)."""
    if url.startswith("sqlite") and (":memory:" in url or url == "sqlite://"):
        return {}
    pool = scaling.connection_pool
    return {
        "pool_size": pool.pool_size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.pool_timeout,
        "pool_recycle": pool.pool_recycle,
        "pool_pre_ping": True,
    }


def _read_only_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return url
    # a URI filename: SQLite itself refuses every write on this connection
    return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"


def make_engine(url: str, scaling, *, read_only: bool = False, isolation_level: str | None = None) -> Engine:
    """A new engine with the pool settings; `read_only` makes the database refuse writes."""
    options = pool_options(scaling, url)
    if isolation_level:
        options["isolation_level"] = isolation_level
    engine = create_engine(_read_only_url(url) if read_only else url, **options)
    if read_only and engine.dialect.name in ("postgresql", "mysql", "mariadb"):
        statement = (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
            if engine.dialect.name == "postgresql"
            else "SET SESSION TRANSACTION READ ONLY"
        )

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute(statement)
            cursor.close()
            if engine.dialect.name == "postgresql":
                dbapi_connection.commit()

    return engine


def shared_engine(
    url: str, scaling, *, read_only: bool = False, isolation_level: str | None = None
) -> Engine:
    """One engine per (URL, mode) per process: the pool is shared by every request."""
    key = (url, read_only, isolation_level, scaling.connection_pool.model_dump_json())
    with _lock:
        if key not in _engines:
            _engines[key] = make_engine(url, scaling, read_only=read_only, isolation_level=isolation_level)
        return _engines[key]


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def replica_url(primary_url: str, conn_id: str) -> str | None:
    """The primary's URL pointed at the replica the connection names (None when undefined)."""
    from include.connections import get_connection

    conn = get_connection(conn_id)
    if conn is None:
        return None
    url = make_url(primary_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{conn.host or conn.schema}"
    return url.set(
        host=conn.host or url.host,
        port=conn.port or url.port,
        username=conn.login or url.username,
        password=conn.password or url.password,
        database=conn.schema or url.database,
    ).render_as_string(hide_password=False)


def read_engine(primary_url: str, scaling) -> Engine:
    """The engine for read-only queries: the first configured replica that answers, else the primary.

    A replica that is down costs a warning, never the read (the primary still answers)."""
    for conn_id in scaling.read_replicas:
        url = replica_url(primary_url, conn_id)
        if url is None:
            log.warning("database.scaling.read_replicas: connection '%s' is not defined; skipped", conn_id)
            continue
        engine = shared_engine(url, scaling, read_only=True)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return engine
        except Exception as exc:  # an unreachable replica: try the next, then the primary
            log.warning("read replica '%s' does not answer (%s); trying the next", conn_id, exc)
    return shared_engine(primary_url, scaling, read_only=True)


def configured_pool_options(url: str) -> dict:
    """pool_options() of the loaded configuration, for engines opened outside a request (backup,
    restore, maintenance, the library database)."""
    from include.config import load_config

    return pool_options(load_config().database.scaling, url)
