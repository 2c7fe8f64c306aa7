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
