"""full_library_migration: move a whole Altium library to KiCad through quality gates.

Wiring only: every task calls one function of `include.pipeline`, imported inside the task so
parsing this file stays fast. Stages, task ids and their order follow
config/altium2kicad.yaml `project_templates.full_library_migration`. Notifications are callbacks
(include.notifications, routed by `notifications.events`): migration_started when the first task
starts, stage_complete when a stage's last task succeeds, approval_required/granted/rejected from
the approval tasks, error_occurred from any failed task, migration_completed after
deploy_to_production. Whatever ends a run (deployed, a gate, a failed task, a rejection), the
DAG's own success and failure callback records its final state, metrics and report
(include.run_outcome).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
import yaml
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, dag, task, task_group

CONFIG = Path(os.environ.get("ALTIUM2KICAD_CONFIG") or Path(__file__).parents[1] / "config/altium2kicad.yaml")
# The deploy tasks share this pool of one slot (include.workflow.concurrency creates it): two runs
# never publish at once.
DEPLOY_POOL = "deployments"


def max_concurrent_migrations() -> int:
    """deployment.max_concurrent_migrations, read from the YAML as the DAG is parsed: the scheduler
    takes max_active_runs from the parsed DAG (include.workflow.concurrency says why not a pool)."""
    try:
        doc = yaml.safe_load(CONFIG.read_text(encoding="utf-8")) or {}
        value = int((doc.get("deployment") or {}).get("max_concurrent_migrations", 10))
    except (OSError, yaml.YAMLError, TypeError, ValueError):
        return 10  # the tasks validate the configuration and report the broken file
    return value if value > 0 else 10


def _task_settings(context) -> None:
    from include import task_policy

    task_policy.apply_timeout(context)
    task_policy.apply_environment_log_level(context)


def _notify(event: str, **kwargs):
    """A callback sending `event` (include.notifications, imported only when the callback runs)."""

    def callback(context) -> None:
        from include import notifications

        notifications.send(event, context, **kwargs)

    callback.__name__ = callback.__qualname__ = f"notify_{event}"
    return callback


def _record_outcome(context) -> None:
    """The run's final state, metrics and report, whatever ended it (include.run_outcome)."""
    from include import run_outcome

    run_outcome.callback(context)


# Transient failures (database, S3, a lost worker) are retried; a failed quality gate or a wrong
# configuration is not (include.task_policy.run_step raises AirflowFailException for those).
# execution_timeout: the parsed fallback; each task applies workflows.execution_timeout_minutes
# when it starts (a pre_execute hook, as the approvals do for their response timeout).
DEFAULT_ARGS = {
    "owner": "library-team",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "execution_timeout": timedelta(hours=4),
    "pre_execute": _task_settings,
    "on_failure_callback": _notify("error_occurred"),
}
# The parsed DAG's approval timeout (the default of approvals.response_timeout_hours); each approval
# task replaces it with its level's when it starts (include.workflow.approvals, a pre_execute hook).
APPROVAL_TIMEOUT = timedelta(hours=72)
# max_active_tis_per_dagrun is read by the scheduler from the parsed DAG, so it cannot come from the
# configuration at run time (and the configuration is never read at parse time): keep it equal to
# workflows.max_parallel_libraries by hand.
MAX_PARALLEL_LIBRARIES = 4
# Owners per stage, likewise read from the parsed DAG: kept equal to task_assignment.stages (checked
# by the DAG test). An approval is owned by the role that answers it.
STAGE_OWNERS = {
    "preparation": "library-team",
    "migration": "library-team",
    "validation": "qa",
    "deployment": "library-admins",
}


def _stage_args(stage: str) -> dict:
    """A stage's task group defaults: its owner, and stage_complete when its last task succeeds."""
    return {"owner": STAGE_OWNERS[stage], "on_success_callback": _notify("stage_complete")}


# A plain HITL choice, not ApprovalOperator (whose "Reject" skips its direct downstream tasks): the
# check after it must always run, to count and record every answer (as in dags/promotion.py).
OPTIONS = ["Approve", "Reject"]


def _approval_settings(context) -> None:
    from include.workflow import approvals

    approvals.apply_settings(context)


def approval(group: str, name: str, subject: str, result, owner: str, doc: str):
    """A human-in-the-loop approval following its level (approvals.levels, read when it runs): one
    HITL task per required approver (mapped over `<name>_bodies`), then `check_<name>` counting
    distinct users. `result` is the upstream task's output whose summary the approvers read.
    Returns the check: what the next step waits for."""
    task_id = f"{group}.{name}"

    @task(task_id=f"{name}_bodies")
    def bodies(result: dict) -> list[str]:
        """One message per required approver of the level (the mapped approval's bodies)."""
        from include.task_policy import run_step
        from include.workflow import migration_approvals

        return run_step(migration_approvals.approval_bodies, task_id, result["summary"])

    answers = HITLOperator.partial(
        task_id=name,
        doc_md=doc,
        subject=subject,
        options=OPTIONS,
        params={"comment": Param("", type=["null", "string"], title="Comment")},
        response_timeout=APPROVAL_TIMEOUT,
        pre_execute=_approval_settings,
        notifiers=[_notify("approval_required")],
        on_success_callback=[_notify("approval_answered"), _notify("stage_complete")],
        retries=0,
        # bounded by response_timeout instead: a parsed execution_timeout would cut the wait short
        execution_timeout=None,
        owner=owner,
    ).expand(body=bodies(result))

    # every answer counted even when a slot failed (timed out), but no check when the approval was
    # never asked (its upstream failed): at least one slot must have been answered
    @task(task_id=f"check_{name}", trigger_rule="all_done_min_one_success")
    def check(ti=None) -> dict:
        """Fails unless the level's N distinct users approved (the same user twice counts once) and
        nobody rejected; every decision goes to the audit log, a refusal's reason to the report."""
        from include.task_policy import run_step
        from include.workflow import migration_approvals

        # one slot's answer alone comes back as a single value: the step takes either
        return run_step(migration_approvals.check_approvals, task_id, ti.xcom_pull(task_ids=task_id))

    checked = check()
    answers >> checked
    return checked


@dag(
    dag_id="full_library_migration",
    description="Altium library to KiCad: analysis, test migration, approval, full migration, gates, deployment",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=max_concurrent_migrations(),
    default_args=DEFAULT_ARGS,
    on_success_callback=_record_outcome,
    on_failure_callback=_record_outcome,
    tags=["altium2kicad", "migration", "library"],
    doc_md=__doc__,
    params={
        "source": Param(
            "",
            type="string",
            minLength=1,
            title="Source",
            description="Altium .DbLib, a library file (.SchLib/.PcbLib/.IntLib) or a folder of them, "
            "as a path the workers can read.",
        ),
        "environment": Param(
            "development",
            type="string",
            title="Target environment",
            description="Environment deploy_to_production publishes to (config 'environments'); "
            "it also sets the validation level: basic, full or strict.",
        ),
        "sample_size": Param(
            3,
            type="integer",
            minimum=1,
            title="Test migration sample",
            description="How many source libraries run_test_migration converts before review.",
        ),
        "parts_conn_id": Param(
            None,
            type=["null", "string"],
            title="Parts database connection",
            description="Optional Airflow connection id holding the parts database of the source's "
            "DbLibs for this run (overrides configuration parts_sources); credentials come from it.",
        ),
        "mapping_rules": Param(
            None,
            type=["null", "string"],
            title="Mapping rules file",
            description="Optional edited mapping-rules YAML (field renames, layer map, library "
            "names, footprint name fixes); empty: generated from the analysis.",
        ),
    },
)
def full_library_migration():

    @task_group(group_id="preparation", default_args=_stage_args("preparation"))
    def preparation():
        @task(
            task_id="analyze_source_library", on_execute_callback=_notify("migration_started", first_try=True)
        )
        def analyze_source_library() -> list[str]:
            """Inventory in the library database; returns the conversion units (library paths)."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.analyze_source_library)

        @task(task_id="create_mapping_rules")
        def create_mapping_rules(units: list[str]) -> dict:
            """The run's mapping rules: the edited file, or generated from the analysis."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.create_mapping_rules, units)

        @task(task_id="setup_validation_criteria")
        def setup_validation_criteria(units: list[str]) -> dict:
            """The gates' suites for the environment's level; every source library must open."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.setup_validation_criteria, units)

        analysis = analyze_source_library()
        return analysis, create_mapping_rules(analysis), setup_validation_criteria(analysis)

    @task_group(group_id="migration", default_args=_stage_args("migration"))
    def migration(units, rules, criteria):
        @task(task_id="run_test_migration")
        def run_test_migration(units: list[str], rules: dict) -> dict:
            """Converts a sample of the libraries (params.sample_size) for the reviewer to judge."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.run_test_migration, units, rules)

        test = run_test_migration(units, rules)
        reviewed = approval(
            "migration",
            "review_test_results",
            "Review the test migration of {{ params.source }}",
            test,
            owner="qa",
            doc="QA approves the test migration before the whole library is converted (one task per "
            "required approver of its level).",
        )

        @task(task_id="run_full_migration", max_active_tis_per_dagrun=MAX_PARALLEL_LIBRARIES)
        def run_full_migration(unit: str, rules: dict) -> dict:
            """Converts one library (mapped: one task per conversion unit)."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.run_full_migration, unit, rules)

        criteria >> test  # a source that fails its criteria never reaches a reviewer
        # a mapped task does not take its function's docstring by itself
        full = (
            run_full_migration.override(doc_md=run_full_migration.__doc__)
            .partial(rules=rules)
            .expand(unit=units)
        )
        reviewed >> full
        return full

    @task_group(group_id="validation", default_args=_stage_args("validation"))
    def validation(converted, criteria):
        @task(task_id="validate_symbols")
        def validate_symbols(converted: list[dict], criteria: dict) -> dict:
            """Symbol gates: each symbol written with its pins, none duplicated or off the grid."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.validate, "symbols", converted, criteria)

        @task(task_id="validate_footprints")
        def validate_footprints(converted: list[dict], criteria: dict) -> dict:
            """Footprint gates: every footprint written with its pads and a courtyard."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.validate, "footprints", converted, criteria)

        @task(task_id="validate_3d_models")
        def validate_3d_models(converted: list[dict], criteria: dict) -> dict:
            """3D model gates: each referenced model file present, with a STEP header."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.validate, "models", converted, criteria)

        @task(task_id="validate_migration")
        def validate_migration(converted: list[dict], criteria: dict) -> dict:
            """No library lost as a whole, something migrated, migration_quality against its target."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.validate_migration, converted, criteria)

        return [
            validate_symbols(converted, criteria),
            validate_footprints(converted, criteria),
            validate_3d_models(converted, criteria),
            validate_migration(converted, criteria),
        ]

    @task_group(group_id="deployment", default_args=_stage_args("deployment"))
    def deployment(converted, gates):
        @task(task_id="deploy_to_test_environment", pool=DEPLOY_POOL)
        def deploy_to_test_environment(converted: list[dict]) -> dict:
            """Publishes the converted library to workflows.test_environment for acceptance."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.deploy, converted, stage="test")

        to_test = deploy_to_test_environment(converted)
        accepted = approval(
            "deployment",
            "user_acceptance_testing",
            "User acceptance of the migrated library ({{ params.source }})",
            to_test,
            owner="library-admins",
            doc="Users accept the library in the test environment before it goes to production (one "
            "task per required approver of its level).",
        )

        @task(
            task_id="deploy_to_production",
            pool=DEPLOY_POOL,
            on_success_callback=[_notify("stage_complete"), _notify("migration_completed")],
        )
        def deploy_to_production(converted: list[dict]) -> dict:
            """Publishes the accepted library to the run's environment (params.environment)."""
            from include import pipeline
            from include.task_policy import run_step

            return run_step(pipeline.deploy, converted, stage="production")

        gates >> to_test
        accepted >> deploy_to_production(converted)

    units, rules, criteria = preparation()
    converted = migration(units, rules, criteria)
    gates = validation(converted, criteria)
    deployment(converted, gates)


full_library_migration()
