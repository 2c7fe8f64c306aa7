"""Every DAG imports fast, without errors, with tags, retries and owners (Astronomer's template)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert DAG_FILES, "no DAG files found"
    assert dagbag.import_errors == {}, "\n".join(f"{k}: {v}" for k, v in dagbag.import_errors.items())
    assert {
        "full_library_migration",
        "promote_dev_to_test",
        "promote_test_to_prod",
        "rollback_environment",
    } <= set(dagbag.dags)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_fast_and_light(path):
    """Parsing must not pull heavy libraries (GE, pandas, boto3, the converter) or take long."""
    probe = (
        "import sys, time, runpy, airflow.sdk, airflow.providers.standard.operators.hitl\n"
        "t = time.perf_counter()\n"
        f"runpy.run_path({str(path)!r})\n"
        "print(time.perf_counter() - t)\n"
        "heavy = [m for m in ('great_expectations', 'pandas', 'boto3', 'converters', 'include') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seconds, heavy = (
        out.stdout.strip().splitlines()[-2:] if out.stdout.strip().count("\n") else (out.stdout.strip(), "")
    )
    assert float(seconds) < 2.0, f"{path.name} took {seconds}s to parse"
    assert heavy == "", f"{path.name} imports {heavy} at parse time"


# Tasks that give the same answer when repeated (gates, deployment checks, approvals) never retry.
# Gates retry transient errors and stop at once on a failed gate (AirflowFailException,
# include/task_policy.py); only the human approvals never retry.
NO_RETRY_TASKS = {
    "full_library_migration": {
        "migration.review_test_results",
        "deployment.user_acceptance_testing",
    },
    # a DR test measures one attempt of each restore (a retry would hide a slow or failed one)
    "dr_test": {"database_recovery", "application_recovery", "site_failover", "data_integrity", "report"},
    "promote_dev_to_test": {"approve"},
    "promote_test_to_prod": {"approve"},
    "rollback_environment": set(),
    # an update step that fails is undone by `rollback` (configuration restored, DAGs resumed), not
    # repeated half-applied
    "application_updates": {
        "backup_configuration",
        "pause_dags",
        "apply_release_configuration",
        "apply_migrations",
        "resume_dags",
        "verify_update",
    },
}


def test_dags_have_tags_owners_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        # Airflow gives every task retries=0 when nothing is said: only a positive default is a policy
        default = dag.default_args.get("retries") or 0
        assert default > 0, f"{dag_id} has no default retries"
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", f"{dag_id}.{t.task_id} has no owner"
            assert t.retries in (0, default), f"{dag_id}.{t.task_id} retries {t.retries}, not 0 or {default}"
        no_retry = {t.task_id for t in dag.tasks if t.retries == 0}
        assert no_retry == NO_RETRY_TASKS.get(dag_id, no_retry), f"{dag_id}: tasks without retries"


def test_full_library_migration_shape(dagbag):
    """Stages and task ids exactly as the project template in the default configuration."""
    from include.config import DEFAULT_CONFIG, load_config

    template = load_config(DEFAULT_CONFIG).project_templates["full_library_migration"]
    dag = dagbag.dags["full_library_migration"]
    expected = {f"{s.name}.{t}" for s in template.stages for t in s.tasks}
    assert set(dag.task_ids) == expected
    assert set(dag.params.keys()) == {
        "source",
        "environment",
        "sample_size",
        "parts_conn_id",
        "mapping_rules",
    }
    for name in dag.params.keys():
        assert dag.params.get_param(name).description, f"param {name} has no description"
    # order: each stage waits for the one before it
    tasks = dag.task_dict
    assert "preparation.setup_validation_criteria" in tasks["migration.run_test_migration"].upstream_task_ids
    assert "migration.run_full_migration" in tasks["validation.validate_symbols"].upstream_task_ids
    assert {
        "validation.validate_symbols",
        "validation.validate_footprints",
        "validation.validate_3d_models",
        "validation.validate_migration",
    } <= tasks["deployment.deploy_to_test_environment"].upstream_task_ids
    from airflow.providers.standard.operators.hitl import HITLOperator

    config = load_config(DEFAULT_CONFIG)
    approvals = {"migration.review_test_results", "deployment.user_acceptance_testing"}
    for task_id in approvals:
        # mapped over the level's required approvers, counted by check_<name> before the next step
        group, name = task_id.split(".")
        approve = tasks[task_id]
        assert approve.operator_class is HITLOperator, task_id
        assert approve.partial_kwargs.get("pre_execute") is not None, f"{task_id} ignores approvals.levels"
        assert f"{group}.{name}_bodies" in approve.upstream_task_ids
        check = tasks[f"{group}.check_{name}"]
        assert check.upstream_task_ids == {task_id} and check.trigger_rule == "all_done_min_one_success"
    assert "migration.check_review_test_results" in tasks["migration.run_full_migration"].upstream_task_ids
    assert (
        "deployment.check_user_acceptance_testing"
        in tasks["deployment.deploy_to_production"].upstream_task_ids
    )
    # the scheduler reads this from the parsed DAG: it must match the documented configuration value
    assert (
        tasks["migration.run_full_migration"].max_active_tis_per_dagrun
        == config.workflows.max_parallel_libraries
    )
    # owners come from the parsed DAG too: every task but an approval belongs to its stage's owner
    for task_id, t in tasks.items():
        if task_id not in approvals:
            assert t.owner == config.task_assignment.stages[task_id.split(".")[0]], task_id


def test_promotion_dags_shape(dagbag):
    """Approval mapped over the required approvers; only test_to_prod waits for its window, deferred."""
    from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync

    to_test, to_prod = dagbag.dags["promote_dev_to_test"], dagbag.dags["promote_test_to_prod"]
    assert "wait_for_window" not in to_test.task_dict
    wait = to_prod.task_dict["wait_for_window"]
    assert isinstance(wait, DateTimeSensorAsync)
    assert "check_approvals" in wait.upstream_list[0].upstream_task_ids
    assert "wait_for_window" in to_prod.task_dict["publish"].upstream_task_ids
    for dag in (to_test, to_prod):
        assert dag.task_dict["approve"].partial_kwargs.get("pre_execute") is not None  # levels at run time
        assert dag.task_dict["check_approvals"].trigger_rule == "all_done"
