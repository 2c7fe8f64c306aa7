"""The failover policy on a server that is not there: retries, breaker, clear error, no retry of
real errors, and no duplicate audit row when a retried write had landed."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from include.library_db import failover
from include.library_db.failover import DatabaseUnavailable, FailoverPolicy, call

DEAD = "postgresql+psycopg2://alice:s3cret@127.0.0.1:1/library"  # nothing listens on port 1


def _connect_once(url: str, attempts: list[float]):
    def operation():
        attempts.append(time.monotonic())
        with create_engine(url).connect() as conn:
            return conn.execute(text("SELECT 1")).scalar()

    return operation


def test_retries_then_names_the_database_without_its_password():
    policy = FailoverPolicy(retry_interval=0.05, max_retries=3, failure_threshold=100, failover_timeout=30)
    attempts: list[float] = []
    with pytest.raises(DatabaseUnavailable) as err:
        call(DEAD, policy, _connect_once(DEAD, attempts), "start_run")
    assert len(attempts) == 4  # the first try and 3 retries
    message = str(err.value)
    assert "127.0.0.1:1/library" in message and "start_run failed 4 times" in message
    assert "s3cret" not in message


def test_the_breaker_stops_hammering_then_probes():
    policy = FailoverPolicy(
        retry_interval=0.01, max_retries=20, failure_threshold=3, reset_timeout=0.5, failover_timeout=1.2
    )
    failover._breakers.clear()
    attempts: list[float] = []
    with pytest.raises(DatabaseUnavailable):
        call(DEAD.replace(":1/", ":2/"), policy, _connect_once(DEAD, attempts), "put_gate")
    # three quick failures open it; then one probe per reset_timeout, not one per retry_interval
    assert 3 <= len(attempts) <= 6, attempts
    gaps = [b - a for a, b in zip(attempts[2:], attempts[3:], strict=False)]
    assert all(g >= 0.45 for g in gaps), gaps


def test_a_real_error_is_not_retried(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    attempts = []

    def operation():
        attempts.append(1)
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    with pytest.raises(IntegrityError):
        call(url, FailoverPolicy(retry_interval=0.01), operation)
    assert attempts == [1]


def test_recovers_when_the_server_comes_back(pg_url):
    """Fails twice (as a dropped connection does), then succeeds: one result, the breaker closed."""
    from sqlalchemy.exc import OperationalError

    policy = FailoverPolicy(retry_interval=0.01, max_retries=5, failure_threshold=2, reset_timeout=0.05)
    calls = []

    def operation():
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return "ok"

    assert call(pg_url, policy, operation) == "ok" and len(calls) == 3
    assert failover.breaker(pg_url, policy).wait_time() == 0


def test_audit_retry_after_a_lost_commit_adds_one_row(pg_url, monkeypatch):
    """The commit landed but the answer was lost: the retry re-sends the same UUID, and no second row."""
    from sqlalchemy.exc import OperationalError

    from include.library_db.store import LibraryStore

    store = LibraryStore(pg_url, FailoverPolicy(retry_interval=0.01))
    real = LibraryStore._insert_audit.__wrapped__
    lost = {"n": 0}

    def lands_then_loses_the_answer(self, *args):
        real(self, *args)
        if not lost["n"]:
            lost["n"] += 1
            raise OperationalError("COMMIT", {}, Exception("connection to server was lost"))

    monkeypatch.setattr(LibraryStore, "_insert_audit", failover.retried(lands_then_loses_the_answer))
    store.audit("run-1", "alice", "deployed", {"version": "v1"})
    assert [e.action for e in store.audit_log("run-1")] == ["deployed"]
