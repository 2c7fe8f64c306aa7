"""The dashboards' FastAPI routes, added to the plugin's app (whose app-wide dependency already
admits only readers of the runs). Here rather than in the plugin file so FastAPI sees real
annotations (`request: Request`) at module level."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse


def add_routes(app: FastAPI, report_prefix: str) -> None:
    """`/dashboards/<name>`; stored reports are linked at `report_prefix/<folder>/<path>`."""

    @app.get("/dashboards/{name}", response_class=HTMLResponse)
    async def dashboard(name: str, request: Request) -> HTMLResponse:
        from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

        from .facts import DASHBOARDS

        if name not in DASHBOARDS:
            raise HTTPException(status_code=404, detail="no such dashboard")
        user = await get_user(request, None, await bearer_scheme(request))
        return HTMLResponse(await run_in_threadpool(page_html, name, user, report_prefix))


def page_html(name: str, user, report_prefix: str) -> str:
    """The page, read fresh from the configuration, the library database and Airflow's waiting
    approvals (only those of DAGs the user may read)."""
    from airflow.api_fastapi.app import get_auth_manager

    from include.config import load_config
    from include.notifications.links import base_url

    from . import approvals, facts, page

    readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
    waiting = approvals.pending(base_url(), readable)
    config = load_config()
    board = facts.build(config, name, waiting, lambda folder, path: f"{report_prefix}/{folder}/{path}")
    return page.render(board, page.folders(config))
