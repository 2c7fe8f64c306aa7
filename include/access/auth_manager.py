"""The production auth manager: FAB's, with approvals assignable by login name.

Why a subclass: Airflow checks an approval's `assigned_users` against `user.get_id()`, which for
FAB is the numeric row id of the user, known only after that person's first login. Approvals are
assigned from `users_with_role` (login names, straight from the directory), so a user also matches
by login name. Everything else is FAB's own.
"""

from __future__ import annotations

from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager


class Altium2KicadAuthManager(FabAuthManager):
    def is_authorized_hitl_task(self, *, assigned_users: set[str], user) -> bool:
        return user.get_id() in assigned_users or user.get_name() in assigned_users
