"""full_library_migration's approvals follow approvals.levels: dag.test() runs, answered over REST.

technical_review (review_test_results) needs two distinct approvers here: alice (engineer) and bob
(library_manager), the execution stage's approver roles. quality_review (user_acceptance_testing)
approves by itself after a few seconds (auto_approve_after): the scheduler's own HITL timeout sweep
(dag.test() never runs one) answers it with the default. Real services: scratch metadata and
library databases on the local PostgreSQL, a real api-server (SimpleAuthManager) the users log in to.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
import yaml

from .approvers import Approvers, users
from .conftest import DAG_ID, REPO, _create_db, _drop_db, task_states

pytestmark = [pytest.mark.slow]
REVIEW = "migration.review_test_results"
AUTO_APPROVE_HOURS = 0.001  # 3.6 s


@pytest.fixture(scope="module")
def pipeline_env(tmp_path_factory):
    """Default config with a two-approver technical_review and a self-approving quality_review;
    the sample library as the source; every environment local."""
    from converters.fixtures.sample_library import write_sample_library
    from tests.scratch_databases import PG_SERVER

    tmp = tmp_path_factory.mktemp("migration-approvals")
    config = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    config["approvals"]["levels"]["technical_review"]["required_approvers"] = 2
    config["approvals"]["levels"]["quality_review"]["auto_approve_after"] = AUTO_APPROVE_HOURS
    config["task_assignment"]["roles"] = {"engineer": ["alice"], "library_manager": ["bob"]}
    path = tmp / "altium2kicad.yaml"
    path.write_text(yaml.safe_dump(config))
    write_sample_library(tmp / "src")
    library_db = f"a2k_lib_{uuid.uuid4().hex[:10]}"
    _create_db(library_db)
    env = {
        "ALTIUM2KICAD_CONFIG": str(path),
        "ALTIUM2KICAD_HOME": str(tmp / "home"),
        "ALTIUM2KICAD_DB_URL": f"{PG_SERVER}/{library_db}",
    }
    saved = {k: os.environ.get(k) for k in [*env, "ALTIUM2KICAD_KICAD_CLI"]}
    os.environ.pop("ALTIUM2KICAD_KICAD_CLI", None)  # the approvals are under test, not KiCad
    os.environ.update(env)
    yield {"home": tmp / "home", "db_url": env["ALTIUM2KICAD_DB_URL"], "source": tmp / "src"}
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    from include.library_db.database import engine

    engine.cache_clear()
    _drop_db(library_db)


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "full_library_migration.py"))
    assert not bag.import_errors
    return bag.dags[DAG_ID]


class TimeoutSweep:
    """Airflow's scheduler-side sweep of timed-out approvals, every second while a run goes on: a
    slot past its response_timeout takes its default answer (or fails), as under a real scheduler."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        from airflow.jobs.job import Job
        from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

        runner = SchedulerJobRunner(job=Job())
        while not self._stop.wait(1.0):
            try:
                runner.check_awaiting_input_timeouts()
            except Exception as exc:  # reported by the test, never hidden
                self.errors.append(repr(exc))

    def __enter__(self) -> TimeoutSweep:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def migrate(dag, airflow_api, pipeline_env, plan, intruder=None):
    conf = {"source": str(pipeline_env["source"]), "environment": "development", "sample_size": 1}
    with Approvers(users(airflow_api), DAG_ID, plan, intruder) as approvers, TimeoutSweep() as sweep:
        run = dag.test(run_conf=conf)
    return run, approvers, sweep


def audit(pipeline_env, run_id) -> list[tuple[str, str, dict]]:
    from include.library_db.store import LibraryStore

    return [(a.actor, a.action, a.detail) for a in LibraryStore(pipeline_env["db_url"]).audit_log(run_id)]


def run_record(pipeline_env, run_id):
    from include.library_db.store import LibraryStore

    return LibraryStore(pipeline_env["db_url"]).run(run_id)


def test_the_same_user_twice_does_not_pass_the_review(dag, airflow_api, pipeline_env):
    plan = {REVIEW: [("alice", "Approve", ""), ("alice", "Approve", "")]}
    run, approvers, sweep = migrate(dag, airflow_api, pipeline_env, plan, intruder="mallory")
    states = task_states(run)
    assert str(run.state) == "failed", (states, approvers.errors, sweep.errors)
    assert states[f"{REVIEW}[0]"] == states[f"{REVIEW}[1]"] == "success"  # one slot per approver
    assert states["migration.check_review_test_results"] == "failed"
    assert states["migration.run_full_migration"] == "upstream_failed"  # nothing converted in full
    # mallory holds no role of the execution stage: Airflow itself refuses her answers
    assert len(approvers.refused) == 2 and all("403" in r for r in approvers.refused)
    rows = audit(pipeline_env, run.run_id)
    assert [(who, what) for who, what, _ in rows if what.startswith("approval")] == [
        ("alice", "approval_granted"),
        ("alice", "approval_granted"),
        ("airflow", "approval_outcome"),
    ]
    assert next(d for _, what, d in rows if what == "approval_outcome") == {
        "level": "technical_review",
        "approved": False,
        "reason": "technical_review: 1 distinct approver(s) of 2 required (alice); "
        "a second answer by the same user does not count",
        "task": REVIEW,
    }
    assert run_record(pipeline_env, run.run_id).status == "rejected"


def test_a_rejection_stops_the_run_with_the_reason_in_the_audit_log_and_the_report(
    dag, airflow_api, pipeline_env
):
    plan = {REVIEW: [("alice", "Approve", ""), ("bob", "Reject", "pins off the 50 mil grid")]}
    run, approvers, sweep = migrate(dag, airflow_api, pipeline_env, plan)
    states = task_states(run)
    assert str(run.state) == "failed", (states, approvers.errors, sweep.errors)
    assert states["migration.check_review_test_results"] == "failed"
    assert states["deployment.deploy_to_production"] == "upstream_failed"
    rows = audit(pipeline_env, run.run_id)
    rejected = next(d for who, what, d in rows if what == "approval_rejected" and who == "bob")
    assert rejected["comment"] == "pins off the 50 mil grid" and rejected["level"] == "technical_review"
    assert rejected["automatic"] is False
    reason = "technical_review: rejected by bob: pins off the 50 mil grid"
    outcome = next(d for _, what, d in rows if what == "approval_outcome")
    assert outcome["reason"] == reason
    record = run_record(pipeline_env, run.run_id)
    report = Path(record.report_path).read_text()
    stopped = report.split("Why the run stopped", 1)[1].split("</ul>", 1)[0]
    assert reason in stopped, stopped
    assert record.status == "rejected"


def test_two_distinct_approvers_pass_and_an_automatic_approval_is_recorded_as_such(
    dag, airflow_api, pipeline_env
):
    plan = {REVIEW: [("alice", "Approve", "looks right"), ("bob", "Approve", "")]}
    run, approvers, sweep = migrate(dag, airflow_api, pipeline_env, plan)  # acceptance: nobody answers
    states = task_states(run)
    assert str(run.state) == "success", (states, approvers.errors, sweep.errors)
    assert "Approver 2 of 2 (technical_review" in approvers.bodies[REVIEW, 1]
    assert states["deployment.user_acceptance_testing[0]"] == "success"
    assert "deployment.user_acceptance_testing[1]" not in states  # quality_review: one approver
    decisions = [
        (who, d["level"], d["automatic"], d["comment"])
        for who, what, d in audit(pipeline_env, run.run_id)
        if what == "approval_granted"
    ]
    assert decisions == [
        ("alice", "technical_review", False, "looks right"),
        ("bob", "technical_review", False, ""),
        ("airflow:auto", "quality_review", True, ""),
    ]
    assert run_record(pipeline_env, run.run_id).status == "deployed"


def test_an_approval_nobody_answers_refuses_the_run_on_the_record(
    dag, airflow_api, pipeline_env, tmp_path, monkeypatch
):
    """Every slot of the review times out with no default answer: the check never runs, yet the
    run's callback records the refusal (approval_outcome, 0 of 2) and the run is rejected, saying so."""
    config = yaml.safe_load(Path(os.environ["ALTIUM2KICAD_CONFIG"]).read_text())
    config["approvals"]["response_timeout_hours"] = AUTO_APPROVE_HOURS
    edited = tmp_path / "altium2kicad.yaml"
    edited.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(edited))
    run, approvers, sweep = migrate(dag, airflow_api, pipeline_env, plan={})
    states = task_states(run)
    assert str(run.state) == "failed", (states, approvers.errors, sweep.errors)
    assert states[f"{REVIEW}[0]"] == states[f"{REVIEW}[1]"] == "failed"
    assert states["migration.check_review_test_results"] == "upstream_failed"
    reason = "technical_review: 0 distinct approver(s) of 2 required: nobody answered within 0.001 h"
    outcomes = [d for _, what, d in audit(pipeline_env, run.run_id) if what == "approval_outcome"]
    assert outcomes == [{"level": "technical_review", "approved": False, "reason": reason, "task": REVIEW}]
    record = run_record(pipeline_env, run.run_id)
    assert record.status == "rejected"
    assert f"rejected at review_test_results: {reason}" in Path(record.report_path).read_text()
