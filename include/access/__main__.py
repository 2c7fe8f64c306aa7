"""`python -m include.access sync-roles | members ROLE`: the deployment's role step and a lookup.

sync-roles runs once per deployment after `airflow fab-db migrate` (the compose init service), so
the project's roles exist with exactly their permissions before anyone logs in.
"""

from __future__ import annotations

import argparse
import sys


def _sync_roles() -> int:
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    from include.access.roles import sync_roles

    with get_application_builder() as appbuilder:
        changes = sync_roles(appbuilder.sm)
    for role, (added, removed) in changes.items():
        print(f"{role}: {added} permissions added, {removed} removed")
    return 0


def _members(role: str) -> int:
    from include.access.directory import users_with_role

    for name in users_with_role(role):
        print(name)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.access", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sync-roles", help="create the project's FAB roles with exactly their permissions")
    members = commands.add_parser("members", help="print the login names holding a role")
    members.add_argument("role")
    args = parser.parse_args(argv)
    if args.command == "sync-roles":
        return _sync_roles()
    return _members(args.role)


if __name__ == "__main__":
    sys.exit(main())
