"""Distinct approvers, rejection reasons and automatic approvals (include/workflow/approvals.py)."""

from __future__ import annotations

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
