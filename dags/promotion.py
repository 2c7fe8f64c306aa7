"""promote_dev_to_test and promote_test_to_prod: move a deployed version to the next environment.

Wiring only (logic: include/workflow/promotion.py). The approval is one Airflow HITL task mapped
over the level's required approvers; `check_approvals` counts distinct users. test_to_prod waits
for its scheduled window on a deferrable DateTimeSensorAsync (no worker slot while waiting).
Notifications are callbacks (include.notifications): approval_required/granted/rejected per
approver, error_occurred from a failed task, and after publishing stage_complete (to testing) or
workflow_complete (to production).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import Param, dag, task


def _notify(event: str, **kwargs):
    """A callback sending `event` (include.notifications, imported only when the callback runs)."""

    def callback(context) -> None:
        from include import notifications

        notifications.send(event, context, **kwargs)

    callback.__name__ = callback.__qualname__ = f"notify_{event}"
    return callback


# transient errors (store, database) retry once
DEFAULT_ARGS = {
    "owner": "release_manager",
    "retries": 1,
    "retry_delay": timedelta(seconds=30),
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": _notify("error_occurred"),
}
APPROVAL_TIMEOUT = timedelta(hours=72)  # replaced from approvals.levels when the task starts

# What a successful publish announces: production ends the team's workflow.
PUBLISHED = {
    "dev_to_test": _notify("stage_complete", stage="promoted to testing"),
    "test_to_prod": _notify("workflow_complete"),
}


def build(dag_id: str, workflow: str, windowed: bool):
    def _level(context) -> None:
        from include.config import load_config
        from include.workflow import approvals

        config = load_config()
        level = config.promotion[workflow].approval_level
        approvals.apply_level(context["task"], approvals.level_settings(config, level, f"{dag_id}.approve"))

    @dag(
        dag_id=dag_id,
        description=f"Promote a deployed library version ({workflow})",
        schedule=None,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["altium2kicad", "promotion"],
        doc_md=__doc__,
        params={
            "version": Param(
                None,
                type=["null", "string"],
                title="Version",
                description="Deployed version id in the source environment; empty: the live one. "
                "Rolling back: trigger the promotion with the previous version.",
            )
        },
    )
    def promotion():
        @task(task_id="prepare")
        def prepare(params=None) -> dict:
            """Picks the version and its sha256 manifest; one approval slot per required approver."""
            from include.workflow import promotion as steps

            return steps.prepare(workflow, (params or {}).get("version"))

        @task(task_id="approval_slots")
        def approval_slots(prepared: dict) -> list[str]:
            """One line per required approver: the mapped approval's bodies."""
            return prepared["slots"]

        prepared = prepare()
        approve = ApprovalOperator.partial(
            task_id="approve",
            subject=f"{workflow}: promote version {{{{ ti.xcom_pull(task_ids='prepare')['version'] }}}}",
            response_timeout=APPROVAL_TIMEOUT,
            pre_execute=_level,
            notifiers=[_notify("approval_required")],
            on_success_callback=_notify("approval_answered"),
            doc_md="One required approver's answer (mapped over the approval level's approvers).",
        ).expand(body=approval_slots(prepared))

        @task(task_id="check_approvals", trigger_rule="all_done")
        def check_approvals(ti=None) -> dict:
            """Fails unless N distinct users approved (the same user twice counts once) and none rejected."""
            from include.workflow import promotion as steps

            return steps.check_approvals(workflow, ti.xcom_pull(task_ids="approve") or [], ti.run_id)

        # the migration DAG's deploy tasks share this pool of one slot (include.workflow.concurrency)
        @task(task_id="publish", on_success_callback=PUBLISHED[workflow], pool="deployments")
        def publish(prepared: dict, ti=None) -> dict:
            """Publishes exactly the approved files to the target, then switches the pointer."""
            from include.workflow import promotion as steps

            return steps.publish(workflow, prepared, ti.run_id)

        checked = check_approvals()
        approve >> checked
        done = publish(prepared)
        if windowed:

            @task(task_id="window_opening")
            def window_opening() -> str:
                """When the scheduled window is open next (now, inside it)."""
                from include.workflow import promotion as steps

                return steps.window_opening(workflow)

            opening = window_opening()
            wait = DateTimeSensorAsync(
                task_id="wait_for_window",
                target_time="{{ ti.xcom_pull(task_ids='window_opening') }}",
                doc_md="Waits, deferred (no worker slot), until the promotion window opens.",
            )
            checked >> opening >> wait >> done
        else:
            checked >> done

    return promotion()


build("promote_dev_to_test", "dev_to_test", windowed=False)
build("promote_test_to_prod", "test_to_prod", windowed=True)
