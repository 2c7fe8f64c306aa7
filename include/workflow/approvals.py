"""Approval levels applied to Airflow's HITL operators, and the count of distinct approvers.

An approval task's settings come from `approvals.levels.<level>` when it starts (a `pre_execute`
hook; the DAG file never reads the configuration): who may answer (`assigned_users`, which Airflow
enforces), and `auto_approve_after` as the HITL response timeout with the default answer "Approve".
N required approvers are N answers from N distinct users; a second answer by the same user does
not count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from ..config import ConfigError, PipelineConfig
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


def tally(level: str, required: int, answers: list[dict | None]) -> Tally:
    return Tally(level, required, [d for a in answers if (d := decision_from_xcom(a))])
