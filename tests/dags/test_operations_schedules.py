"""The guide's operation schedules are the schedules of DAGs, and the configuration documents them."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


# The guide's backup and disaster-recovery schedules (the maintenance DAGs are tested with them).
GUIDE = {
    "backup_full": "0 1 * * 0",  # Sunday 01:00
    "backup_incremental": "0 1 * * *",  # daily 01:00
    "backup_transaction_logs": "0 * * * *",  # hourly
    "backup_verification": "0 5 * * 1",  # Monday 05:00
    "dr_test": "@quarterly",  # quarterly (and triggerable)
}


def _cron(dag) -> str:
    return dag.schedule


def test_backup_schedules(dagbag):
    from include.config import DEFAULT_CONFIG, load_config

    cfg = load_config(DEFAULT_CONFIG)
    assert dagbag.import_errors == {}
    for dag_id, cron in GUIDE.items():
        assert _cron(dagbag.dags[dag_id]) == cron, dag_id
    expected = GUIDE
    assert cfg.backup.full.schedule == expected["backup_full"] and cfg.backup.full.keep == 4
    assert (
        cfg.backup.incremental.schedule == expected["backup_incremental"]
        and cfg.backup.incremental.keep == 14
    )
    assert cfg.backup.verification.schedule == expected["backup_verification"]
    logs = cfg.backup.transaction_logs
    assert (logs.schedule, logs.keep) == (expected["backup_transaction_logs"], 24)
    assert (cfg.business_continuity.rto_hours, cfg.business_continuity.rpo_hours) == (4, 1)


def test_maintenance_schedules(dagbag):
    """database_optimization Sunday 02:00, application_updates the 15th at 03:00, housekeeping daily,
    announcements hourly; each one run at a time."""
    expected = {
        "database_optimization": "0 2 * * 0",
        "application_updates": "0 3 15 * *",
        "housekeeping": "0 4 * * *",
        "maintenance_announcements": "0 * * * *",
    }
    for dag_id, cron in expected.items():
        dag = dagbag.dags[dag_id]
        assert (_cron(dag), dag.max_active_runs, dag.catchup) == (cron, 1, False), dag_id
    updates = dagbag.dags["application_updates"]
    rollback = updates.get_task("rollback")
    assert rollback.trigger_rule == "one_failed"
    assert set(updates.task_ids) - {"rollback"} == rollback.upstream_task_ids  # any failed step rolls back
    assert [t.task_id for t in updates.leaves] == ["rollback"]  # the watcher decides the run's state
    optimization = dagbag.dags["database_optimization"]
    assert optimization.get_task("optimize_library_db").upstream_task_ids == {"backup_before_optimization"}
