"""The approval tasks' settings from the configuration, applied when the task runs.

Why at run time: the DAG file must not read the configuration while it is parsed. An approval's
`response_timeout` is only used when the task starts waiting (the operator hands it to Airflow
from `execute`), so a `pre_execute` hook can set it from `approvals.response_timeout_hours`. The
same holds for `assigned_users`, which Airflow uses to refuse answers from anyone else: it comes
from `approvals.reviewers` (empty: anyone with access may answer).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from .config import PipelineConfig, load_config

log = logging.getLogger(__name__)


def response_timeout(config: PipelineConfig) -> timedelta:
    return timedelta(hours=config.approvals.response_timeout_hours)


def assigned_users(config: PipelineConfig) -> list[dict[str, str]] | None:
    """Airflow HITL users (id and name: the Airflow user id) allowed to answer, or None for anyone."""
    return [{"id": user, "name": user} for user in config.approvals.reviewers] or None


# The migration DAG's approval tasks and the level (approvals.levels) each one follows.
LEVEL_OF_TASK = {
    "migration.review_test_results": "technical_review",
    "deployment.user_acceptance_testing": "quality_review",
}


def apply_settings(context) -> None:
    """`pre_execute` of an approval task: its configured level (users from its roles, timeout,
    automatic approval), else the plain response timeout and reviewers."""
    task = context["task"]
    config = load_config()
    level = LEVEL_OF_TASK.get(task.task_id)
    if level and level in config.approvals.levels:
        from .workflow import approvals as levels
        from .workflow.stages import stage_of_task

        key = f"{task.dag_id}.{task.task_id}"
        levels.apply_level(task, levels.level_settings(config, level, key, stage_of_task(task.task_id)))
        return
    task.response_timeout = response_timeout(config)
    reviewers = assigned_users(config)
    if reviewers:
        task.assigned_users = reviewers
    log.info(
        "%s waits at most %s for an answer from %s",
        task.task_id,
        task.response_timeout,
        ", ".join(config.approvals.reviewers) or "anyone with access",
    )
