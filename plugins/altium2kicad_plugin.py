"""Airflow plugin: the migration report, served by the api-server and linked from every task.

- `/altium2kicad/reports/<run>/index.html`: the run's HTML report and its GE Data Docs, served
  read-only from the configured `progress_tracking.report_dir`, only to an Airflow user who may
  read the DAG's runs (401 without a login, 403 without that access; include/access/requests.py).
- `/altium2kicad/dashboards/management_dashboard` and `.../team_dashboard`: progress across runs
  and environments, the latest reports, waiting approvals and failures by cause
  (include/dashboards/), under the same check; listed in the UI's navigation (external_views).
- "Migration report": an extra link on every task of full_library_migration pointing there.
- `/altium2kicad-parts/<environment>/<library>/v1/...`: each environment's deployed parts as a
  KiCad HTTP library (token auth), and part edits with optimistic locking (include/sites/).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk.bases.operatorlink import BaseOperatorLink

PREFIX = "/altium2kicad"
PARTS_PREFIX = "/altium2kicad-parts"  # include.sites.httplib_files.PREFIX
DAG_IDS = {"full_library_migration"}
REPORT_DAG_ID = "full_library_migration"  # the DAG whose runs the reports belong to


def report_url(run_id: str, base_url: str = "") -> str:
    from include.config import folder_name

    return f"{base_url.rstrip('/')}{PREFIX}/reports/{folder_name(run_id)}/index.html"


class MigrationReportLink(BaseOperatorLink):
    name = "Migration report"

    def get_link(self, operator, *, ti_key) -> str:
        if ti_key.dag_id not in DAG_IDS:
            return ""
        from airflow.configuration import conf

        return report_url(ti_key.run_id, conf.get("api", "base_url", fallback="") or "")


def create_app():
    """FastAPI app serving report folders; the folder is read from the config per request.

    Every route of this app (and any added later) requires a reader of the runs."""
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import FileResponse

    from include.access.requests import requires_run_reader

    app = FastAPI(title="altium2kicad reports", dependencies=[Depends(requires_run_reader(REPORT_DAG_ID))])

    @app.get("/reports/{run}/{path:path}")
    def report_file(run: str, path: str):
        from include.config import load_config

        root = load_config().report_dir.resolve()
        wanted = (root / run / (path or "index.html")).resolve()
        if root not in wanted.parents or not wanted.is_file():
            raise HTTPException(status_code=404, detail="no such report file")
        return FileResponse(wanted)

    from include.dashboards.routes import add_routes

    add_routes(app, f"{PREFIX}/reports")
    return app


def create_parts_app():
    """The KiCad HTTP library and part edits: its own app, as KiCad sends a token, not a login."""
    from include.sites.http_library import create_app as create_http_library

    return create_http_library()


DASHBOARD_VIEWS = [
    {
        "name": title,
        "href": f"{PREFIX}/dashboards/{route}",
        "url_route": route,  # the UI shows the page at /plugin/<route>
        "destination": "nav",
        "category": "altium2kicad",
    }
    for route, title in (
        ("management_dashboard", "Management dashboard"),
        ("team_dashboard", "Team dashboard"),
    )
]


class Altium2KicadPlugin(AirflowPlugin):
    name = "altium2kicad"
    external_views = DASHBOARD_VIEWS
    global_operator_extra_links = [MigrationReportLink()]
    fastapi_apps = [
        {"app": create_app(), "url_prefix": PREFIX, "name": "altium2kicad reports"},
        {"app": create_parts_app(), "url_prefix": PARTS_PREFIX, "name": "altium2kicad KiCad HTTP library"},
    ]
