"""Settings held in Airflow connections, read through Airflow's own hook API.

`BaseHook.get_connection` understands every form Airflow does (AIRFLOW_CONN_* as URI or JSON,
secrets backends, the metadata database, the task's API), so nothing here parses connection
strings itself. A connection that is named but cannot be read is an error naming it, never a
reason to fall back quietly to a local default.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# Airflow's conn_type -> SQLAlchemy driver of the library database
DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "sqlite": "sqlite",
}


class ConnectionUnusable(Exception):
    """A named connection exists but cannot be used (message names it and why)."""


class SettingNotFound(Exception):
    """No source holds a setting, or only the embedded default does in a distributed deployment
    (message names the key and every source tried, in order)."""


@dataclass(frozen=True)
class Source(Generic[T]):
    """One place a setting may come from; `read` gives None (or "") when it is not set there."""

    name: str  # as logs and errors show it: "env X", "Airflow connection 'y'", "configuration default ..."
    read: Callable[[], T | None]
    embedded: bool = False  # a local SQLite file or folder: each distributed worker would keep its own


def resolve_setting(key: str, sources: Sequence[Source[T]], mode: str = "embedded") -> tuple[T, str]:
    """(value, source name) from the first source that holds `key`, tried in order (environment, Airflow connection,
    configuration default); logs the sources tried and the one that won, never the value (it may
    hold a password). In the distributed mode an embedded default is refused, not used."""
    tried: list[str] = []
    for source in sources:
        if source.embedded and mode == "distributed":
            raise SettingNotFound(
                f"{key}: not found (tried {', '.join(tried) or 'no other source'}); "
                f"deployment.mode distributed never falls back to the {source.name}"
            )
        value = source.read()  # ConnectionUnusable propagates: a broken source is not "not set"
        if value is not None and value != "":
            log.info("%s: from %s (tried in order: %s)", key, source.name, " -> ".join([*tried, source.name]))
            return value, source.name
        tried.append(source.name)
    raise SettingNotFound(f"{key}: not found (tried {', '.join(tried)})")


def env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def get_connection(conn_id: str):
    """The Airflow connection, or None when no source defines it; raises when one is unreadable."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        if os.environ.get(env_name(conn_id)):
            raise ConnectionUnusable(
                f"{env_name(conn_id)} is set but Airflow cannot read it as a connection URI or JSON"
            ) from None
        return None
    except Exception as exc:  # a secrets backend or the API failing is not "no connection"
        raise ConnectionUnusable(f"connection '{conn_id}': {type(exc).__name__}: {exc}") from exc


def http_connection(conn_id: str, key: str, what: str):
    """(base URL, connection) of an HTTP service whose Airflow connection holds its URL as host
    (scheme from the host, else the connection's schema, else http; port when set). `key` and
    `what` word the configuration error when no such connection exists."""
    from .config import ConfigError  # config imports this module

    conn = get_connection(conn_id)
    if conn is None or not conn.host:
        raise ConfigError(
            f"{key}: no Airflow connection '{conn_id}' (env {env_name(conn_id)}) with {what} as host"
        )
    host = conn.host if "://" in conn.host else f"{conn.schema or 'http'}://{conn.host}"
    return (f"{host}:{conn.port}" if conn.port else host), conn


def sqlalchemy_url(conn_id: str) -> str | None:
    """The connection as a SQLAlchemy URL for the library database (None when undefined)."""
    conn = get_connection(conn_id)
    if conn is None:
        return None
    driver = DRIVERS.get((conn.conn_type or "").lower())
    if driver is None:
        raise ConnectionUnusable(
            f"connection '{conn_id}': type '{conn.conn_type}' is not a database the library can use "
            f"({', '.join(sorted(DRIVERS))})"
        )
    return url_of(conn, driver)


def url_of(conn, dialect: str, query: dict[str, str] | None = None) -> str:
    """An Airflow connection's fields as a SQLAlchemy URL of `dialect` (password included: for
    engines only, never for logs)."""
    from sqlalchemy.engine import URL

    if dialect == "sqlite":
        return f"sqlite:///{conn.host or conn.schema}"
    return URL.create(
        dialect,
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host or None,
        port=conn.port or None,
        database=conn.schema or None,
        query=query or {},
    ).render_as_string(hide_password=False)
