"""Links into the Airflow 3 UI that a message carries: the approval page, the task log, the run.

The formats are Airflow's own: `HITLOperator.generate_link_to_ui` (the task instance's
`required_actions` page, `?map_index=`) and `RuntimeTaskInstance.log_url`. Built here from ids so a
DAG-level callback (no task instance) and an `api.base_url` with a path prefix (behind a proxy,
which Airflow's urlunparse would drop) get the same links.
"""

from __future__ import annotations

from urllib.parse import quote

DEFAULT_BASE_URL = "http://localhost:8080"


def base_url() -> str:
    """Airflow's `[api] base_url` (AIRFLOW__API__BASE_URL), where people open the UI."""
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback=None) or DEFAULT_BASE_URL).rstrip("/")


def run_url(base: str, dag_id: str, run_id: str) -> str:
    return f"{base}/dags/{dag_id}/runs/{quote(run_id)}"


def task_url(base: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    mapped = f"/mapped/{map_index}" if map_index is not None and map_index >= 0 else ""
    return f"{run_url(base, dag_id, run_id)}/tasks/{task_id}{mapped}"


def log_url(
    base: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int = 0
) -> str:
    """The task instance's log page (the UI opens a task instance on its logs)."""
    tries = f"?try_number={try_number}" if try_number and try_number > 0 else ""
    return task_url(base, dag_id, run_id, task_id, map_index) + tries


def approval_url(base: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """The HITL task's "required actions" page, where the assigned users answer."""
    return f"{run_url(base, dag_id, run_id)}/tasks/{task_id}/required_actions?map_index={map_index}"
