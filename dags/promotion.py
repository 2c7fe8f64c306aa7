"""promote_dev_to_test, promote_test_to_prod and rollback_environment: move deployed versions.

Wiring only (logic: include/workflow/promotion.py). A promotion re-runs the target's validation
level on the version, writes the diff summary the approvers read, then asks one Airflow HITL task
per required approver (mapped); `check_approvals` counts distinct users. test_to_prod waits for
its scheduled window on a deferrable DateTimeSensorAsync (no worker slot while waiting). A rollback
is one triggered run of rollback_environment. Notifications are callbacks (include.notifications):
approval_required/granted/rejected per approver, error_occurred from a failed task, and after
publishing stage_complete (to testing) or workflow_complete (to production).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
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
# a plain HITL choice, not ApprovalOperator, whose "Reject" is documented to skip its direct
# downstream tasks: check_approvals must always run to count and record every answer
OPTIONS = ["Approve", "Reject"]


def _log_level(env_of):
    """A `pre_execute` hook: the task's loggers at the log level of the environment `env_of` names."""

    def apply(context) -> None:
        from include.config import load_config
        from include.task_policy import apply_log_level

        config = load_config()
        apply_log_level(config.environment(env_of(config, context)).log_level)

    return apply


# What a successful publish announces: production ends the team's workflow.
PUBLISHED = {
    "dev_to_test": _notify("stage_complete", stage="promoted to testing"),
    "test_to_prod": _notify("workflow_complete"),
}


def build(dag_id: str, workflow: str, windowed: bool):
    def target(config, context) -> str:
        return config.promotion[workflow].target

    def _level(context) -> None:
        from include.config import load_config
        from include.workflow import approvals

        _log_level(target)(context)
        task = context["task"]
        approvals.apply_level(task, approvals.waiting_for(load_config(), dag_id, task.task_id))

    @dag(
        dag_id=dag_id,
        description=f"Promote a deployed library version ({workflow})",
        schedule=None,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "pre_execute": _log_level(target)},
        tags=["altium2kicad", "promotion"],
        doc_md=__doc__,
        params={
            "version": Param(
                None,
                type=["null", "string"],
                title="Version",
                description="Deployed version id in the source environment; empty: the live one.",
            )
        },
    )
    def promotion():
        @task(task_id="prepare")
        def prepare(params=None, ti=None) -> dict:
            """Picks the version and its sha256 manifest; one approval slot per required approver."""
            from include.workflow import promotion as steps

            return steps.prepare(workflow, (params or {}).get("version"), ti.run_id)

        @task(task_id="validate_version")
        def validate_version(prepared: dict, ti=None) -> dict:
            """Re-runs the target environment's validation level on the version."""
            from include.task_policy import run_step
            from include.workflow import promotion as steps

            return run_step(steps.validate, workflow, prepared, ti.run_id)

        @task(task_id="summarize_changes")
        def summarize_changes(prepared: dict, ti=None) -> dict:
            """Diff summary (symbols, footprints, parts) against the target's live version."""
            from include.workflow import promotion as steps

            return steps.summarize_changes(workflow, prepared, ti.run_id)

        @task(task_id="approval_bodies")
        def approval_bodies(changes: dict) -> list[str]:
            """One message per required approver (with the diff summary): the mapped approval's bodies."""
            return changes["bodies"]

        prepared = prepare()
        changes = summarize_changes(prepared)
        validate_version(prepared) >> changes
        approve = HITLOperator.partial(
            task_id="approve",
            subject=f"{workflow}: promote version {{{{ ti.xcom_pull(task_ids='prepare')['version'] }}}}",
            options=OPTIONS,
            params={"comment": Param("", type=["null", "string"], title="Comment")},
            response_timeout=APPROVAL_TIMEOUT,
            pre_execute=_level,
            notifiers=[_notify("approval_required")],
            on_success_callback=_notify("approval_answered"),
            doc_md="One required approver's answer (mapped over the approval level's approvers).",
            retries=0,
        ).expand(body=approval_bodies(changes))

        @task(task_id="check_approvals", trigger_rule="all_done")
        def check_approvals(ti=None) -> dict:
            """Fails unless N distinct users approved (the same user twice counts once) and none rejected."""
            from include.task_policy import run_step
            from include.workflow import promotion as steps

            # one slot's answer alone comes back as a single value: the step takes either
            answers = ti.xcom_pull(task_ids="approve")
            return run_step(steps.check_approvals, workflow, answers, ti.run_id)

        # the migration DAG's deploy tasks share this pool of one slot (include.workflow.concurrency)
        @task(task_id="publish", on_success_callback=PUBLISHED[workflow], pool="deployments")
        def publish(prepared: dict, ti=None) -> dict:
            """Publishes exactly the approved files to the target, then switches the pointer."""
            from include.workflow import promotion as steps

            return steps.publish(workflow, prepared, ti.run_id)

        @task(task_id="commit_to_git")
        def commit_to_git(prepared: dict, changes: dict, ti=None) -> dict | None:
            """Commits the promoted version and its diff summary to the target's git repository."""
            from include.workflow import promotion as steps

            return steps.commit_to_git(workflow, prepared, changes, ti.run_id)

        checked = check_approvals()
        approve >> checked
        done = publish(prepared)
        done >> commit_to_git(prepared, changes)
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


@dag(
    dag_id="rollback_environment",
    description="Switch an environment back to its previous library version (one triggered run)",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        **DEFAULT_ARGS,
        "pre_execute": _log_level(lambda config, context: context["params"]["environment"]),
    },
    tags=["altium2kicad", "promotion"],
    doc_md=__doc__,
    params={
        "environment": Param("production", type="string", title="Environment"),
        "version": Param(
            None,
            type=["null", "string"],
            title="Version",
            description="Version to switch back to; empty: the one live before the current one.",
        ),
    },
)
def rollback_environment():
    @task(task_id="rollback")
    def rollback(params=None, ti=None) -> dict:
        """Points the environment at its previous version again (kept under versions/, no copy)."""
        from include.task_policy import run_step
        from include.workflow import promotion as steps

        return run_step(steps.rollback, params["environment"], params.get("version"), ti.run_id)

    rollback()


rollback_environment()
