"""Approval levels applied to Airflow's HITL operators, and the count of distinct approvers.

An approval task's settings come from `approvals.levels.<level>` when it starts (a `pre_execute`
hook; the DAG file never reads the configuration): who may answer (`assigned_users`, which Airflow
enforces), and `auto_approve_after` as the HITL response timeout with the default answer "Approve".
N required approvers are N answers from N distinct users; a second answer by the same user does
not count. The promotion DAGs and the migration DAG's two approvals (`LEVEL_OF_TASK`) all ask one
mapped HITL task per required approver (`slots`) and count the answers here (`tally`, `record`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from ..config import ConfigError, PipelineConfig, load_config
from .roles import users_for_roles

log = logging.getLogger(__name__)
APPROVE, REJECT = "Approve", "Reject"


class ApprovalRefused(Exception):
    """Not approved: rejected, or too few distinct approvers (the same answer on every retry)."""


@dataclass(frozen=True)
class LevelSettings:
    level: str
    users: list[str]
    required: int
    timeout: timedelta
    automatic: bool  # the timeout answers "Approve" by itself


def level_settings(
    config: PipelineConfig, level: str, task_key: str | None = None, stage: str | None = None
) -> LevelSettings:
    """The level's settings for one approval task; a migration stage's approval is answered by that
    stage's approvers (workflows.component_migration) when it names any, else by the level's roles."""
    from .stages import approver_roles

    if level not in config.approvals.levels:
        raise ConfigError(f"approvals.levels: no level '{level}' (known: {sorted(config.approvals.levels)})")
    spec = config.approvals.levels[level]
    roles = (approver_roles(config, stage) if stage else []) or spec.roles
    users = users_for_roles(config, roles, task_key) or list(config.approvals.reviewers)
    if spec.auto_approve_after:
        return LevelSettings(
            level, users, spec.required_approvers, timedelta(hours=spec.auto_approve_after), True
        )
    return LevelSettings(
        level, users, spec.required_approvers, timedelta(hours=config.approvals.response_timeout_hours), False
    )


# The migration DAG's approval tasks and the level (approvals.levels) each one follows.
LEVEL_OF_TASK = {
    "migration.review_test_results": "technical_review",
    "deployment.user_acceptance_testing": "quality_review",
}


def migration_level(config: PipelineConfig, task_id: str, dag_id: str) -> LevelSettings:
    """The settings of a migration approval: its level's, answered by its stage's approvers; a
    level missing from the configuration leaves one answer from `approvals.reviewers` (or anyone)
    within `approvals.response_timeout_hours`."""
    from .stages import stage_of_task

    level = LEVEL_OF_TASK.get(task_id)
    if level and level in config.approvals.levels:
        return level_settings(config, level, f"{dag_id}.{task_id}", stage_of_task(task_id))
    timeout = timedelta(hours=config.approvals.response_timeout_hours)
    return LevelSettings(level or task_id, list(config.approvals.reviewers), 1, timeout, False)


def waiting_for(config: PipelineConfig, dag_id: str, task_id: str) -> LevelSettings:
    """The settings (who may answer, how many) of the approval `task_id` of `dag_id`: a migration's
    by its level, a promotion's (`promote_<workflow>`) by promotion.<workflow>.approval_level."""
    if task_id in LEVEL_OF_TASK:
        return migration_level(config, task_id, dag_id)
    flow = config.promotion.get(dag_id.removeprefix("promote_"))
    if flow is None:
        raise ConfigError(f"{dag_id}.{task_id}: no promotion workflow of that name in promotion")
    return level_settings(config, flow.approval_level, f"{dag_id}.{task_id}")


def slots(required: int) -> list[str]:
    """One name per required approver: what the mapped HITL task expands over."""
    return [f"Approver {i + 1} of {required}" for i in range(required)]


def apply_settings(context) -> None:
    """`pre_execute` of a migration approval task (each mapped slot): its level's allowed users,
    timeout and automatic answer, read when it starts because the DAG file never reads the
    configuration."""
    task = context["task"]
    apply_level(task, migration_level(load_config(), task.task_id, task.dag_id))


def apply_level(task, settings: LevelSettings) -> None:
    """Sets a HITL task's timeout, default answer and allowed users from its level."""
    task.response_timeout = settings.timeout
    task.defaults = [APPROVE] if settings.automatic else None
    if settings.users:
        task.assigned_users = [{"id": u, "name": u} for u in settings.users]
    log.info(
        "%s (%s): %d distinct approver(s) from %s, %s after %s",
        task.task_id,
        settings.level,
        settings.required,
        ", ".join(settings.users) or "anyone with access",
        "approved automatically" if settings.automatic else "fails",
        settings.timeout,
    )


@dataclass
class Decision:
    """One answer of an approval task (its HITL XCom), or an automatic approval."""

    user: str | None  # None: Airflow's timeout default answered
    option: str
    at: str
    comment: str = ""

    @property
    def automatic(self) -> bool:
        return self.user is None


@dataclass
class Tally:
    level: str
    required: int
    decisions: list[Decision] = field(default_factory=list)

    @property
    def rejections(self) -> list[Decision]:
        return [d for d in self.decisions if d.option == REJECT]

    @property
    def approvers(self) -> list[str]:
        """Distinct users who approved (an automatic approval counts as the one 'airflow:auto')."""
        seen: list[str] = []
        for d in self.decisions:
            if d.option == APPROVE:
                who = d.user or "airflow:auto"
                if who not in seen:
                    seen.append(who)
        return seen

    @property
    def approved(self) -> bool:
        if self.rejections:
            return False
        if any(d.automatic and d.option == APPROVE for d in self.decisions):
            return True  # the level's auto_approve_after elapsed: the configured answer stands
        return len(self.approvers) >= self.required

    def reason(self) -> str:
        if self.rejections:
            r = self.rejections[0]
            return f"{self.level}: rejected by {r.user}" + (f": {r.comment}" if r.comment else "")
        if not self.approved:
            return (
                f"{self.level}: {len(self.approvers)} distinct approver(s) of {self.required} required "
                f"({', '.join(self.approvers) or 'none'}); a second answer by the same user does not count"
            )
        return f"{self.level}: approved by {', '.join(self.approvers)}"


def decision_from_xcom(answer: dict | None) -> Decision | None:
    """A HITL operator's returned payload as a Decision (None when the task gave none)."""
    if not isinstance(answer, dict) or not answer.get("chosen_options"):
        return None
    who = answer.get("responded_by_user") or {}
    user = who.get("name") or who.get("id") or None
    comment = str((answer.get("params_input") or {}).get("comment") or "")
    return Decision(user, answer["chosen_options"][0], str(answer.get("responded_at")), comment)


def pulled_answers(pulled) -> list:
    """A mapped approval's answers as `xcom_pull` gives them: a single value when only one slot
    pushed one (a one-approver level), else a sequence, None when none did."""
    if pulled is None:
        return []
    if isinstance(pulled, dict):
        return [pulled]
    return list(pulled)


def tally(level: str, required: int, answers) -> Tally:
    """The decisions of `answers` (a list of HITL payloads, or what `xcom_pull` returned)."""
    return Tally(level, required, [d for a in pulled_answers(answers) if (d := decision_from_xcom(a))])


def record(store, run_id: str, result: Tally, task_id: str | None = None) -> None:
    """Every decision (who, when, level, answer, comment, automatic or not) and the outcome with its
    reason, into the library database's audit log. A row already there (the check's retry sees the
    same answers) is not written again; a cleared and re-answered approval's new answers are."""
    where = {"task": task_id} if task_id else {}
    seen = {_row_key(e.actor, e.action, e.detail or {}) for e in store.audit_log(run_id)}
    rows = [
        (
            d.user or "airflow:auto",
            "approval_rejected" if d.option == REJECT else "approval_granted",
            {"level": result.level, "at": d.at, "comment": d.comment, "automatic": d.automatic, **where},
        )
        for d in result.decisions
    ]
    outcome = {"level": result.level, "approved": result.approved, "reason": result.reason(), **where}
    for actor, action, detail in [*rows, ("airflow", "approval_outcome", outcome)]:
        if _row_key(actor, action, detail) in seen:
            log.info("%s: %s %s is recorded already (a retry); not again", run_id, actor, action)
            continue
        store.audit(run_id, actor, action, detail)


def _row_key(actor: str, action: str, detail: dict) -> str:
    import json

    return json.dumps([actor, action, detail], sort_keys=True, default=str)
