"""webserver_config.py settings computed from `user_management`: every key lands in FAB's name."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from include.access.fab_settings import AUTH_DB, AUTH_LDAP, AUTH_OAUTH, AccessConfigError, fab_settings
from include.access.settings import UserManagement
from include.config import ConfigError, parse_config

REPO = Path(__file__).resolve().parents[3]
LDAP = {
    "server": "ldaps://ldap.example.internal:636",
    "base_dn": "ou=people,dc=example,dc=com",
    "user_filter": "(objectClass=person)",
    "uid_field": "sAMAccountName",
    "bind_user": "cn=airflow,dc=example,dc=com",
    "bind_password_env": "TEST_LDAP_BIND",
    "group_field": "memberOf",
    "use_tls": False,
    "ca_cert_file": "/etc/ssl/ldap-ca.pem",
    "group_roles": {"cn=eng,dc=example,dc=com": ["engineer", "qa_engineer"], "cn=ops": ["admin"]},
}


def _users(**authentication) -> UserManagement:
    return UserManagement.model_validate(
        {"authentication": authentication, "provisioning": {"default_role": "viewer"}}
    )


def test_ldap_settings():
    settings = fab_settings(_users(method="ldap", ldap=LDAP), {"TEST_LDAP_BIND": "s3cret"})
    assert settings["AUTH_TYPE"] == AUTH_LDAP
    assert settings["AUTH_LDAP_SERVER"] == "ldaps://ldap.example.internal:636"
    assert settings["AUTH_LDAP_SEARCH"] == "ou=people,dc=example,dc=com"
    assert settings["AUTH_LDAP_SEARCH_FILTER"] == "(objectClass=person)"
    assert settings["AUTH_LDAP_UID_FIELD"] == "sAMAccountName"
    assert settings["AUTH_LDAP_BIND_USER"] == "cn=airflow,dc=example,dc=com"
    assert settings["AUTH_LDAP_BIND_PASSWORD"] == "s3cret"
    assert settings["AUTH_LDAP_GROUP_FIELD"] == "memberOf"
    assert settings["AUTH_LDAP_TLS_CACERTFILE"] == "/etc/ssl/ldap-ca.pem"
    assert settings["AUTH_ROLES_MAPPING"] == {
        "cn=eng,dc=example,dc=com": ["engineer", "qa_engineer"],
        "cn=ops": ["Admin"],  # the guide's admin is FAB's Admin role
    }
    assert settings["AUTH_USER_REGISTRATION"] is True
    assert settings["AUTH_USER_REGISTRATION_ROLE"] == "Viewer"
    assert settings["AUTH_ROLES_SYNC_AT_LOGIN"] is True
    assert settings["AUTH_ROLE_ADMIN"] == "Admin"


def test_missing_bind_password_names_the_variable():
    with pytest.raises(AccessConfigError, match=r"\$TEST_LDAP_BIND, which is not set"):
        fab_settings(_users(method="ldap", ldap=LDAP), {})


def test_azure_ad_settings():
    oauth = {
        "tenant_id": "tenant-1",
        "client_id": "client-1",
        "client_secret_env": "TEST_OAUTH_SECRET",
        "role_claim": "groups",
        "group_roles": {"0f1e-group": ["release_manager"]},
    }
    settings = fab_settings(_users(method="oauth", oauth=oauth), {"TEST_OAUTH_SECRET": "xyz"})
    assert settings["AUTH_TYPE"] == AUTH_OAUTH
    (provider,) = settings["OAUTH_PROVIDERS"]
    assert provider["name"] == "azure"
    app = provider["remote_app"]
    assert app["client_id"] == "client-1" and app["client_secret"] == "xyz"
    assert app["client_kwargs"]["tenant_id"] == "tenant-1"
    assert app["access_token_url"] == "https://login.microsoftonline.com/tenant-1/oauth2/token"
    assert app["authorize_url"] == "https://login.microsoftonline.com/tenant-1/oauth2/authorize"
    assert settings["AUTH_OAUTH_ROLE_KEYS"] == {"azure": "groups"}
    assert settings["AUTH_ROLES_MAPPING"] == {"0f1e-group": ["release_manager"]}
    with pytest.raises(AccessConfigError, match="TEST_OAUTH_SECRET"):
        fab_settings(_users(method="oauth", oauth=oauth), {})


def test_database_and_simple():
    settings = fab_settings(_users(method="database"), {})
    assert settings["AUTH_TYPE"] == AUTH_DB and settings["AUTH_USER_REGISTRATION"] is False
    with pytest.raises(AccessConfigError, match="simple auth manager"):
        fab_settings(_users(method="simple"), {})


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"authentication": {"method": "ldap"}}, "needs an 'ldap' section"),
        ({"authentication": {"method": "ldap", "ldap": {**LDAP, "server": "ldap.example"}}}, "ldap://"),
        ({"authentication": {"method": "ldap", "ldap": {**LDAP, "user_filter": "uid=*"}}}, "parentheses"),
        (
            {"authentication": {"method": "ldap", "ldap": {**LDAP, "group_roles": {"cn=x": ["boss"]}}}},
            "group_roles.cn=x.0: Input should be .admin.",
        ),
        ({"provisioning": {"default_role": "guest"}}, "default_role"),
        ({"authentication": {"method": "kerberos"}}, "method"),
    ],
)
def test_bad_access_configuration_names_the_key(section, message):
    text = (REPO / "config" / "altium2kicad.yaml").read_text()
    import yaml

    data = yaml.safe_load(text)
    data["user_management"] = section
    with pytest.raises(ConfigError, match=message) as error:
        parse_config(yaml.safe_dump(data), Path("test.yaml"))
    assert "user_management" in str(error.value)


def test_webserver_config_file_reads_the_pipeline_configuration(tmp_path, monkeypatch):
    import yaml

    data = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    data["user_management"] = {"authentication": {"method": "ldap", "ldap": LDAP}}
    path = tmp_path / "altium2kicad.yaml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))
    monkeypatch.setenv("TEST_LDAP_BIND", "pw")
    names = runpy.run_path(str(REPO / "deploy" / "webserver_config.py"))
    assert names["AUTH_TYPE"] == AUTH_LDAP
    assert names["AUTH_LDAP_SERVER"] == LDAP["server"]
    assert names["AUTH_ROLES_MAPPING"]["cn=ops"] == ["Admin"]
