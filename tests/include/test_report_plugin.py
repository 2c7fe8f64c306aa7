"""The plugin serves a run's report and links it from the run's tasks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]


def _plugin():
    spec = importlib.util.spec_from_file_location(
        "altium2kicad_plugin", REPO / "plugins" / "altium2kicad_plugin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_is_served_and_linked(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    plugin = _plugin()
    run_id = "manual__2025-01-01T00:00:00+00:00"
    url = plugin.report_url(run_id)
    assert url == "/altium2kicad/reports/manual__2025-01-01T00_00_00_00_00/index.html"
    folder = tmp_path / "var" / "altium2kicad" / "reports" / "manual__2025-01-01T00_00_00_00_00"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<h1>report</h1>")
    client = TestClient(plugin.create_app())
    assert client.get(url.removeprefix("/altium2kicad")).text == "<h1>report</h1>"
    assert client.get("/reports/x/../../../../etc/passwd").status_code == 404
    link = plugin.MigrationReportLink()
    key = SimpleNamespace(dag_id="full_library_migration", run_id=run_id)
    assert link.get_link(None, ti_key=key).endswith(url)
    assert link.get_link(None, ti_key=SimpleNamespace(dag_id="other", run_id=run_id)) == ""
    assert plugin.Altium2KicadPlugin.fastapi_apps[0]["url_prefix"] == "/altium2kicad"
