"""Approval tasks take their response timeout from the configuration when they run."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator

from include import approvals
from include.config import DEFAULT_CONFIG


def test_timeout_comes_from_the_config_at_run_time(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(
        DEFAULT_CONFIG.read_text().replace("response_timeout_hours: 72", "response_timeout_hours: 1.5")
    )
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))
    task = ApprovalOperator(task_id="review", subject="s", response_timeout=timedelta(hours=72))
    approvals.apply_settings({"task": task})
    assert task.response_timeout == timedelta(hours=1.5)


def test_reviewers_from_the_config_are_the_only_assigned_users(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(DEFAULT_CONFIG.read_text().replace("reviewers: []", "reviewers: [alice, bob]"))
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))
    task = ApprovalOperator(task_id="review", subject="s")
    approvals.apply_settings({"task": task})
    assert task.assigned_users == [{"id": "alice", "name": "alice"}, {"id": "bob", "name": "bob"}]


def test_no_reviewers_leaves_the_approval_open_to_anyone(monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(DEFAULT_CONFIG))
    task = ApprovalOperator(task_id="review", subject="s")
    approvals.apply_settings({"task": task})
    assert not task.assigned_users
