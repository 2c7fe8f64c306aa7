"""`workflows.component_migration`: the guide's four stages and who approves each.

The migration DAG's task groups are those stages (preparation is planning, migration is
execution); a stage's approval task is answered by the users of that stage's approver roles.
The notification hook points (stage_complete to the next stage's approvers, workflow_complete to
every participant) ask this module for their recipients.
"""

from __future__ import annotations

from ..config import PipelineConfig
from .roles import users_for_roles

ORDER = ("planning", "execution", "validation", "deployment")
# the full_library_migration task group of each stage
GROUP_OF_STAGE = {
    "planning": "preparation",
    "execution": "migration",
    "validation": "validation",
    "deployment": "deployment",
}
STAGE_OF_GROUP = {group: stage for stage, group in GROUP_OF_STAGE.items()}


def stage_of_task(task_id: str) -> str | None:
    """The stage a migration task belongs to (by its task group), or None outside the stages."""
    return STAGE_OF_GROUP.get(task_id.split(".", 1)[0]) if "." in task_id else None


def approver_roles(config: PipelineConfig, stage: str) -> list[str]:
    spec = next((v for k, v in config.workflows.component_migration.stages.items() if k == stage), None)
    return list(spec.approvers) if spec else []


def approvers(config: PipelineConfig, stage: str) -> list[str]:
    """Users who approve `stage` (empty: the stage names no approvers)."""
    return users_for_roles(config, approver_roles(config, stage))


def next_stage(stage: str) -> str | None:
    i = ORDER.index(stage)
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


def stage_complete_recipients(config: PipelineConfig, stage: str) -> list[str]:
    """Who hears that `stage` is complete: the next stage's approvers."""
    following = next_stage(stage)
    return approvers(config, following) if following else []


def participants(config: PipelineConfig) -> list[str]:
    """Everyone who approves any stage (workflow_complete goes to all of them)."""
    users: list[str] = []
    for stage in ORDER:
        users += [u for u in approvers(config, stage) if u not in users]
    return users
