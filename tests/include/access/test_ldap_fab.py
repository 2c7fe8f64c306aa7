"""The production auth manager end to end: FAB with LDAP on a real api-server and a real slapd.

Everything is real and local: Debian's slapd (own temporary config, free loopback port) holds an
engineer, a viewer and a person in no group; Airflow's metadata database is a scratch database on
the PostgreSQL at 127.0.0.1:5432; the api-server runs the project's auth manager (FAB's, see
include/access/auth_manager.py) configured only by
deploy/webserver_config.py from a pipeline configuration with `user_management.authentication:
ldap`. People log in through FAB's token endpoint with their directory passwords.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from include.airflow_api import start_api_server
from tests import ldap_server
from tests.scratch_databases import PG_SERVER, create_database, drop_database

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]
AIRFLOW = [sys.executable, "-m", "airflow"]
DAG_ID = "full_library_migration"
PASSWORDS = {"erin": "erin-" + uuid.uuid4().hex[:8], "vic": "vic-" + uuid.uuid4().hex[:8]}
PASSWORDS["uma"] = "uma-" + uuid.uuid4().hex[:8]
BIND_PASSWORD_ENV = "ALTIUM2KICAD_LDAP_BIND_PASSWORD"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    """(HTTP status, decoded JSON or text) of one request; never raises for an HTTP error."""
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _login(base: str, username: str, password: str) -> str:
    status, answer = _call(base, "POST", "/auth/token", body={"username": username, "password": password})
    assert status == 201, f"login of {username}: HTTP {status}: {answer}"
    return answer["access_token"]


def _run(command: list[str], env: dict, timeout: float = 600) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert done.returncode == 0, (
        f"{' '.join(command[2:])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    if not ldap_server.available():
        pytest.skip("slapd / ldap-utils are not installed (./run setup installs them)")
    with ldap_server.ldap_server(tmp_path_factory.mktemp("slapd")) as server:
        server.add("\n".join(ldap_server.person_ldif(uid, pw) for uid, pw in PASSWORDS.items()))
        server.add(ldap_server.group_ldif("kicad-engineers", ["erin"]))
        server.add(ldap_server.group_ldif("kicad-viewers", ["vic"]))
        yield server


def _user_management(server: ldap_server.LdapServer) -> dict:
    return {
        "authentication": {
            "method": "ldap",
            "ldap": {
                "server": server.url,
                "base_dn": ldap_server.PEOPLE,
                "user_filter": "(objectClass=inetOrgPerson)",
                "uid_field": "uid",
                "bind_user": server.root_dn,
                "bind_password_env": BIND_PASSWORD_ENV,
                "group_roles": {
                    f"cn=kicad-engineers,{ldap_server.GROUPS}": ["engineer"],
                    f"cn=kicad-viewers,{ldap_server.GROUPS}": ["viewer"],
                },
            },
        },
        "provisioning": {"default_role": "viewer"},
    }


@pytest.fixture(scope="module")
def fab_api(directory, tmp_path_factory):
    """A migrated scratch metadata DB, the project's roles synced, the DAG serialized, and an
    api-server with the FAB auth manager on a free port; yields (base URL, env, report dir)."""
    home = tmp_path_factory.mktemp("fab-airflow")
    config = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    config["user_management"] = _user_management(directory)
    config_path = home / "altium2kicad.yaml"
    config_path.write_text(yaml.safe_dump(config))
    metadata_db = f"a2k_fab_{uuid.uuid4().hex[:10]}"
    try:
        create_database("postgresql", metadata_db)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(
        PYTHONPATH=str(REPO),
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__AUTH_MANAGER="include.access.auth_manager.Altium2KicadAuthManager",
        AIRFLOW__FAB__CONFIG_FILE=str(REPO / "deploy" / "webserver_config.py"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"{PG_SERVER}/{metadata_db}",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__API_AUTH__JWT_SECRET="fab-ldap-test-" + uuid.uuid4().hex * 2,
        AIRFLOW__API__SECRET_KEY=uuid.uuid4().hex,
        AIRFLOW__API__BASE_URL=base,
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        ALTIUM2KICAD_CONFIG=str(config_path),
        ALTIUM2KICAD_HOME=str(home / "project"),
        GX_ANALYTICS_ENABLED="False",
    )
    env[BIND_PASSWORD_ENV] = directory.root_password
    server = None
    log_path = home / "api-server.log"
    try:
        _run(AIRFLOW + ["db", "migrate"], env)
        _run(AIRFLOW + ["fab-db", "migrate"], env)
        synced = _run([sys.executable, "-m", "include.access", "sync-roles"], env)
        assert "engineer:" in synced, synced
        # A permission granted by hand (UI or CLI) is taken back by the next sync.
        _run(AIRFLOW + ["roles", "add-perms", "engineer", "-r", "Users", "-a", "can_read"], env)
        resynced = _run([sys.executable, "-m", "include.access", "sync-roles"], env)
        assert "engineer: 0 permissions added, 1 removed" in resynced, resynced
        _run(AIRFLOW + ["dags", "reserialize"], env)
        # Someone who can sign in (FAB's own user table) but whose role grants nothing.
        _run(
            AIRFLOW
            + ["users", "create", "--role", "Public", "--username", "outsider", "--password", "outsider-pw"]
            + ["--email", "outsider@example.com", "--firstname", "Out", "--lastname", "Sider"],
            env,
        )
        with log_path.open("w") as log:
            server = start_api_server(port, log, env=env, cwd=REPO)
        deadline = time.monotonic() + 180
        while not (_up(port) and _call(base, "GET", "/api/v2/monitor/health")[0] == 200):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"api-server did not start within 180 s:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.5)
        yield base, env, home / "project" / "var" / "altium2kicad" / "reports"
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
        drop_database("postgresql", metadata_db)


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _roles_of(env: dict) -> dict[str, set[str]]:
    output = _run(AIRFLOW + ["users", "list", "--output", "json"], env, timeout=120)
    # Airflow may log warnings to stdout before the JSON list.
    users = json.loads(output[output.index("\n[") + 1 :] if not output.startswith("[") else output)
    return {u["username"]: set(u["roles"]) for u in users}


def test_ldap_sign_in_roles_and_report_access(fab_api):
    """One test, so that parallel workers (-n 2) never start a second slapd and api-server."""
    _check_roles_and_triggers(*fab_api)
    _check_reports_need_a_reader_of_the_run(*fab_api)


def _check_roles_and_triggers(base: str, env: dict, report_dir: Path) -> None:
    erin = _login(base, "erin", PASSWORDS["erin"])
    vic = _login(base, "vic", PASSWORDS["vic"])
    uma = _login(base, "uma", PASSWORDS["uma"])
    status, answer = _call(base, "POST", "/auth/token", body={"username": "erin", "password": "wrong"})
    assert status == 401, answer

    trigger = {"logical_date": None, "conf": {"source": "/data/altium-libraries"}}
    path = f"/api/v2/dags/{DAG_ID}/dagRuns"
    status, answer = _call(base, "POST", path, erin, trigger)
    assert status == 200, answer
    assert answer["dag_id"] == DAG_ID and answer["state"] == "queued"
    assert _call(base, "POST", path, vic, trigger)[0] == 403
    assert _call(base, "POST", path, uma, trigger)[0] == 403
    # All three read the DAG's runs (viewers read DAGs, runs and reports).
    for token in (erin, vic, uma):
        status, runs = _call(base, "GET", path, token)
        assert status == 200 and runs["total_entries"] == 1, runs
    # Viewers may not answer approvals; engineers may (no approval waits yet: 404, not 403).
    hitl = f"/api/v2/dags/{DAG_ID}/dagRuns/{answer['dag_run_id']}/taskInstances/review_test_results/-1"
    reply = {"chosen_options": ["Approve"], "params_input": {}}
    assert _call(base, "PATCH", hitl + "/hitlDetails", vic, reply)[0] == 403
    assert _call(base, "PATCH", hitl + "/hitlDetails", erin, reply)[0] == 404

    roles = _roles_of(env)
    assert roles["erin"] == {"engineer", "Viewer"}
    assert roles["vic"] == {"Viewer"}
    assert roles["uma"] == {"Viewer"}  # in no group: the default role only


def _check_reports_need_a_reader_of_the_run(base: str, env: dict, report_dir: Path) -> None:
    folder = report_dir / "manual__2026-01-01T00_00_00_00_00"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text("<h1>migration report</h1>")
    url = f"/altium2kicad/reports/{folder.name}/index.html"
    status, text = _call(base, "GET", url)
    assert status == 401, text
    status, text = _call(base, "GET", url, _login(base, "vic", PASSWORDS["vic"]))
    assert (status, text) == (200, "<h1>migration report</h1>")
    status, text = _call(base, "GET", url, _login(base, "outsider", "outsider-pw"))
    assert status == 403, text
