"""database_optimization on real PostgreSQL: statistics before/after, one run at a time; SQLite too."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from include.operations.maintenance import LOCK_ID, MaintenanceBusy, optimize
from tests.scratch_databases import scratch_database


def test_postgres_optimization_records_statistics_and_locks(tmp_path):
    with scratch_database("postgresql") as url:
        eng = create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("CREATE TABLE part (id int primary key, name text)"))
            conn.execute(text("CREATE INDEX part_name ON part (name)"))
            conn.execute(text("INSERT INTO part SELECT g, 'R' || g FROM generate_series(1, 2000) g"))
            conn.execute(text("DELETE FROM part WHERE id > 1000"))
        result = optimize(url)
        assert result["before"]["part"]["estimated_rows"] == -1  # never analyzed
        assert result["after"]["part"]["estimated_rows"] == 1000
        assert 'REINDEX TABLE CONCURRENTLY "part"' in result["steps"] and 'VACUUM "part"' in result["steps"]
        with eng.connect() as conn:  # another run holds the lock: this one refuses
            conn.execute(text(f"SELECT pg_advisory_lock({LOCK_ID})"))
            with pytest.raises(MaintenanceBusy):
                optimize(url)
            conn.execute(text(f"SELECT pg_advisory_unlock({LOCK_ID})"))
        eng.dispose()


def test_sqlite_optimization(tmp_path):
    import sqlite3

    db = tmp_path / "lib.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (a int)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5000)])
    conn.execute("DELETE FROM t WHERE a > 10")
    conn.commit()
    conn.close()
    result = optimize(f"sqlite:///{db}")
    assert result["after"]["t"]["rows"] == 11
    assert result["after"]["t"]["file_bytes"] < result["before"]["t"]["file_bytes"]


def test_postgres_statistics_recorded_in_the_library_database():
    """Must-show 5: a maintenance run on PostgreSQL leaves its before/after statistics in maintenance_run."""
    from include.library_db.database import engine
    from include.operations.maintenance import optimize_and_record
    from include.operations.records import runs

    with scratch_database("postgresql") as url:
        engine(url)  # the library schema, as the pipeline creates it
        eng = create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log (actor, action, run_id, detail, uid) "
                    "SELECT 'a', 'x', 'r' || g, '{}', md5(g::text) FROM generate_series(1, 3000) g"
                )
            )
            conn.execute(text("DELETE FROM audit_log WHERE id % 3 <> 0"))
        eng.dispose()
        summary = optimize_and_record(url, "scheduled__1", "20261202T000000Z-full")
        [row] = runs(url, "database_optimization")
        engine.cache_clear()
        before, after = row.detail["before"]["audit_log"], row.detail["after"]["audit_log"]
    assert row.status == "success" and row.run_id == "scheduled__1"
    assert row.detail["backup_set"] == "20261202T000000Z-full"
    assert before["dead_rows"] == 2000 and after["dead_rows"] == 0
    assert before["last_vacuum"] is None and after["last_vacuum"] is not None
    assert after["estimated_rows"] == 1000 and after["live_rows"] == 1000
    assert summary["dead_rows_before"] >= 2000 and summary["dead_rows_after"] == 0
    assert {"maintenance_run", "migration_run"} <= set(row.detail["after"])


def test_sqlite_one_run_at_a_time(tmp_path):
    import fcntl

    db = tmp_path / "lib.db"
    import sqlite3

    sqlite3.connect(db).close()
    with open(f"{db}.maintenance.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(MaintenanceBusy, match="in progress"):
            optimize(f"sqlite:///{db}")
    assert optimize(f"sqlite:///{db}")["steps"] == ["ANALYZE", "REINDEX", "VACUUM"]
