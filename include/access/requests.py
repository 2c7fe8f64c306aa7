"""Authorization of the plugin's pages (reports, Data Docs): an Airflow user who may read the run.

The identity comes from Airflow's own request handling (`get_user`: the bearer token, or the UI's
session cookie), and the decision from the configured auth manager, so the simple auth manager and
FAB answer exactly as they do for the REST API: 401 without a valid login, 403 without read access
to the DAG's runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status


def requires_run_reader(dag_id: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency: the caller is an Airflow user allowed to read `dag_id`'s runs."""

    async def check(request: Request) -> None:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
        from airflow.api_fastapi.core_api.security import bearer_scheme, get_user
        from airflow.configuration import conf

        user = await get_user(request, None, await bearer_scheme(request))
        team = None
        if conf.getboolean("core", "multi_team", fallback=False):
            from airflow.models.dag import DagModel

            team = DagModel.get_team_name(dag_id)
        allowed = get_auth_manager().is_authorized_dag(
            method="GET",
            access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id, team_name=team),
            user=user,
        )
        if not allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"no read access to the runs of {dag_id}")

    return check
