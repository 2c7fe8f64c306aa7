"""users_with_role: the members of a role's LDAP groups (a real slapd), or the configured lists."""

from __future__ import annotations

import pytest

from include.access.directory import DirectoryError, users_with_role
from include.access.fab_settings import AccessConfigError
from include.access.settings import UserManagement
from tests import ldap_server


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    if not ldap_server.available():
        pytest.skip("slapd / ldap-utils are not installed (./run setup installs them)")
    with ldap_server.ldap_server(tmp_path_factory.mktemp("slapd")) as server:
        people = ["erin", "ed", "quinn", "vic", "uma"]
        server.add("\n".join(ldap_server.person_ldif(uid, uid + "-pw") for uid in people))
        server.add(ldap_server.group_ldif("kicad-engineers", ["erin", "ed"]))
        server.add(ldap_server.group_ldif("kicad-qa", ["quinn", "ed"]))
        server.add(ldap_server.group_ldif("kicad-viewers", ["vic"]))
        yield server


def _ldap_users(server, bind_user: str | None = None, **changes) -> UserManagement:
    groups = ldap_server.GROUPS
    ldap = {
        "server": server.url,
        "base_dn": ldap_server.PEOPLE,
        "bind_user": bind_user,
        "bind_password_env": "TEST_BIND",
        "group_roles": {
            f"cn=kicad-engineers,{groups}": ["engineer"],
            f"cn=kicad-qa,{groups}": ["qa_engineer", "engineer"],
            f"cn=kicad-viewers,{groups}": ["viewer"],
        },
        **changes,
    }
    return UserManagement.model_validate({"authentication": {"method": "ldap", "ldap": ldap}})


def test_members_of_every_group_mapped_to_the_role(directory):
    users = _ldap_users(directory, bind_user=directory.root_dn)
    env = {"TEST_BIND": directory.root_password}
    assert users_with_role("engineer", users, env) == ["ed", "erin", "quinn"]
    assert users_with_role("qa_engineer", users, env) == ["ed", "quinn"]
    assert users_with_role("viewer", users, env) == ["vic"]
    assert users_with_role("release_manager", users, env) == []  # no group mapped
    # Anonymous search (no bind user) reads the same directory.
    assert users_with_role("qa_engineer", _ldap_users(directory), {}) == ["ed", "quinn"]


def test_directory_errors_name_the_server(directory):
    users = _ldap_users(directory, bind_user=directory.root_dn)
    with pytest.raises(AccessConfigError, match=r"\$TEST_BIND"):
        users_with_role("engineer", users, {})
    with pytest.raises(DirectoryError, match=f"LDAP {directory.url}: cannot list role 'engineer'"):
        users_with_role("engineer", users, {"TEST_BIND": "wrong"})
    with pytest.raises(ValueError, match="unknown role"):
        users_with_role("boss", users, {})


def test_members_from_the_configuration_without_a_directory():
    users = UserManagement.model_validate({"role_members": {"qa_engineer": ["quinn", "ed", "quinn"]}})
    assert users_with_role("qa_engineer", users) == ["ed", "quinn"]
    assert users_with_role("engineer", users) == []
