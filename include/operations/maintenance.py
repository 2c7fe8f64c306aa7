"""Database optimization: ANALYZE, REINDEX (CONCURRENTLY on PostgreSQL) and VACUUM, run outside a
transaction, one run at a time (an advisory lock on PostgreSQL, a file lock beside a SQLite file;
the DAG also has max_active_runs=1), with table statistics recorded before and after so a report
shows what the run changed."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_ID = 0x0A2C1CAD  # pg advisory lock key of database_optimization


class MaintenanceBusy(Exception):
    """Another optimization run holds the lock."""


def table_statistics(conn, dialect: str) -> dict[str, dict]:
    """Per table: sizes and row counts (PostgreSQL: pg_class and pg_stat_user_tables, dead rows)."""
    from sqlalchemy import text

    if dialect == "postgresql":
        if int(conn.execute(text("SHOW server_version_num")).scalar()) >= 150000:
            conn.execute(text("SELECT pg_stat_force_next_flush()"))  # our own VACUUM's counts, now
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(
            text(
                "SELECT c.relname, c.reltuples, pg_total_relation_size(c.oid), pg_relation_size(c.oid), "
                "pg_indexes_size(c.oid), s.n_live_tup, s.n_dead_tup, s.last_vacuum, s.last_analyze "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY 1"
            )
        )
        return {
            r[0]: {
                "estimated_rows": float(r[1]),
                "bytes": int(r[2]),
                "table_bytes": int(r[3]),
                "index_bytes": int(r[4]),
                "live_rows": r[5],
                "dead_rows": r[6],
                "last_vacuum": r[7].isoformat() if r[7] else None,
                "last_analyze": r[8].isoformat() if r[8] else None,
            }
            for r in rows
        }
    names = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1"))]
    pages = conn.execute(text("PRAGMA page_count")).scalar() * conn.execute(text("PRAGMA page_size")).scalar()
    return {
        n: {"rows": conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar(), "file_bytes": pages}
        for n in names
    }


@contextmanager
def _sqlite_lock(url: str) -> Iterator[None]:
    """An exclusive, non-blocking lock on `<db>.maintenance.lock` (SQLite has no advisory locks)."""
    from include.operations.databases import sqlite_path

    path = sqlite_path(url)
    if str(path) == ":memory:":
        yield
        return
    with open(Path(f"{path}.maintenance.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MaintenanceBusy(f"{path}: another database_optimization run is in progress") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def optimize(url: str) -> dict:
    """Runs the optimization (locked against a concurrent run) and returns its statistics."""
    from include.operations.databases import dialect

    if dialect(url) == "sqlite":
        with _sqlite_lock(url):
            return _optimize(url)
    return _optimize(url)


def _optimize(url: str) -> dict:
    """Runs the optimization and returns {'before', 'after', 'steps', 'started_at', 'finished_at'}."""
    from sqlalchemy import create_engine, text

    # VACUUM / REINDEX CONCURRENTLY refuse a transaction
    from include.sites.engines import configured_pool_options

    eng = create_engine(url, isolation_level="AUTOCOMMIT", **configured_pool_options(url))
    started = datetime.now(UTC).isoformat()
    steps: list[str] = []
    try:
        with eng.connect() as conn:
            dialect = eng.dialect.name
            if (
                dialect == "postgresql"
                and not conn.execute(text(f"SELECT pg_try_advisory_lock({LOCK_ID})")).scalar()
            ):
                raise MaintenanceBusy(f"{eng.url.database}: another database_optimization run is in progress")
            try:
                before = table_statistics(conn, dialect)
                if dialect == "postgresql":
                    for table in before:
                        for sql in (
                            f'ANALYZE "{table}"',
                            f'REINDEX TABLE CONCURRENTLY "{table}"',
                            f'VACUUM "{table}"',
                        ):
                            conn.execute(text(sql))
                            steps.append(sql)
                else:
                    for sql in ("ANALYZE", "REINDEX", "VACUUM"):
                        conn.execute(text(sql))
                        steps.append(sql)
                after = table_statistics(conn, dialect)
            finally:
                if dialect == "postgresql":
                    conn.execute(text(f"SELECT pg_advisory_unlock({LOCK_ID})"))
    finally:
        eng.dispose()
    return {
        "before": before,
        "after": after,
        "steps": steps,
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat(),
    }


def _size(stats: dict) -> int:
    """Bytes of all tables (PostgreSQL: per table; SQLite: the one file every table shares)."""
    if any("bytes" in t for t in stats.values()):
        return sum(int(t["bytes"]) for t in stats.values())
    return max((int(t["file_bytes"]) for t in stats.values()), default=0)


def _summary(result: dict) -> dict:
    """Totals for XCom and the log: bytes and dead rows before and after."""

    def dead(stats: dict) -> int:
        return sum(int(t.get("dead_rows") or 0) for t in stats.values())

    return {
        "tables": len(result["after"]),
        "bytes_before": _size(result["before"]),
        "bytes_after": _size(result["after"]),
        "dead_rows_before": dead(result["before"]),
        "dead_rows_after": dead(result["after"]),
        "steps": len(result["steps"]),
    }


def optimize_and_record(url: str, run_id: str, backup_set: str | None) -> dict:
    """Optimizes the library database and records the statistics (maintenance_run) either way."""
    from include.operations.records import record_run

    started = datetime.now(UTC)
    try:
        result = optimize(url)
    except Exception as exc:
        record_run(
            url,
            "database_optimization",
            run_id,
            "failed",
            {"error": str(exc), "backup_set": backup_set},
            started,
        )
        raise
    summary = _summary(result)
    record_run(
        url,
        "database_optimization",
        run_id,
        "success",
        {**result, "backup_set": backup_set, "summary": summary},
        started,
    )
    return summary
