"""Where a DbLib's parts database is, for the pipeline: an Airflow connection per data source.

A DbLib names its database the way the Windows machine that made it knows it: an ODBC data source
(`Data Source=localPostgres` under `Provider=MSDASQL`), a server and `Initial Catalog`, or a file.
None of that opens here, so configuration `parts_sources` maps the data source name, the database
name or the DbLib's file name to an Airflow connection, and the run param `parts_conn_id` overrides
it for one run. Credentials come only from the connection (Airflow's secrets backends: env
`AIRFLOW_CONN_*` in URI or JSON form, the metadata DB, Vault...): the DbLib's own user and password
are never used, logged, reported or put in XCom; the URL built here never leaves the task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from converters.library_files import DATABASE_EXTENSIONS

from .connections import DRIVERS, url_of

log = logging.getLogger(__name__)
# Airflow conn_type -> SQLAlchemy dialect+driver (installed in the venv or documented in pipeline.md)
DIALECTS = {**DRIVERS, "mssql": "mssql+pyodbc"}  # the library DB's servers, and SQL Server
# SQL Server over pyodbc needs an ODBC driver by name: Microsoft's (msodbcsql18) unless the
# connection's extra says `"driver": "FreeTDS"` (Debian tdsodbc).
MSSQL_DEFAULT_DRIVER = "ODBC Driver 18 for SQL Server"


class PartsSourceError(Exception):
    """The parts database of a DbLib cannot be resolved (names the DbLib, the rule and why)."""


@dataclass(frozen=True)
class DbLibIdentity:
    """What a DbLib says about its database, as parts_sources matches it (no secrets)."""

    file_name: str
    data_source: str  # ODBC DSN or `Data Source` (server or file)
    database: str  # `Initial Catalog` / `Database`


@dataclass(frozen=True)
class ResolvedSource:
    """A DbLib's parts database: which connection, why, and the URL (never logged or returned)."""

    dblib: str
    conn_id: str
    matched_by: str  # "param parts_conn_id", "data source 'X'", "database 'Y'", "DbLib file 'Z'"
    url: str

    def describe(self) -> str:
        return f"Airflow connection '{self.conn_id}' ({self.matched_by})"


def is_database_library(path: str | Path) -> bool:
    return Path(path).suffix.lower() in DATABASE_EXTENSIONS


def identity(path: Path) -> DbLibIdentity:
    """The DbLib's data source and database names; an unreadable file gives empty names (the
    analysis and the conversion report that file themselves)."""
    from converters.altium.dblib import DbLibError, read_dblib

    try:
        conn = read_dblib(path).connection
    except DbLibError:
        return DbLibIdentity(path.name, "", "")
    return DbLibIdentity(
        path.name,
        conn.get("DSN") or conn.get("Data Source") or conn.get("Server"),
        conn.get("Initial Catalog") or conn.get("Database"),
    )


def match(
    ident: DbLibIdentity, rules: list, override: str | None = None, why: str = "param parts_conn_id"
) -> tuple[str, str] | None:
    """(conn_id, why) for a DbLib: the override first (the run's param, else the environment's
    parts_conn_id), then the most specific rule (file name, then data source, then database name;
    names compare ignoring case, as Windows does)."""
    if override:
        return override, why
    for attribute, shown in (
        ("dblib", "DbLib file"),
        ("data_source", "data source"),
        ("database", "database"),
    ):
        wanted = {"dblib": ident.file_name, "data_source": ident.data_source, "database": ident.database}[
            attribute
        ]
        if not wanted:
            continue
        for rule in rules:
            given = getattr(rule, attribute)
            if given and given.casefold() == wanted.casefold():
                return rule.conn_id, f"{shown} '{wanted}'"
    return None


def connection_url(conn_id: str) -> str:
    """The SQLAlchemy URL of an Airflow connection (read through Airflow's hook API)."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException, or no secrets backend answers
        raise PartsSourceError(f"Airflow connection '{conn_id}' is not defined ({exc})") from None
    kind = (conn.conn_type or "").lower()
    if kind not in DIALECTS:
        raise PartsSourceError(
            f"Airflow connection '{conn_id}' has type '{conn.conn_type}'; parts databases are read from "
            f"{', '.join(sorted(DIALECTS))}"
        )
    extra = {k: str(v) for k, v in (conn.extra_dejson or {}).items() if v is not None}
    if kind == "mssql":
        extra.setdefault("driver", MSSQL_DEFAULT_DRIVER)
    if kind in ("mysql", "mariadb"):
        extra.setdefault("charset", "utf8mb4")
    return url_of(conn, DIALECTS[kind], extra)


def resolve(
    path: Path, rules: list, override: str | None = None, why: str = "param parts_conn_id"
) -> ResolvedSource | None:
    """The parts database of one DbLib, or None when no rule names it (the DbLib's own settings
    are then used: a file database beside it still works)."""
    ident = identity(path)
    found = match(ident, rules, override, why)
    if found is None:
        log.info(
            "%s: parts database: tried %s, then parts_sources by DbLib file %r, "
            "data source %r, database %r; none names it, so the DbLib's own connection settings are used",
            path.name,
            why,
            ident.file_name,
            ident.data_source,
            ident.database,
        )
        return None
    conn_id, why = found
    try:
        url = connection_url(conn_id)
    except PartsSourceError as exc:
        raise PartsSourceError(f"{path}: parts database via {why}: {exc}") from None
    return ResolvedSource(str(path), conn_id, why, url)


def unmatched_hint(path: Path) -> str:
    """What to configure when a DbLib's database could not be opened and no rule named it."""
    ident = identity(path)
    names = [f"data_source: {ident.data_source}"] if ident.data_source else []
    names += [f"database: {ident.database}"] if ident.database else []
    names.append(f"dblib: {ident.file_name}")
    return (
        "no parts_sources entry names this DbLib's database: map one of ("
        + ", ".join(names)
        + ") to an Airflow connection in parts_sources, or give the run param parts_conn_id"
    )
