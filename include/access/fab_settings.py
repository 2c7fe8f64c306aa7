"""FAB's webserver_config.py settings, computed from `user_management` in our configuration.

deploy/webserver_config.py (the file `[fab] config_file` points at) only calls `fab_settings`, so
LDAP, Azure AD and the role mapping are configured in one place, altium2kicad.yaml, and validated
with the rest of it. Every key of `user_management.authentication` lands in one FAB setting here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from include.access.roles import fab_role_name, fab_role_names
from include.access.settings import LdapSettings, OAuthSettings, UserManagement

# flask_appbuilder.const values, spelled out so computing the settings imports no Flask.
AUTH_DB, AUTH_LDAP, AUTH_OAUTH = 1, 2, 4

AZURE_AUTHORITY = "https://login.microsoftonline.com"


class AccessConfigError(Exception):
    """A secret the access configuration names is not set (the message names the variable)."""


def _secret(environ: Mapping[str, str], name: str, what: str) -> str:
    value = environ.get(name)
    if not value:
        raise AccessConfigError(
            f"user_management.authentication: {what} is read from ${name}, which is not set"
        )
    return value


def _role_mapping(group_roles: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {group: fab_role_names(roles) for group, roles in group_roles.items()}


def ldap_settings(ldap: LdapSettings, environ: Mapping[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "AUTH_TYPE": AUTH_LDAP,
        "AUTH_LDAP_SERVER": ldap.server,
        "AUTH_LDAP_SEARCH": ldap.base_dn,
        "AUTH_LDAP_SEARCH_FILTER": ldap.user_filter,
        "AUTH_LDAP_UID_FIELD": ldap.uid_field,
        "AUTH_LDAP_GROUP_FIELD": ldap.group_field,
        "AUTH_LDAP_USE_TLS": ldap.use_tls,
        "AUTH_LDAP_FIRSTNAME_FIELD": "givenName",
        "AUTH_LDAP_LASTNAME_FIELD": "sn",
        "AUTH_LDAP_EMAIL_FIELD": "mail",
        "AUTH_ROLES_MAPPING": _role_mapping(ldap.group_roles),
    }
    if ldap.bind_user:
        settings["AUTH_LDAP_BIND_USER"] = ldap.bind_user
        settings["AUTH_LDAP_BIND_PASSWORD"] = _secret(
            environ, ldap.bind_password_env, "the LDAP bind password"
        )
    if ldap.ca_cert_file:
        settings["AUTH_LDAP_TLS_CACERTFILE"] = ldap.ca_cert_file
    return settings


def oauth_settings(oauth: OAuthSettings, environ: Mapping[str, str]) -> dict[str, Any]:
    """Azure AD (Entra ID) through FAB's `azure` provider: it validates the id token's signature
    against the tenant's keys and reads the role keys from `role_claim`."""
    tenant = f"{AZURE_AUTHORITY}/{oauth.tenant_id}"
    return {
        "AUTH_TYPE": AUTH_OAUTH,
        "OAUTH_PROVIDERS": [
            {
                "name": "azure",
                "icon": "fa-windows",
                "token_key": "access_token",
                "remote_app": {
                    "client_id": oauth.client_id,
                    "client_secret": _secret(environ, oauth.client_secret_env, "the OAuth client secret"),
                    "api_base_url": f"{tenant}/oauth2",
                    "client_kwargs": {
                        "scope": "openid email profile",
                        "resource": oauth.client_id,
                        "tenant_id": oauth.tenant_id,
                    },
                    "request_token_url": None,
                    "access_token_url": f"{tenant}/oauth2/token",
                    "authorize_url": f"{tenant}/oauth2/authorize",
                },
            }
        ],
        "AUTH_OAUTH_ROLE_KEYS": {"azure": oauth.role_claim},
        "AUTH_ROLES_MAPPING": _role_mapping(oauth.group_roles),
    }


def fab_settings(users: UserManagement, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The webserver_config.py names and values for FAB (AUTH_TYPE, AUTH_LDAP_*, ...)."""
    environ = os.environ if environ is None else environ
    auth = users.authentication
    if auth.method == "ldap":
        assert auth.ldap is not None  # Authentication's validator requires the section
        settings = ldap_settings(auth.ldap, environ)
    elif auth.method == "oauth":
        assert auth.oauth is not None  # Authentication's validator requires the section
        settings = oauth_settings(auth.oauth, environ)
    elif auth.method == "database":  # FAB's own user table: users are added by an admin
        settings = {"AUTH_TYPE": AUTH_DB, "AUTH_ROLES_MAPPING": {}}
    else:
        raise AccessConfigError(
            "user_management.authentication.method: 'simple' is Airflow's simple auth manager; "
            "the FAB auth manager needs 'database', 'ldap' or 'oauth'"
        )
    settings.update(
        AUTH_ROLE_ADMIN=fab_role_name("admin"),
        # Everyone the directory accepts gets an Airflow user on first login, with the default role
        # plus the roles of their groups.
        AUTH_USER_REGISTRATION=auth.method in ("ldap", "oauth"),
        AUTH_USER_REGISTRATION_ROLE=fab_role_name(users.provisioning.default_role),
        AUTH_ROLES_SYNC_AT_LOGIN=users.provisioning.sync_roles_at_login,
        WTF_CSRF_ENABLED=True,
    )
    return settings
