"""Approvals assigned by login name are answerable by that FAB user (and only by them)."""

from __future__ import annotations

from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager
from airflow.providers.fab.auth_manager.models import User

from include.access.auth_manager import Altium2KicadAuthManager


def test_assigned_by_login_name_or_id():
    manager = Altium2KicadAuthManager()
    erin = User(id=7, username="erin", email="erin@example.com")
    assert manager.is_authorized_hitl_task(assigned_users={"erin", "ed"}, user=erin)
    assert manager.is_authorized_hitl_task(assigned_users={"7"}, user=erin)
    assert not manager.is_authorized_hitl_task(assigned_users={"ed", "8"}, user=erin)
    # FAB alone knows only the row id: the reason for the subclass.
    assert not FabAuthManager().is_authorized_hitl_task(assigned_users={"erin"}, user=erin)
    assert isinstance(manager, FabAuthManager)  # FAB's CLI and login routes accept it
