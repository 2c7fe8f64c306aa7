"""workflows.component_migration: each stage's approval answered by that stage's approvers."""

from __future__ import annotations

from include.config import DEFAULT_CONFIG, load_config
from include.workflow import stages
from include.workflow.approvals import LEVEL_OF_TASK, level_settings


def _config():
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.task_assignment.roles = {
        "library_manager": ["lena"],
        "project_manager": ["paul"],
        "engineer": ["erin"],
        "qa_engineer": ["quinn"],
    }
    return config


def test_migration_approvals_take_their_stage_approvers():
    config = _config()
    users = {
        task: level_settings(
            config, level, f"full_library_migration.{task}", stages.stage_of_task(task)
        ).users
        for task, level in LEVEL_OF_TASK.items()
    }
    assert users == {
        "migration.review_test_results": ["erin", "lena"],  # execution: engineer, library_manager
        "deployment.user_acceptance_testing": ["quinn", "lena"],  # deployment: qa_engineer, library_manager
    }
    # without stage approvers the level's own roles answer (technical_review: engineer, library_manager)
    config.workflows.component_migration.stages = {}
    assert level_settings(config, "quality_review", None, "deployment").users == ["quinn"]


def test_stage_complete_and_workflow_complete_recipients():
    config = _config()
    assert stages.stage_of_task("preparation.analyze_source_library") == "planning"
    assert stages.stage_complete_recipients(config, "planning") == ["erin", "lena"]
    assert stages.stage_complete_recipients(config, "execution") == ["quinn"]
    assert stages.stage_complete_recipients(config, "deployment") == []
    assert stages.participants(config) == ["lena", "paul", "erin", "quinn"]
