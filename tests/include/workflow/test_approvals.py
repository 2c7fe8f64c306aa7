"""Distinct approvers, rejection reasons and automatic approvals (include/workflow/approvals.py),
and the migration approvals' settings taken from the configuration when they run."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator

from include.config import DEFAULT_CONFIG
from include.workflow import approvals
from include.workflow.approvals import tally


def _answer(user: str | None, option: str = "Approve", comment: str = "") -> dict:
    return {
        "chosen_options": [option],
        "params_input": {"comment": comment} if comment else {},
        "responded_at": "2026-12-05T01:30:00+00:00",
        "responded_by_user": {"id": user, "name": user} if user else None,
    }


def test_two_distinct_users_approve():
    t = tally("final_approval", 2, [_answer("alice"), _answer("bob")])
    assert t.approved and t.approvers == ["alice", "bob"]


def test_same_user_twice_is_not_enough():
    t = tally("final_approval", 2, [_answer("alice"), _answer("alice")])
    assert not t.approved
    assert "1 distinct approver(s) of 2" in t.reason()


def test_rejection_names_reviewer_and_reason():
    t = tally("final_approval", 2, [_answer("alice"), _answer("bob", "Reject", "footprints off-grid")])
    assert not t.approved
    assert t.reason() == "final_approval: rejected by bob: footprints off-grid"


def test_automatic_approval_is_recorded_as_such():
    t = tally("quality_review", 1, [_answer(None)])
    assert t.approved and t.decisions[0].automatic and t.approvers == ["airflow:auto"]


def test_timeout_comes_from_the_config_at_run_time(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(
        DEFAULT_CONFIG.read_text().replace("response_timeout_hours: 72", "response_timeout_hours: 1.5")
    )
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))
    task = ApprovalOperator(
        task_id="migration.review_test_results", subject="s", response_timeout=timedelta(hours=72)
    )
    approvals.apply_settings({"task": task})
    assert task.response_timeout == timedelta(hours=1.5)


def test_reviewers_from_the_config_are_the_only_assigned_users(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(DEFAULT_CONFIG.read_text().replace("reviewers: []", "reviewers: [alice, bob]"))
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))
    task = ApprovalOperator(task_id="migration.review_test_results", subject="s")
    approvals.apply_settings({"task": task})
    assert task.assigned_users == [{"id": "alice", "name": "alice"}, {"id": "bob", "name": "bob"}]


def test_no_reviewers_leaves_the_approval_open_to_anyone(monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(DEFAULT_CONFIG))
    task = ApprovalOperator(task_id="migration.review_test_results", subject="s")
    approvals.apply_settings({"task": task})
    assert not task.assigned_users


def test_a_retried_check_records_its_decisions_once(tmp_path):
    from include.library_db.store import LibraryStore

    store = LibraryStore(f"sqlite:///{tmp_path}/lib.db")
    store.start_run("r1", "promote_test_to_prod", "/src", "production", "strict", str(tmp_path))
    result = tally("final_approval", 2, [_answer("alice"), _answer("bob")])
    for _ in range(2):  # the check task's first attempt failed after recording; its retry
        approvals.record(store, "r1", result, "deployment.user_acceptance_testing")
    approvals.record(store, "r1", tally("quality_review", 1, [_answer("carol")]), "other.approval")
    actions = [(a.actor, a.action) for a in store.audit_log("r1")]
    assert actions == [
        ("alice", "approval_granted"),
        ("bob", "approval_granted"),
        ("airflow", "approval_outcome"),
        ("carol", "approval_granted"),
        ("airflow", "approval_outcome"),
    ]
    # cleared in the UI and answered again (a new answer, a new time): recorded
    again = _answer("carol") | {"responded_at": "2026-12-06T09:00:00+00:00"}
    approvals.record(store, "r1", tally("quality_review", 1, [again]), "other.approval")
    assert [(a.actor, a.action) for a in store.audit_log("r1")][5:] == [("carol", "approval_granted")]
