"""Role -> user lookup: the ONE place that knows where users of a role come from.

With the embedded default (Airflow's simple auth manager) the users of each role are listed in the
configuration (`task_assignment.roles`). A later auth manager (FAB/LDAP) replaces only this module.
"""

from __future__ import annotations

from ..config import PipelineConfig


def users_for_role(config: PipelineConfig, role: str) -> list[str]:
    """Airflow user ids holding `role` (empty: the role has no configured users)."""
    return list(config.task_assignment.roles.get(role, []))


def users_for_roles(config: PipelineConfig, roles: list[str], task_key: str | None = None) -> list[str]:
    """Distinct users of any of `roles`, plus users of roles that `assignment_rules` give `task_key`."""
    wanted = list(roles)
    if task_key:
        wanted += [r for r, tasks in config.task_assignment.assignment_rules.items() if task_key in tasks]
    users: list[str] = []
    for role in wanted:
        for user in users_for_role(config, role):
            if user not in users:
                users.append(user)
    return users
