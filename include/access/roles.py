"""The guide's roles as Airflow (FAB) roles, each with exactly the permissions it needs.

Why these sets: viewers read DAGs, runs, logs, approvals and the reports (the report plugin asks
for read access to the run); engineers also trigger and re-run migrations and answer approvals
(Airflow itself then refuses an answer from someone not among the approval's assigned users);
admins manage users. `admin` and `viewer` are FAB's own `Admin` and `Viewer` roles (FAB keeps
them complete on every start, and a second role differing only in letter case would clash on
case-insensitive databases); the other roles are created and kept in sync by `sync_roles`.
"""

from __future__ import annotations

from collections.abc import Iterable

# FAB permission names (airflow.providers.fab.www.security.permissions), spelled out so that
# this module imports nothing heavy.
CAN_READ, CAN_EDIT, CAN_CREATE, CAN_ACCESS_MENU = "can_read", "can_edit", "can_create", "menu_access"

READ = [
    (CAN_READ, resource)
    for resource in (
        "DAGs",
        "DAG Runs",
        "DAG Code",
        "DAG Dependencies",
        "DAG Versions",
        "DAG Warnings",
        "Task Instances",
        "Task Logs",
        "XComs",
        "HITL Detail",
        "Assets",
        "ImportError",
        "Jobs",
        "Website",
        "My Profile",
        "My Password",
    )
] + [(CAN_EDIT, "My Profile"), (CAN_EDIT, "My Password")]
READ += [
    (CAN_ACCESS_MENU, menu) for menu in ("Browse", "DAGs", "DAG Runs", "Task Instances", "Assets", "Docs")
]

# Answering a human-in-the-loop task (an approval).
ANSWER_APPROVALS = [(CAN_EDIT, "HITL Detail")]

# Triggering a migration: FAB asks for edit on the DAG and create on its runs; clearing and
# marking task instances is how a failed library is re-run.
RUN_MIGRATIONS = [
    (CAN_EDIT, "DAGs"),
    (CAN_CREATE, "DAG Runs"),
    (CAN_EDIT, "DAG Runs"),
    (CAN_CREATE, "Task Instances"),
    (CAN_EDIT, "Task Instances"),
]

# FAB role names of the guide's roles (admin and viewer are FAB's built-in roles).
FAB_ROLE_NAMES = {
    "admin": "Admin",
    "viewer": "Viewer",
    "engineer": "engineer",
    "library_manager": "library_manager",
    "project_manager": "project_manager",
    "qa_engineer": "qa_engineer",
    "release_manager": "release_manager",
}

# The permissions of the roles this project owns (FAB owns Admin and Viewer).
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    "engineer": READ + ANSWER_APPROVALS + RUN_MIGRATIONS,
    "library_manager": READ + ANSWER_APPROVALS + RUN_MIGRATIONS,
    "project_manager": READ + ANSWER_APPROVALS + RUN_MIGRATIONS,
    "release_manager": READ + ANSWER_APPROVALS + RUN_MIGRATIONS,
    "qa_engineer": READ + ANSWER_APPROVALS,
}


def fab_role_name(role: str) -> str:
    """The FAB role a guide role is stored as (`admin` -> `Admin`)."""
    try:
        return FAB_ROLE_NAMES[role]
    except KeyError:
        raise ValueError(f"unknown role '{role}' (known: {', '.join(FAB_ROLE_NAMES)})") from None


def fab_role_names(roles: Iterable[str]) -> list[str]:
    return sorted({fab_role_name(role) for role in roles})


def sync_roles(security_manager) -> dict[str, tuple[int, int]]:
    """Create the project's roles and set their permissions to exactly ROLE_PERMISSIONS.

    Runs FAB's own sync first (built-in roles, permissions of every resource); unlike FAB's
    `[fab] custom_roles` (created once, never updated) a permission taken out here is revoked.
    Returns role -> (permissions added, permissions removed).
    """
    security_manager.sync_roles()
    changes: dict[str, tuple[int, int]] = {}
    for role_name, wanted in ROLE_PERMISSIONS.items():
        role = security_manager.find_role(role_name) or security_manager.add_role(role_name)
        wanted_set = set(wanted)
        held = {(p.action.name, p.resource.name): p for p in role.permissions}
        added = removed = 0
        for action, resource in sorted(wanted_set - held.keys()):
            permission = security_manager.get_permission(
                action, resource
            ) or security_manager.create_permission(action, resource)
            security_manager.add_permission_to_role(role, permission)
            added += 1
        for key in sorted(held.keys() - wanted_set):
            security_manager.remove_permission_from_role(role, held[key])
            removed += 1
        changes[role_name] = (added, removed)
    return changes
