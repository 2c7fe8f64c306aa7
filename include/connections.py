"""Settings held in Airflow connections, read through Airflow's own hook API.

`BaseHook.get_connection` understands every form Airflow does (AIRFLOW_CONN_* as URI or JSON,
secrets backends, the metadata database, the task's API), so nothing here parses connection
strings itself. A connection that is named but cannot be read is an error naming it, never a
reason to fall back quietly to a local default.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

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
