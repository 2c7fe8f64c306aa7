"""Database optimization: ANALYZE, REINDEX (CONCURRENTLY on PostgreSQL) and VACUUM, run outside a
transaction, one run at a time (an advisory lock on PostgreSQL), with table statistics recorded
before and after so a report shows what the run changed."""

from __future__ import annotations

from datetime import UTC, datetime

LOCK_ID = 0x0A2C1CAD  # pg advisory lock key of database_optimization


class MaintenanceBusy(Exception):
    """Another optimization run holds the lock."""


def table_statistics(conn, dialect: str) -> dict[str, dict]:
    from sqlalchemy import text

    if dialect == "postgresql":
        rows = conn.execute(
            text(
                "SELECT c.relname, c.reltuples, pg_total_relation_size(c.oid), s.n_dead_tup "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY 1"
            )
        )
        return {r[0]: {"estimated_rows": float(r[1]), "bytes": int(r[2]), "dead_rows": r[3]} for r in rows}
    names = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1"))]
    pages = conn.execute(text("PRAGMA page_count")).scalar() * conn.execute(text("PRAGMA page_size")).scalar()
    return {
        n: {"rows": conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar(), "file_bytes": pages}
        for n in names
    }


def optimize(url: str) -> dict:
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
