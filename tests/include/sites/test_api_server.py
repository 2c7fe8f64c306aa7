"""The plugin's parts app inside a real Airflow api-server: mounted at /altium2kicad-parts, KiCad's
token for reads, an Airflow login (from the api-server's own /auth/token) for edits."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest

from include.airflow_api import AirflowApi, migrate_metadata_db, start_api_server, wait_healthy
from tests.include.sites.conftest import TOKEN, deploy_parts, write_config

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_api_server_serves_the_http_library_and_edits(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({"manager": "manager-pw"}))
    config = write_config(tmp_path)
    deploy_parts(tmp_path, "testing")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "no-dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "manager:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": "parts-api-server-test-" + "x" * 40,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "ALTIUM2KICAD_HOME": str(tmp_path),
        "ALTIUM2KICAD_CONFIG": str(config),
        "ALTIUM2KICAD_DB_URL": f"sqlite:///{tmp_path / 'library.db'}",
        "AIRFLOW_CONN_ALTIUM2KICAD_HTTPLIB_TESTING": json.dumps({"conn_type": "generic", "password": TOKEN}),
    }
    migrated = migrate_metadata_db(env)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with (home / "api-server.log").open("w") as log:
        server = start_api_server(port, log, env=env, cwd=REPO)
        try:
            api = AirflowApi(base, "manager", "manager-pw")
            wait_healthy(api, 120)
            root = f"{base}/altium2kicad-parts/testing/Parts/v1/"
            kicad = {"Authorization": f"Token {TOKEN}", "Accept": "application/json"}
            assert httpx.get(root + "categories.json").status_code == 401
            categories = httpx.get(root + "categories.json", headers=kicad).json()
            assert [c["name"] for c in categories] == ["Resistors", "Capacitors"]
            part = httpx.get(root + "parts/1-Ui0wMDAx.json", headers=kicad)
            assert part.json()["name"] == "R-0001" and part.headers["ETag"] == '"1"'
            login = {"Authorization": f"Bearer {api.token()}"}
            edit = {"fields": {"Value": "4k7"}}
            applied = httpx.patch(
                root + "parts/1-Ui0wMDAx.json", json=edit, headers={**login, "If-Match": '"1"'}
            )
            assert applied.status_code == 200, applied.text
            stale = httpx.patch(
                root + "parts/1-Ui0wMDAx.json", json=edit, headers={**login, "If-Match": '"1"'}
            )
            assert stale.status_code == 409
            after = httpx.get(root + "parts/1-Ui0wMDAx.json", headers=kicad)
            assert after.json()["fields"]["Value"]["value"] == "4k7" and after.headers["ETag"] == '"2"'
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert sys.executable  # the api-server ran on this interpreter (include.airflow_api.AIRFLOW)
