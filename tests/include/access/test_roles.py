"""The guide's roles: real FAB permission names, and the promised differences between roles."""

from __future__ import annotations

import pytest

from include.access.roles import (
    ANSWER_APPROVALS,
    FAB_ROLE_NAMES,
    ROLE_PERMISSIONS,
    RUN_MIGRATIONS,
    fab_role_name,
)
from include.access.settings import Role


def test_every_permission_is_one_fab_knows():
    from airflow.providers.fab.www.security import permissions

    actions = {v for k, v in vars(permissions).items() if k.startswith("ACTION_")}
    resources = {v for k, v in vars(permissions).items() if k.startswith("RESOURCE_") and isinstance(v, str)}
    for role, perms in ROLE_PERMISSIONS.items():
        for action, resource in perms:
            assert action in actions, (role, action)
            assert resource in resources, (role, resource)


def test_every_guide_role_has_a_fab_role():
    assert set(FAB_ROLE_NAMES) == set(Role.__args__)
    owned_by_fab = {"admin", "viewer"}
    assert set(ROLE_PERMISSIONS) == {FAB_ROLE_NAMES[r] for r in FAB_ROLE_NAMES if r not in owned_by_fab}
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        fab_role_name("boss")


def test_who_may_do_what():
    engineer = set(ROLE_PERMISSIONS["engineer"])
    assert set(RUN_MIGRATIONS) <= engineer and set(ANSWER_APPROVALS) <= engineer
    qa = set(ROLE_PERMISSIONS["qa_engineer"])
    assert set(ANSWER_APPROVALS) <= qa and not set(RUN_MIGRATIONS) & qa
    for perms in ROLE_PERMISSIONS.values():  # user management stays with admins
        assert not {resource for _, resource in perms} & {"Users", "Roles", "Passwords"}
