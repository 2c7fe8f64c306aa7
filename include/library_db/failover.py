"""Surviving a database failover: retry idempotent operations, and stop hammering a dead server.

The guide's `connection_failover` (retry_interval 5 s, max_retries 10, circuit_breaker) and
`failover_timeout` (60 s), for every library-database operation. With PostgreSQL behind a cluster
manager (Patroni, pg_auto_failover) the URL names every node in libpq's multi-host form,
`postgresql+psycopg2://user@/db?host=node1:5432&host=node2:5432&target_session_attrs=read-write`,
so a new connection reaches whichever node is the primary now; pooled connections to the old one
are dropped (`pool_pre_ping`, and the pool is disposed after a failure).

An operation is retried as a whole, in a new transaction, so it must be idempotent: the library
store's writes are upserts on natural keys, and audit rows carry a UUID chosen before the first
attempt. The breaker opens after `failure_threshold` failures in a row: calls then wait for
`reset_timeout` (no connection attempts) before one probe is let through.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs of a server that is going away, starting, or no longer the primary
TRANSIENT_SQLSTATES = {"25006", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"}


class DatabaseUnavailable(Exception):
    """The database did not come back within the failover policy (names it, the attempts, the reason)."""


@dataclass(frozen=True)
class FailoverPolicy:
    retry_interval: float = 5.0  # seconds between attempts
    max_retries: int = 10
    failure_threshold: int = 5  # failures in a row that open the breaker
    reset_timeout: float = 30.0  # seconds the breaker stays open before one probe
    failover_timeout: float = 60.0  # an operation gives up after this long in all


@dataclass
class CircuitBreaker:
    """closed -> (threshold failures) -> open -> (reset_timeout) -> half-open -> success: closed."""

    policy: FailoverPolicy
    failures: int = 0
    opened_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_time(self) -> float:
        """Seconds to wait before the next attempt may connect (0: go ahead)."""
        with self.lock:
            if self.opened_at is None:
                return 0.0
            return max(0.0, self.opened_at + self.policy.reset_timeout - time.monotonic())

    def success(self) -> None:
        with self.lock:
            if self.opened_at is not None:
                log.info("library database: circuit closed again")
            self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        with self.lock:
            self.failures += 1
            if self.failures >= self.policy.failure_threshold:
                if self.opened_at is None:
                    log.warning(
                        "library database: %d failures in a row, circuit open for %.0f s",
                        self.failures,
                        self.policy.reset_timeout,
                    )
                self.opened_at = time.monotonic()


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker(url: str, policy: FailoverPolicy) -> CircuitBreaker:
    with _breakers_lock:
        found = _breakers.get(url)
        if found is None or found.policy != policy:
            found = _breakers[url] = CircuitBreaker(policy)
        return found


def is_transient(exc: BaseException) -> bool:
    """A lost or refused connection, a server shutting down or starting, a read-only (demoted) node."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = getattr(getattr(exc, "orig", None), "pgcode", None)
    if code in TRANSIENT_SQLSTATES:
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        text = str(exc).lower()
        return not any(word in text for word in ("password authentication", "does not exist", "syntax"))
    return False


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def call(url: str, policy: FailoverPolicy, operation: Callable[[], T], what: str = "operation") -> T:
    """Runs `operation`, retrying transient failures under `policy`; raises DatabaseUnavailable."""
    from include.library_db.database import dispose

    guard = breaker(url, policy)
    started = time.monotonic()
    deadline = started + policy.failover_timeout
    attempt = 0
    while True:
        pause = guard.wait_time()
        if pause:
            if time.monotonic() + pause > deadline:
                raise DatabaseUnavailable(
                    f"{_shown(url)}: {what}: circuit open and the failover timeout "
                    f"({policy.failover_timeout:.0f} s) would pass while waiting"
                )
            time.sleep(pause)
        try:
            result = operation()
        except Exception as exc:
            if not is_transient(exc):
                raise
            guard.failure()
            attempt += 1
            dispose(url)  # pooled connections may all point at the old primary
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            elapsed = time.monotonic() - started
            if attempt > policy.max_retries or elapsed + policy.retry_interval > policy.failover_timeout:
                raise DatabaseUnavailable(
                    f"{_shown(url)}: {what} failed {attempt} times over {elapsed:.0f} s: {reason}"
                ) from exc
            log.warning(
                "library database %s: %s failed (%s); attempt %d of %d in %.1f s",
                _shown(url),
                what,
                reason,
                attempt + 1,
                policy.max_retries + 1,
                policy.retry_interval,
            )
            time.sleep(policy.retry_interval)
            continue
        guard.success()
        if attempt:
            log.info("library database: %s succeeded after %.1f s", what, time.monotonic() - started)
        return result


def _materialized(value: Any) -> Any:
    """An iterator argument becomes a list, so a retry sees the same rows again."""
    if isinstance(value, Iterator):
        return list(value)
    return value


def retried(method: Callable[..., T]) -> Callable[..., T]:
    """A LibraryStore method run under the store's failover policy (the method must be idempotent)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        args = tuple(_materialized(a) for a in args)
        kwargs = {k: _materialized(v) for k, v in kwargs.items()}
        return call(self.url, self.failover, lambda: method(self, *args, **kwargs), method.__name__)

    return wrapper
