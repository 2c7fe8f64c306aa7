"""The approval tasks' settings from the configuration, applied when the task runs.

Why at run time: the DAG file must not read the configuration while it is parsed. An approval's
`response_timeout` is only used when the task starts waiting (the operator hands it to Airflow
from `execute`), so a `pre_execute` hook can set it from `approvals.response_timeout_hours`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from .config import PipelineConfig, load_config

log = logging.getLogger(__name__)


def response_timeout(config: PipelineConfig) -> timedelta:
    return timedelta(hours=config.approvals.response_timeout_hours)


def apply_settings(context) -> None:
    """`pre_execute` of an approval task: its response timeout from the configuration."""
    task = context["task"]
    task.response_timeout = response_timeout(load_config())
    log.info("%s waits at most %s for an answer (approvals.response_timeout_hours)", task.task_id,
             task.response_timeout)
