"""Who holds a role: the one lookup approvals and task assignment use (`users_with_role`).

With LDAP the directory is the truth: the members of every group mapped to the role, read with
the same bind FAB's login uses, as login names (the `uid_field` FAB turns into Airflow user
names). With the simple auth manager or Azure AD (whose directory needs Graph API rights to list)
the members come from `user_management.role_members`. The role every user gets by default
(`provisioning.default_role`) has no list: it means everyone who can sign in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import cast

from include.access.fab_settings import AccessConfigError
from include.access.roles import FAB_ROLE_NAMES
from include.access.settings import LdapSettings, Role, UserManagement


class DirectoryError(Exception):
    """The directory could not be asked (message names the server and the reason)."""


def users_with_role(
    role: str, users: UserManagement | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Sorted login names of the people holding `role` (a guide role: engineer, qa_engineer, ...)."""
    if role not in FAB_ROLE_NAMES:
        raise ValueError(f"unknown role '{role}' (known: {', '.join(FAB_ROLE_NAMES)})")
    if users is None:
        from include.config import load_config

        users = load_config().user_management
    auth = users.authentication
    if auth.method == "ldap":
        assert auth.ldap is not None  # Authentication's validator requires the section
        return _ldap_members(auth.ldap, role, os.environ if environ is None else environ)
    return sorted(set(users.role_members.get(cast(Role, role), [])))  # a Role: checked above


def _ldap_members(ldap_settings: LdapSettings, role: str, environ: Mapping[str, str]) -> list[str]:
    import ldap
    import ldap.filter

    groups = [group for group, roles in ldap_settings.group_roles.items() if role in roles]
    if not groups:
        return []
    connection = ldap.initialize(ldap_settings.server)
    connection.set_option(ldap.OPT_REFERRALS, 0)
    connection.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    connection.set_option(ldap.OPT_TIMEOUT, 30)
    try:
        if ldap_settings.use_tls:
            connection.start_tls_s()
        if ldap_settings.bind_user:
            password = environ.get(ldap_settings.bind_password_env)
            if not password:
                raise AccessConfigError(
                    f"user_management.authentication: the LDAP bind password is read from "
                    f"${ldap_settings.bind_password_env}, which is not set"
                )
            connection.simple_bind_s(ldap_settings.bind_user, password)
        else:
            connection.simple_bind_s("", "")
        # The users whose group attribute names one of the role's groups: the same attribute and
        # filter FAB's login reads, so the lookup and the login agree on who holds the role.
        member_of = "".join(
            f"({ldap_settings.group_field}={ldap.filter.escape_filter_chars(group)})" for group in groups
        )
        query = f"(&{ldap_settings.user_filter}(|{member_of}))"
        found = connection.search_s(
            ldap_settings.base_dn, ldap.SCOPE_SUBTREE, query, [ldap_settings.uid_field]
        )
    except ldap.LDAPError as exc:
        raise DirectoryError(f"LDAP {ldap_settings.server}: cannot list role '{role}': {exc}") from None
    finally:
        connection.unbind_s()
    names = set()
    for dn, attributes in found:
        if dn is None:  # a referral
            continue
        for value in attributes.get(ldap_settings.uid_field, []):
            names.add(value.decode("utf-8"))
    return sorted(names)
