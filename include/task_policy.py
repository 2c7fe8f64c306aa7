"""How a task of the pipeline fails and how long it may run: the line between retry and stop.

A quality gate that fails, or a configuration that is wrong, gives the same answer on every try:
such a task fails at once (AirflowFailException: Airflow does not retry it). Everything else (a
database that is restarting, an S3 endpoint that is briefly away, a worker that died) is left to
the task's retries. Airflow is imported only inside the functions, so the rest of include/ stays
plain Python.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from .config import ConfigError, load_config
from .operations.monitoring import ThresholdExceeded
from .quality_gates import GateFailed
from .workflow.approvals import ApprovalRefused

log = logging.getLogger(__name__)
T = TypeVar("T")

# Raised when retrying cannot help: a failed gate, a wrong configuration, a missing source, a
# monitored value over its threshold (measured again at the next scheduled check), an approval
# that was refused.
PERMANENT = (GateFailed, ConfigError, FileNotFoundError, ThresholdExceeded, ApprovalRefused)


# Allocations between two young-generation collections while a step runs (CPython's default: 700).
GC_YOUNG_THRESHOLD = 50_000


@contextmanager
def collector_for_bulk_rows() -> Iterator[None]:
    """The cyclic garbage collector tuned for a step that builds 70,000-row lists.

    A task process holds Airflow, Great Expectations and pandas: with CPython's defaults each
    collection walks all of it again, and building a 70,000-part inventory or report triggers
    hundreds of them (a quarter of a big run's CPU time, measured). What is alive when the step
    starts is frozen (never garbage, never walked again) and young collections come every
    GC_YOUNG_THRESHOLD allocations; cycles are still collected, the old threshold is restored."""
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_step(step: Callable[..., T], *args, **kwargs) -> T:
    """Runs one pipeline step; a permanent failure becomes AirflowFailException (no retry)."""
    try:
        with collector_for_bulk_rows():
            return step(*args, **kwargs)
    except PERMANENT as exc:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def execution_timeout(task_id: str) -> timedelta:
    """The configured limit for one task (workflows.execution_timeout_minutes, per task or default)."""
    limits = load_config().workflows.execution_timeout_minutes
    name = task_id.rsplit(".", 1)[-1]
    return timedelta(minutes=limits.get(name, limits["default"]))


def apply_timeout(context) -> None:
    """`pre_execute` of every task: its execution_timeout from the configuration (Airflow reads the
    attribute right after pre_execute, so the parsed DAG's value is only the fallback)."""
    task = context["task"]
    task.execution_timeout = execution_timeout(task.task_id)
    log.info("%s may run for %s", task.task_id, task.execution_timeout)


# our code's loggers (and Airflow's task logger) follow the environment's log level
TASK_LOGGERS = ("include", "converters", "airflow.task")


def apply_log_level(level: str) -> None:
    """Sets the task's loggers to `level` (environments.<env>.log_level) for this task process."""
    for name in TASK_LOGGERS:
        logging.getLogger(name).setLevel(level)


def apply_environment_log_level(context) -> None:
    """`pre_execute` of every migration task: the log level of the run's environment."""
    config = load_config()
    env = (context.get("params") or {}).get("environment") or config.workflows.default_environment
    if env in config.environments:  # an unknown name fails in analyze_source_library, by name
        apply_log_level(config.environments[env].log_level)
