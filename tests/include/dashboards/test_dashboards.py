"""The dashboards' facts and pages from a real (SQLite) library database; the pages in a browser,
served by a running api-server, are tested in tests/dags/test_dashboards_browser.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.config import PipelineConfig, load_config
from include.dashboards import facts, page
from include.dashboards.approvals import PendingApproval
from include.library_db.store import LibraryStore
from tests.report_rows import item_row

REPO = Path(__file__).resolve().parents[3]
STARTS = [
    datetime(2026, 11, 30, 10, tzinfo=UTC),
    datetime(2026, 12, 1, 10, tzinfo=UTC),
    datetime(2026, 12, 2, 9, tzinfo=UTC),
]


def _url(folder: str, path: str) -> str:
    return f"/r/{folder}/{path}"


@pytest.fixture
def config(tmp_path, monkeypatch):
    data = load_config(REPO / "config" / "altium2kicad.yaml").model_dump(mode="json")
    data["progress_tracking"]["report_dir"] = str(tmp_path / "reports")
    data["dashboards"] = {"management_refresh_seconds": 1800, "team_refresh_seconds": 60}
    config = PipelineConfig.model_validate(data)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    monkeypatch.setenv(config.deployment.library_database.url_env, url)
    store = LibraryStore(url)
    runs = [("testing", "deployed", 8, 2), ("testing", "failed", 9, 1), ("production", "running", 5, 5)]
    for n, (env, status, ok, bad) in enumerate(runs):
        run = f"run_{n}"
        store.start_run(run, "full_library_migration", "/src", env, "full", "/w")
        store.update_run(run, status=status, started_at=STARTS[n], report_path=f"/x/{run}/index.html")
        rows = [item_row("Resistors", f"R{i}", "ok") for i in range(ok)]
        # one item carries its cause twice: it still counts once for that cause
        rows += [
            item_row("Connectors", f"X{i}", "failed", ["pin mismatch", "pin mismatch"]) for i in range(bad)
        ]
        store.put_converted_items(run, "full", rows)
        store.put_metrics(
            run,
            {
                "components_migrated": (float(ok), "items"),
                "migration_quality": (ok / (ok + bad), "ratio"),
                "time_spent": (100.0 * (n + 1), "seconds"),
            },
        )
    store.start_run("run_3", "full_library_migration", "/src", "testing", "full", "/w")  # no metrics yet
    return config


def test_progress_is_each_environments_latest_measured_run(config):
    board = facts.build(config, "management_dashboard", [], _url)
    latest = {e.environment: (e.runs, e.latest["run_id"]) for e in board.environments}
    assert latest == {"production": (1, "run_2"), "testing": (3, "run_1")}
    assert board.refresh_seconds == 1800
    assert board.failure_causes == [{"cause": "pin mismatch", "failed": 8}]
    assert [r["run_id"] for r in board.runs] == ["run_3", "run_2", "run_1", "run_0"]
    assert set(board.charts) == {"components", "quality"}
    assert all(svg.startswith("<svg") for svg in board.charts.values())
    assert facts.build(config, "team_dashboard", [], _url).refresh_seconds == 60


def test_latest_reports_weekly_pdf_with_pictures_then_runs(config):
    weekly = config.report_dir / "weekly"
    (weekly / "charts").mkdir(parents=True)
    for name in ("weekly_progress_2026-11-23.pdf", "weekly_progress_2026-11-30.pdf"):
        (weekly / name).write_bytes(b"%PDF")
    (weekly / "charts" / "quality.png").write_bytes(b"png")
    reports = facts.build(config, "team_dashboard", [], _url).reports
    assert reports[0].title == "Weekly progress 2026-11-30"
    assert reports[0].url == "/r/weekly/weekly_progress_2026-11-30.pdf"
    assert reports[0].pictures == ["/r/weekly/charts/quality.png"]
    assert [r.url for r in reports[1:]] == [f"/r/run_{n}/index.html" for n in (2, 1, 0)]


def test_pages_show_the_numbers_approvals_and_refresh(config):
    waiting = PendingApproval(
        "full_library_migration",
        "run_2",
        "approve_production",
        -1,
        "Deploy <b>production</b>?",
        ["alice"],
        STARTS[2],
        "http://ui/dags/full_library_migration/runs/run_2/tasks/approve_production/required_actions?map_index=-1",
    )
    html = page.render(facts.build(config, "management_dashboard", [waiting], _url))
    assert '<meta http-equiv="refresh" content="1800">' in html
    assert 'data-refresh-seconds="1800"' in html
    assert ">90.0%</span>" in html and ">50.0%</span>" in html  # testing's run_1, production's run_2
    assert "time spent" not in html
    assert (
        'href="http://ui/dags/full_library_migration/runs/run_2/tasks/approve_production/required_actions?map_index=-1"'
        in html
    )
    assert "Deploy &lt;b&gt;production&lt;/b&gt;?" in html  # escaped: subjects come from DAG authors
    assert '<td>pin mismatch</td><td data-metric="failed_items">8</td>' in html
    team = page.render(facts.build(config, "team_dashboard", [], _url))
    assert '<meta http-equiv="refresh" content="60">' in team
    assert ">200 s</td>" in team and "migration quality" not in team and "None waiting." in team


def test_a_misspelt_variable_in_an_edited_template_fails(config, monkeypatch, tmp_path):
    (tmp_path / "team_dashboard.html").write_text("{{ d.refresh_secs }}")
    monkeypatch.setattr(page, "TEMPLATES", tmp_path)
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        page.render(facts.build(config, "team_dashboard", [], _url))


def test_refresh_intervals_are_validated():
    data = load_config(REPO / "config" / "altium2kicad.yaml").model_dump(mode="json")
    assert data["dashboards"] == {"management_refresh_seconds": 3600, "team_refresh_seconds": 300}
    data["dashboards"]["team_refresh_seconds"] = 0
    with pytest.raises(ValueError):
        PipelineConfig.model_validate(data)


def test_an_edited_page_under_templates_dir_wins(config, tmp_path):
    """notifications.templates_dir/dashboards/ first, as for the messages and reports; the edited
    page still extends the shipped layout."""
    edited = tmp_path / "edited" / "dashboards"
    edited.mkdir(parents=True)
    (edited / "team_dashboard.html").write_text(
        '{% extends "_layout.html" %}{% block intro %}<p id="ours">{{ d.refresh_seconds }}</p>{% endblock %}'
    )
    data = config.model_dump(mode="json")
    data["notifications"]["templates_dir"] = str(tmp_path / "edited")
    edited_config = PipelineConfig.model_validate(data)
    board = facts.build(edited_config, "team_dashboard", [], _url)
    html = page.render(board, page.folders(edited_config))
    assert f'<p id="ours">{board.refresh_seconds}</p>' in html and "<html" in html
    assert page.folders(config) == [page.TEMPLATES]
    management = page.render(
        facts.build(edited_config, "management_dashboard", [], _url), page.folders(edited_config)
    )
    assert 'id="ours"' not in management  # not edited: the shipped page
