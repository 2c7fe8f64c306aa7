"""A pg_dump that cannot finish (its table locked by another session) is stopped with an error
naming the database, instead of holding the backup task's worker."""

from __future__ import annotations

import time

import pytest

from include.operations import databases
from tests.scratch_databases import scratch_database


@pytest.fixture
def library_db():
    with scratch_database("postgresql", "a2k_pgtimeout") as url:
        yield url


def test_blocked_pg_dump_is_stopped(library_db, monkeypatch):
    from sqlalchemy import create_engine, text

    engine = create_engine(library_db)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE parts (id int)"))
        conn.commit()
    holder = engine.connect()
    try:
        holder.execute(text("BEGIN"))
        holder.execute(text("LOCK TABLE parts IN ACCESS EXCLUSIVE MODE"))  # pg_dump waits for it
        monkeypatch.setattr(databases, "PG_TOOL_TIMEOUT", 2)
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=r"pg_dump postgresql.*a2k_pgtimeout.*within 2 s"):
            databases.dump(library_db)
        assert time.monotonic() - started < 15
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert databases.dump(library_db)[0] == "pg_dump-Fc"  # unlocked, the same dump succeeds
