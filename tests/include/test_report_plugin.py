"""The plugin serves a run's report to readers of the run and links it from the run's tasks.

Authentication and authorization are Airflow's own: a real simple auth manager issues the tokens
here; the FAB auth manager with LDAP is tested on a running api-server in
tests/include/access/test_ldap_fab.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]


def _plugin():
    spec = importlib.util.spec_from_file_location(
        "altium2kicad_plugin", REPO / "plugins" / "altium2kicad_plugin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def metadata_db(tmp_path, monkeypatch):
    """A scratch SQLite metadata database with the one table token checks read (revoked tokens)."""
    from airflow import settings
    from airflow.models.revoked_token import RevokedToken

    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'airflow.db'}")
    settings.dispose_orm(do_log=False)
    settings.configure_vars()
    settings.configure_orm()
    RevokedToken.__table__.create(settings.engine)
    yield
    settings.dispose_orm(do_log=False)
    monkeypatch.undo()
    settings.configure_vars()
    settings.configure_orm()


@pytest.fixture
def simple_auth_manager(tmp_path, monkeypatch, metadata_db):
    """Airflow's simple auth manager, initialised as the api-server does, with a test JWT secret."""
    from airflow.api_fastapi import app as api_app

    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER",
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    )
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "reviewer:viewer")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(tmp_path / "passwords.json"))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "report-plugin-test-" + "x" * 64)
    saved = api_app._AuthManagerState.instance
    api_app._AuthManagerState.instance = None
    manager = api_app.init_auth_manager()
    yield manager
    api_app._AuthManagerState.instance = saved


def test_report_is_served_to_readers_and_linked(tmp_path, monkeypatch, simple_auth_manager):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    plugin = _plugin()
    run_id = "manual__2025-01-01T00:00:00+00:00"
    url = plugin.report_url(run_id)
    assert url == "/altium2kicad/reports/manual__2025-01-01T00_00_00_00_00/index.html"
    folder = tmp_path / "var" / "altium2kicad" / "reports" / "manual__2025-01-01T00_00_00_00_00"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<h1>report</h1>")
    client = TestClient(plugin.create_app())
    path = url.removeprefix("/altium2kicad")

    anonymous = client.get(path)
    assert anonymous.status_code == 401, anonymous.text
    assert client.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 403

    viewer = simple_auth_manager.generate_jwt(SimpleAuthManagerUser(username="reviewer", role="viewer"))
    reader = {"Authorization": f"Bearer {viewer}"}
    assert client.get(path, headers=reader).text == "<h1>report</h1>"
    # The UI's session cookie is a login too (the "Migration report" link opens in the browser).
    client.cookies.set("_token", viewer)
    assert client.get(path).text == "<h1>report</h1>"
    client.cookies.clear()
    assert client.get("/reports/x/../../../../etc/passwd", headers=reader).status_code == 404

    # A signed-in user whose role grants nothing may not read the run's report.
    nobody = simple_auth_manager.generate_jwt(SimpleAuthManagerUser(username="outsider", role=None))
    refused = client.get(path, headers={"Authorization": f"Bearer {nobody}"})
    assert refused.status_code == 403, refused.text

    link = plugin.MigrationReportLink()
    key = SimpleNamespace(dag_id="full_library_migration", run_id=run_id)
    assert link.get_link(None, ti_key=key).endswith(url)
    assert link.get_link(None, ti_key=SimpleNamespace(dag_id="other", run_id=run_id)) == ""
    assert plugin.Altium2KicadPlugin.fastapi_apps[0]["url_prefix"] == "/altium2kicad"


def test_every_route_of_the_plugin_app_requires_a_reader(simple_auth_manager):
    """A page added later inherits the check (it sits on the app, not on one route)."""
    plugin = _plugin()
    app = plugin.create_app()

    @app.get("/future-page")
    def future_page():
        return {"secret": True}

    assert TestClient(app).get("/future-page").status_code == 401
    for name in ("management_dashboard", "team_dashboard"):  # the dashboards too
        assert TestClient(app).get(f"/dashboards/{name}").status_code == 401
