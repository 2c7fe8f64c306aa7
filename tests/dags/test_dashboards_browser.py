"""The dashboards in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

A running api-server (SimpleAuthManager, the airflow_api fixture) serves the plugin's pages; the
library database is seeded through LibraryStore; a real HITL task (a one-task DAG run with
dag.test() in a subprocess) waits for its answer. The browser signs in on Airflow's own login
page, opens both dashboards (directly and inside the UI's navigation), reads the numbers back,
watches the team page reload itself, and keeps screenshots in test-artifacts/ (stable paths,
printed). Here because it needs the api-server fixture of tests/dags/conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.report_rows import item_row

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROBE_DAG = "dashboard_approval_probe"
PROBE_TASK = "approve_release"
PROBE_SUBJECT = "Release the probe library?"
PROBE_FILE = f'''
from datetime import datetime

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG

with DAG("{PROBE_DAG}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    ApprovalOperator(task_id="{PROBE_TASK}", subject="{PROBE_SUBJECT}")

if __name__ == "__main__":
    dag.test()
'''
NOW = datetime.now(UTC).replace(microsecond=0)
# environment, status, migrated, failed, time spent
SEEDED = [
    ("testing", "deployed", 40, 2, 310.0),
    ("testing", "failed", 44, 6, 295.0),
    ("production", "deployed", 38, 4, 420.0),
]


def _seed_run(store, run_id: str, env: str, status: str, ok: int, bad: int, seconds: float, at: datetime):
    store.start_run(run_id, "full_library_migration", "/src", env, "full", "/w")
    store.update_run(run_id, status=status, started_at=at)
    rows = [item_row("Resistors", f"R{i}", "ok") for i in range(ok)]
    rows += [item_row("Connectors", f"J{i}", "failed", ["pin count differs"]) for i in range(bad)]
    rows += [item_row("Diodes", "D1", "failed", ["no footprint"])] if env == "production" else []
    store.put_converted_items(run_id, "full", rows)
    total = ok + bad + (env == "production")
    store.put_metrics(
        run_id,
        {
            "components_migrated": (float(ok), "items"),
            "migration_quality": (ok / total, "ratio"),
            "time_spent": (seconds, "seconds"),
        },
    )


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (./run setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def waiting_approval(airflow_api, tmp_path):
    """A real HITL task parked for its answer; answered (and its run finished) afterwards."""
    folder = tmp_path / "probe_dags"  # dag.test() syncs the DAG from its bundle: a folder of its own
    folder.mkdir()
    dag_file = folder / "probe_dag.py"
    dag_file.write_text(PROBE_FILE)
    log = (tmp_path / "probe.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(dag_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)},
        cwd=REPO,
    )
    deadline = time.monotonic() + 240
    found = []
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            found = [
                d
                for d in airflow_api.waiting_approvals(PROBE_DAG)
                if d["task_instance"].get("state") == "awaiting_input"
            ]
        except Exception:  # the DAG is not known yet
            found = []
        if found:
            break
        time.sleep(1)
    assert found, (tmp_path / "probe.log").read_text()[-3000:]
    ti = found[0]["task_instance"]

    def answer() -> None:
        """Approve and wait for the probe run to finish (once)."""
        if proc.poll() is None:
            airflow_api.answer(PROBE_DAG, ti["dag_run_id"], PROBE_TASK, "Approve")
            proc.wait(timeout=120)

    try:
        yield ti, answer
    finally:
        try:
            answer()
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()


def _tiles(page) -> dict[str, dict[str, str]]:
    out = {}
    for tile in page.locator(".tile").all():
        env = tile.get_attribute("data-environment")
        out[env] = {
            m.get_attribute("data-metric"): m.inner_text().strip()
            for m in tile.locator("[data-metric]").all()
        }
    return out


def _expected_tiles(store, metrics: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """From the library database: each environment's latest run, formatted as the page does."""
    from include.dashboards.page import metric_text
    from include.metrics import COMPONENT_KINDS

    names = {"migrated": "components_migrated", "quality": "migration_quality", "time_spent": "time_spent"}
    latest: dict[str, tuple] = {}
    counts: dict[str, int] = {}
    for env, run_id in _runs_in_db(store):
        latest[env] = run_id
        counts[env] = counts.get(env, 0) + 1
    out = {}
    for env, run_id in latest.items():
        stored = store.metrics(run_id)
        items = [i for i in store.converted_items(run_id) if i.kind in COMPONENT_KINDS]
        shown = {m: metric_text(m, stored[names[m]].value) for m in metrics}
        out[env] = {**shown, "total": str(len(items)), "runs": str(counts[env])}
    return out


def _runs_in_db(store) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from include.library_db.database import session
    from include.library_db.models import MigrationRun

    with session(store.url) as s:
        return [
            (r.environment, r.run_id)
            for r in s.scalars(select(MigrationRun).order_by(MigrationRun.started_at))
        ]


def _set_refresh(config_path: Path, team_seconds: int) -> None:
    data = yaml.safe_load(config_path.read_text())
    data["dashboards"]["team_refresh_seconds"] = team_seconds
    config_path.write_text(yaml.safe_dump(data))


def test_dashboards_in_a_real_browser(airflow_api, pipeline_env, chromium, waiting_approval):
    from include.library_db.store import LibraryStore

    base = airflow_api.base_url
    ARTIFACTS.mkdir(exist_ok=True)
    # both pages are entries of the UI's navigation
    views = [v for p in airflow_api.call("GET", "/api/v2/plugins")["plugins"] for v in p["external_views"]]
    assert {(v["url_route"], v["href"]) for v in views} >= {
        ("management_dashboard", "/altium2kicad/dashboards/management_dashboard"),
        ("team_dashboard", "/altium2kicad/dashboards/team_dashboard"),
    }
    store = LibraryStore(pipeline_env["db_url"])
    for n, (env, status, ok, bad, seconds) in enumerate(SEEDED):
        _seed_run(store, f"dash_run_{n}", env, status, ok, bad, seconds, NOW - timedelta(hours=10 - n))
    # the stored reports the page links: a run's HTML report and the weekly PDF with its charts
    from include.config import folder_name, load_config
    from include.reports import jobs

    config = load_config()
    report = config.report_dir / folder_name("dash_run_2") / "index.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("<h1>report of dash_run_2</h1>")
    store.update_run("dash_run_2", report_path=str(report))
    weekly = jobs.weekly_progress(config, NOW)  # no management_team configured: stored, not mailed
    assert weekly["recipients"] == []
    management = f"{base}/altium2kicad/dashboards/management_dashboard"
    team = f"{base}/altium2kicad/dashboards/team_dashboard"

    # without a login: refused, to a script and to a browser alike
    for url in (management, team):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=30)
        assert refused.value.code == 401
    anonymous = chromium.new_context()
    assert anonymous.new_page().goto(management).status == 401
    anonymous.close()

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _check_pages(page, base, airflow_api, store, waiting_approval, management, team)
    except Exception:
        # what the browser showed when it failed, kept beside the screenshots
        page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
        (ARTIFACTS / "dashboard-failure.html").write_text(page.content())
        raise
    finally:
        context.close()
    print(f"\nscreenshots: {', '.join(str(p) for p in sorted(ARTIFACTS.glob('dashboard-*.png')))}")


def _check_pages(page, base, airflow_api, store, waiting_approval, management, team) -> None:
    from include.notifications.links import approval_url

    # Airflow's own login page (SimpleAuthManager), then back to the dashboard inside the UI
    page.goto(f"{base}/auth/login?next={base}/plugin/management_dashboard")
    page.locator("input[name=username]").fill(airflow_api.username)
    page.locator("input[type=password]").fill(airflow_api.password)
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/plugin/management_dashboard", timeout=60_000)
    # the nav entry's page embeds ours: the same numbers, signed in by the session cookie
    framed = page.frame_locator("iframe").locator("body[data-dashboard=management_dashboard]")
    framed.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-management-in-ui.png"))

    response = page.goto(management)
    assert response.status == 200
    assert page.locator("meta[http-equiv=refresh]").get_attribute("content") == "3600"
    assert page.locator("body").get_attribute("data-refresh-seconds") == "3600"
    assert _tiles(page) == _expected_tiles(store, ("migrated", "quality"))
    assert _tiles(page)["testing"]["quality"] == "88.0%"  # dash_run_1: 44 of 50
    causes = {
        r.locator("td").nth(0).inner_text(): r.locator("td").nth(1).inner_text()
        for r in page.locator("#failure-causes tr:has(td[data-metric])").all()
    }
    assert causes == {"pin count differs": "12", "no footprint": "1"}
    link = page.locator("#approvals a")
    assert link.count() == 1 and link.inner_text() == PROBE_SUBJECT
    ti, answer = waiting_approval
    assert link.get_attribute("href") == approval_url(base, PROBE_DAG, ti["dag_run_id"], PROBE_TASK, -1)
    # the same query, from here on the same metadata database: only the DAGs a viewer may read
    from include.dashboards.approvals import pending

    assert [(a.dag_id, a.task_id) for a in pending(base)] == [(PROBE_DAG, PROBE_TASK)]
    assert pending(base, {"full_library_migration"}) == []
    assert page.locator("figure[data-chart=quality] svg").count() == 1
    reports = page.locator("#reports .report")
    assert reports.nth(0).locator("a").inner_text() == f"Weekly progress {NOW:%Y-%m-%d}"
    pictures = reports.nth(0).locator("img")
    assert pictures.count() == 3
    for n in range(3):  # each chart picture is served (behind the same login) and decoded
        assert pictures.nth(n).evaluate("img => img.complete && img.naturalWidth") > 100
    assert reports.nth(1).locator("a").inner_text() == "dash_run_2 (production, deployed)"
    opened = page.context.request.get(base + reports.nth(1).locator("a").get_attribute("href"))
    assert opened.text() == "<h1>report of dash_run_2</h1>"
    page.screenshot(path=str(ARTIFACTS / "dashboard-management.png"), full_page=True)

    # team: its own metrics; reloads itself at the configured interval and then shows a new run
    config_path = Path(os.environ["ALTIUM2KICAD_CONFIG"])
    saved = config_path.read_text()
    try:
        _set_refresh(config_path, 5)
        response = page.goto(team)
        assert response.status == 200, response.text()
        assert page.locator("meta[http-equiv=refresh]").get_attribute("content") == "5"
        assert _tiles(page) == _expected_tiles(store, ("migrated", "time_spent"))
        first = page.locator("#generated-at").inner_text()
        assert page.locator("#approvals a").count() == 1
        answer()  # answered in Airflow: gone from the page at its next reload
        _seed_run(store, "dash_run_new", "staging", "running", 12, 0, 75.0, NOW)
        page.wait_for_selector("tr[data-run-id=dash_run_new]", timeout=30_000)  # no reload() here
        assert page.locator("#generated-at").inner_text() != first
        assert page.locator("#approvals").inner_text() == "None waiting."
        assert _tiles(page)["staging"] == {"migrated": "12", "total": "12", "time_spent": "75 s", "runs": "1"}
    finally:
        config_path.write_text(saved)
    page.goto(team)
    assert page.locator("meta[http-equiv=refresh]").get_attribute("content") == "300"
    page.screenshot(path=str(ARTIFACTS / "dashboard-team.png"), full_page=True)
