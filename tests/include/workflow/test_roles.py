"""Approval users of a role: the configured lists plus the directory's members (a real slapd)."""

from __future__ import annotations

import pytest

from include.access.settings import UserManagement
from include.config import DEFAULT_CONFIG, load_config
from include.workflow.approvals import level_settings
from include.workflow.roles import users_for_role
from tests import ldap_server

BIND_ENV = "A2K_TEST_ROLES_BIND"


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    if not ldap_server.available():
        pytest.skip("slapd / ldap-utils are not installed (./run setup installs them)")
    with ldap_server.ldap_server(tmp_path_factory.mktemp("slapd")) as server:
        server.add("\n".join(ldap_server.person_ldif(uid, uid + "-pw") for uid in ("erin", "ed", "vic")))
        server.add(ldap_server.group_ldif("kicad-engineers", ["erin", "ed"]))
        server.add(ldap_server.group_ldif("kicad-viewers", ["vic"]))
        yield server


def _ldap_config(server):
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.user_management = UserManagement.model_validate(
        {
            "authentication": {
                "method": "ldap",
                "ldap": {
                    "server": server.url,
                    "base_dn": ldap_server.PEOPLE,
                    "bind_user": server.root_dn,
                    "bind_password_env": BIND_ENV,
                    "group_roles": {
                        f"cn=kicad-engineers,{ldap_server.GROUPS}": ["engineer"],
                        f"cn=kicad-viewers,{ldap_server.GROUPS}": ["viewer"],
                    },
                },
            }
        }
    )
    return config


def test_approval_users_include_the_directory_group(directory, monkeypatch):
    """technical_review (engineer, library_manager): the engineers' LDAP group and the listed manager."""
    monkeypatch.setenv(BIND_ENV, directory.root_password)
    config = _ldap_config(directory)
    config.task_assignment.roles = {"library_manager": ["alice"], "engineer": ["erin"]}
    assert level_settings(config, "technical_review").users == ["erin", "ed", "alice"]
    assert users_for_role(config, "viewer") == ["vic"]


def test_directory_secret_missing_is_an_error_naming_it(directory, monkeypatch):
    from include.access.fab_settings import AccessConfigError

    monkeypatch.delenv(BIND_ENV, raising=False)
    with pytest.raises(AccessConfigError, match=BIND_ENV):
        users_for_role(_ldap_config(directory), "engineer")


def test_without_a_directory_role_members_count():
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.user_management = UserManagement.model_validate({"role_members": {"qa_engineer": ["quinn"]}})
    config.task_assignment.roles = {"qa_engineer": ["c"], "ops": ["olga"]}
    assert users_for_role(config, "qa_engineer") == ["c", "quinn"]
    assert level_settings(config, "quality_review").users == ["c", "quinn"]
    assert users_for_role(config, "ops") == ["olga"]  # not a guide role: the list alone
