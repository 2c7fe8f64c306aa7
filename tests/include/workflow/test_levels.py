"""Approval levels applied to a HITL task: users from roles, automatic approval (include/workflow)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from include.config import DEFAULT_CONFIG, load_config
from include.workflow.approvals import apply_level, level_settings


def test_level_users_from_roles_and_assignment_rules():
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.task_assignment.roles = {
        "release_manager": ["bob"],
        "library_manager": ["alice"],
        "qa_engineer": ["c"],
    }
    config.task_assignment.assignment_rules = {"qa_engineer": ["promote_test_to_prod.approve"]}
    settings = level_settings(config, "final_approval", "promote_test_to_prod.approve")
    assert settings.users == ["bob", "alice", "c"] and settings.required == 2 and not settings.automatic


def test_auto_approve_after_becomes_timeout_with_default_answer():
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.approvals.levels["quality_review"].auto_approve_after = 4
    task = SimpleNamespace(task_id="approve", response_timeout=None, defaults=None, assigned_users=None)
    apply_level(task, level_settings(config, "quality_review"))
    assert task.response_timeout == timedelta(hours=4) and task.defaults == ["Approve"]
    assert task.assigned_users is None  # no users configured for qa_engineer: anyone with access
