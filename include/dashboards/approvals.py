"""Approvals waiting for an answer: Airflow's HITL task instances, read with Airflow's own ORM.

The library database only knows running, failed and deployed runs; who still has to answer lives in
Airflow's `hitl_detail` table. The dashboard runs inside the api-server, so it reads that table as
the REST endpoint `hitlDetails?response_received=false` does, limited to the DAGs the viewer may
read, and links each approval to its "required actions" page of the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from include.notifications.links import approval_url

WAITING_STATES = ("awaiting_input", "deferred", "running")  # a HITL task not yet answered or timed out


@dataclass(frozen=True)
class PendingApproval:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    subject: str
    assignees: list[str]
    since: datetime
    url: str


def pending(base_url: str, dag_ids: set[str] | None = None) -> list[PendingApproval]:
    """Unanswered HITL requests of task instances still waiting, oldest first; `dag_ids` None: all."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    stmt = (
        select(
            TaskInstance.dag_id,
            TaskInstance.run_id,
            TaskInstance.task_id,
            TaskInstance.map_index,
            HITLDetail.subject,
            HITLDetail.assignees,
            HITLDetail.created_at,
        )
        .join(TaskInstance, HITLDetail.ti_id == TaskInstance.id)
        .where(HITLDetail.responded_at.is_(None), TaskInstance.state.in_(WAITING_STATES))
        .order_by(HITLDetail.created_at)
    )
    if dag_ids is not None:
        stmt = stmt.where(TaskInstance.dag_id.in_(sorted(dag_ids)))
    with create_session() as session:
        rows = session.execute(stmt).all()
    return [
        PendingApproval(
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            subject=subject,
            assignees=[a.get("name") or a.get("id", "") for a in assignees or []],
            since=created_at,
            url=approval_url(base_url, dag_id, run_id, task_id, map_index),
        )
        for dag_id, run_id, task_id, map_index, subject, assignees, created_at in rows
    ]
