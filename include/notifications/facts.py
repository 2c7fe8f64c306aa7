"""What a message can say, taken from the Airflow callback context: the facts templates render.

One function for every kind of callback: a task's (ti, task, exception), a HITL task's (its
subject, body, assigned users and, once answered, the answer) and a DAG run's (no task instance).
Every key is always present (None when the context has no value), so a template can test it.
"""

from __future__ import annotations

from typing import Any

from . import links


def answer_of(context: dict) -> dict[str, Any]:
    """A HITL task's answer: what the operator's execute_complete recorded on the task
    (`hitl_summary_extra`), else the payload it returned (its XCom)."""
    task, ti = context.get("task"), context.get("ti")
    recorded = getattr(task, "hitl_summary_extra", None) or {}
    if recorded.get("chosen_options"):
        return recorded
    try:
        returned = ti.xcom_pull(task_ids=ti.task_id, map_index=ti.map_index) if ti is not None else None
    except Exception:  # no XCom backend reachable (outside a task run): no answer known
        returned = None
    return returned if isinstance(returned, dict) else {}


def _answer(context: dict) -> dict[str, Any]:
    answer = answer_of(context)
    who = answer.get("responded_by_user") or {}
    chosen = answer.get("chosen_options") or []
    params = answer.get("params_input") or {}
    return {
        "answer": chosen[0] if chosen else None,
        "answered_by": who.get("name") or who.get("id") or ("airflow (timeout default)" if chosen else None),
        "comment": params.get("comment") or None,
    }


def _error(exception: Any) -> str | None:
    if exception is None:
        return None
    text = str(exception)
    return f"{type(exception).__name__}: {text}" if text else type(exception).__name__


def from_context(event: str, context: dict, **fixed: Any) -> dict[str, Any]:
    """The facts of `event` in this callback context, plus the caller's fixed ones."""
    base = links.base_url()
    ti = context.get("ti") or context.get("task_instance")
    task = context.get("task")
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", None)
    run_id = getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None) or context.get("run_id")
    task_id = getattr(ti, "task_id", None)
    map_index = getattr(ti, "map_index", -1)
    map_index = -1 if map_index is None else map_index
    try_number = getattr(ti, "try_number", 0) or 0
    facts: dict[str, Any] = {
        "event": event,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index,
        "try_number": try_number,
        "params": dict(context.get("params") or {}),
        "error": _error(context.get("exception")),
        "reason": context.get("reason"),
        "state": str(getattr(dag_run, "state", "") or "") or None,
        "base_url": base,
        "run_url": links.run_url(base, dag_id, run_id) if dag_id and run_id else None,
        "task_url": links.task_url(base, dag_id, run_id, task_id, map_index)
        if dag_id and run_id and task_id
        else None,
        "log_url": (
            links.log_url(base, dag_id, run_id, task_id, map_index, try_number)
            if dag_id and run_id and task_id
            else None
        ),
        "approval_url": None,
        "subject": None,
        "body": None,
        "approvers": [],
        "stage": None,
        "next_stage": None,
        "answer": None,
        "answered_by": None,
        "comment": None,
    }
    if task is not None and hasattr(task, "hitl_summary_extra") and dag_id and run_id and task_id:
        facts["approval_url"] = links.approval_url(base, dag_id, run_id, task_id, map_index)
        facts["subject"] = getattr(task, "subject", None)
        facts["body"] = getattr(task, "body", None)
        facts["approvers"] = [
            u.get("id") or u.get("name") for u in (getattr(task, "assigned_users", None) or [])
        ]
        if event != "approval_required":  # asked, not answered yet
            facts.update(_answer(context))
    facts.update(fixed)
    return facts
