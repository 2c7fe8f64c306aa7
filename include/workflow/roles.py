"""Role -> user lookup for approvals and task assignment.

Users of a role are those listed under `task_assignment.roles`, plus, for the guide's roles, those
`include.access.directory.users_with_role` finds: with LDAP the members of the groups mapped to the
role (so a person added to the directory's engineers group can answer engineers' approvals without a
configuration change), otherwise `user_management.role_members`.
"""

from __future__ import annotations

from ..config import PipelineConfig


def users_for_role(config: PipelineConfig, role: str) -> list[str]:
    """Login names holding `role` (empty: the role has no known users)."""
    from ..access.directory import users_with_role
    from ..access.roles import FAB_ROLE_NAMES

    users = list(config.task_assignment.roles.get(role, []))
    if role in FAB_ROLE_NAMES:
        users += [u for u in users_with_role(role, config.user_management) if u not in users]
    return users


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
