"""The migration's approvals counted against their level (include/workflow/migration_approvals.py):
distinct users, a rejection's reason in the audit log and the report, automatic approvals.

Real library database (a scratch PostgreSQL database); the answers are the HITL payloads Airflow
hands the check (`responded_by_user` None: the level's timeout default answered).
"""

from __future__ import annotations

import pytest

from include import pipeline
from include.config import DEFAULT_CONFIG, load_config
from include.workflow import migration_approvals
from include.workflow.approvals import ApprovalRefused

REVIEW = "migration.review_test_results"


def _answer(user: str | None, option: str = "Approve", comment: str = "") -> dict:
    return {
        "chosen_options": [option],
        "params_input": {"comment": comment},
        "responded_at": "2026-12-03T09:00:00+00:00",
        "responded_by_user": {"id": user, "name": user} if user else None,
    }


@pytest.fixture
def rc(tmp_path, monkeypatch, pg_url):
    """A started run whose technical_review needs two distinct approvers (engineer, library_manager)."""
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", pg_url)
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.approvals.levels["technical_review"].required_approvers = 2
    config.task_assignment.roles = {"engineer": ["alice"], "library_manager": ["bob"]}
    run = pipeline.RunContext("manual__levels", "full_library_migration", {}, config, "tester")
    run.store.start_run(run.run_id, run.dag_id, str(tmp_path), "development", "basic", str(run.folder))
    run.store.update_run(run.run_id, report_path=str(run.report_path))
    return run


def _audit(rc) -> list[tuple[str, str, dict]]:
    return [(a.actor, a.action, a.detail) for a in rc.store.audit_log(rc.run_id)]


def test_one_body_per_required_approver(rc):
    bodies = migration_approvals.approval_bodies(REVIEW, "Test migration of 1 of 3", rc)
    assert len(bodies) == 2 and all(b.startswith("Test migration of 1 of 3") for b in bodies)
    assert "Approver 2 of 2" in bodies[1] and "technical_review" in bodies[1]


def test_the_same_user_twice_does_not_pass(rc):
    with pytest.raises(ApprovalRefused, match=r"1 distinct approver\(s\) of 2"):
        migration_approvals.check_approvals(REVIEW, [_answer("alice"), _answer("alice")], rc)
    audit = _audit(rc)
    assert [(who, what) for who, what, _ in audit] == [
        ("alice", "approval_granted"),
        ("alice", "approval_granted"),
        ("airflow", "approval_outcome"),
    ]
    assert audit[-1][2]["approved"] is False and audit[-1][2]["task"] == REVIEW
    assert rc.store.run(rc.run_id).status == "rejected"


def test_two_distinct_users_pass(rc):
    result = migration_approvals.check_approvals(REVIEW, [_answer("alice"), _answer("bob")], rc)
    assert result["approvers"] == ["alice", "bob"] and result["level"] == "technical_review"
    outcome = _audit(rc)[-1]
    assert outcome[1] == "approval_outcome" and outcome[2]["approved"] is True
    assert rc.store.run(rc.run_id).status == "running"


def test_a_rejection_stops_with_the_reason_in_the_audit_log_and_the_report(rc):
    answers = [_answer("alice"), _answer("bob", "Reject", "pins off the 50 mil grid")]
    with pytest.raises(ApprovalRefused, match="rejected by bob: pins off the 50 mil grid"):
        migration_approvals.check_approvals(REVIEW, answers, rc)
    audit = _audit(rc)
    rejected = next(d for _, what, d in audit if what == "approval_rejected")
    assert rejected == {
        "level": "technical_review",
        "at": "2026-12-03T09:00:00+00:00",
        "comment": "pins off the 50 mil grid",
        "automatic": False,
        "task": REVIEW,
    }
    assert audit[-1][2]["reason"] == "technical_review: rejected by bob: pins off the 50 mil grid"
    report = rc.report_path.read_text()
    stopped = report.split("Why the run stopped", 1)[1].split("</ul>", 1)[0]
    assert "rejected by bob: pins off the 50 mil grid" in stopped and REVIEW in stopped


def test_an_automatic_approval_is_recorded_as_automatic(rc):
    rc.config.approvals.levels["technical_review"].auto_approve_after = 4
    result = migration_approvals.check_approvals(REVIEW, [_answer(None), _answer(None)], rc)
    assert result["approvers"] == ["airflow:auto"]
    granted = [(who, d) for who, what, d in _audit(rc) if what == "approval_granted"]
    assert granted and all(who == "airflow:auto" and d["automatic"] for who, d in granted)


def test_a_one_approver_level_takes_the_single_answer_xcom_pull_returns(rc):
    """quality_review has one slot: Airflow's xcom_pull then returns that slot's payload itself."""
    result = migration_approvals.check_approvals("deployment.user_acceptance_testing", _answer("bob"), rc)
    assert result == {
        "level": "quality_review",
        "reason": "quality_review: approved by bob",
        "approvers": ["bob"],
    }
