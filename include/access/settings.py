"""`user_management` in the configuration: who may sign in, and which role each person gets.

Pydantic sections like the rest of include/config.py (which embeds `UserManagement`). Secrets are
never in the file: the LDAP bind password and the OAuth client secret come from environment
variables named here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The guide's roles. admin/engineer/viewer are the access levels; the others are the workflow
# roles approvals and assignments name (include/access/roles.py gives each its permissions).
Role = Literal[
    "admin",
    "engineer",
    "viewer",
    "library_manager",
    "project_manager",
    "qa_engineer",
    "release_manager",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LdapSettings(_Section):
    server: str  # ldap://host:389 or ldaps://host:636
    base_dn: str  # where users are searched
    user_filter: str = "(objectClass=inetOrgPerson)"
    uid_field: str = "uid"  # the login name attribute (sAMAccountName on Active Directory)
    bind_user: str | None = None  # a service account DN; none: anonymous search
    bind_password_env: str = "ALTIUM2KICAD_LDAP_BIND_PASSWORD"
    group_field: str = "memberOf"  # the user attribute listing the user's group DNs
    use_tls: bool = False  # StartTLS on an ldap:// server
    ca_cert_file: str | None = None
    group_roles: dict[str, list[Role]] = {}  # group DN -> roles

    @model_validator(mode="after")
    def _url(self) -> LdapSettings:
        if not self.server.startswith(("ldap://", "ldaps://")):
            raise ValueError("server must be an ldap:// or ldaps:// URL")
        if not (self.user_filter.startswith("(") and self.user_filter.endswith(")")):
            raise ValueError("user_filter must be an LDAP filter in parentheses, e.g. (objectClass=person)")
        return self


class OAuthSettings(_Section):
    provider: Literal["azure"] = "azure"
    tenant_id: str  # the directory (tenant) id of the Azure AD / Entra ID app registration
    client_id: str  # application (client) id: not a secret
    client_secret_env: str = "ALTIUM2KICAD_OAUTH_CLIENT_SECRET"
    role_claim: Literal["roles", "groups"] = "roles"  # app roles, or group object ids, in the id token
    group_roles: dict[str, list[Role]] = {}  # app role value (or group object id) -> roles


class Authentication(_Section):
    # simple: Airflow's simple auth manager (the embedded default, development only);
    # database / ldap / oauth: the FAB auth manager (deploy/webserver_config.py) with users in its
    # own table, in an LDAP directory, or signed in by Azure AD.
    method: Literal["simple", "database", "ldap", "oauth"] = "simple"
    ldap: LdapSettings | None = None
    oauth: OAuthSettings | None = None

    @model_validator(mode="after")
    def _method_configured(self) -> Authentication:
        if self.method == "ldap" and self.ldap is None:
            raise ValueError("method 'ldap' needs an 'ldap' section (server, base_dn, ...)")
        if self.method == "oauth" and self.oauth is None:
            raise ValueError("method 'oauth' needs an 'oauth' section (tenant_id, client_id, ...)")
        return self


class Provisioning(_Section):
    default_role: Role = "viewer"  # given to everyone who signs in, whatever their groups
    sync_roles_at_login: bool = True  # re-read group membership at every login


class UserManagement(_Section):
    authentication: Authentication = Authentication()
    provisioning: Provisioning = Provisioning()
    # Members of each role for the simple auth manager (no directory to ask); with LDAP the groups
    # in group_roles are read instead.
    role_members: dict[Role, list[str]] = Field(default_factory=dict)
