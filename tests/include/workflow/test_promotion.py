"""A promotion without Airflow: version picked, approvals counted and audited, exact files published."""

from __future__ import annotations

import pytest

from include.config import DEFAULT_CONFIG, load_config
from include.deployment import DeploymentError, publish_local
from include.library_db.store import LibraryStore
from include.workflow import promotion
from include.workflow.approvals import ApprovalRefused
from include.workflow.promotion import manifest


def _answer(user, option="Approve"):
    return {"chosen_options": [option], "responded_at": "t", "responded_by_user": {"id": user, "name": user}}


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", f"sqlite:///{tmp_path / 'lib.db'}")
    release = tmp_path / "release"
    (release / "symbols").mkdir(parents=True)
    (release / "symbols" / "R.kicad_sym").write_text("(kicad_symbol_lib)")
    cfg = load_config(DEFAULT_CONFIG)
    publish_local(release, cfg.path(cfg.environments["testing"].target.path), "v1")
    return cfg


def test_test_to_prod_publishes_the_accepted_files(config):
    prepared = promotion.prepare("test_to_prod", None, config=config)
    assert prepared["version"] == "v1" and len(prepared["slots"]) == 2
    with pytest.raises(ApprovalRefused, match="1 distinct approver"):
        promotion.check_approvals("test_to_prod", [_answer("alice"), _answer("alice")], "run1", config)
    promotion.check_approvals("test_to_prod", [_answer("alice"), _answer("bob")], "run2", config)
    result = promotion.publish("test_to_prod", prepared, "run2", config)
    prod = config.path(config.environments["production"].target.path) / "current"
    assert manifest(prod) == manifest(__import__("pathlib").Path(prepared["folder"]))
    store = LibraryStore(config.library_db_url())
    assert [(a.actor, a.action) for a in store.audit_log("run2")] == [
        ("alice", "approval_granted"),
        ("bob", "approval_granted"),
        ("airflow", "approval_outcome"),
        ("airflow", "promoted_test_to_prod"),
    ]
    assert result["version"] == "v1"


def test_changed_after_approval_is_not_published(config):
    prepared = promotion.prepare("test_to_prod", None, config=config)
    (__import__("pathlib").Path(prepared["folder"]) / "symbols" / "R.kicad_sym").write_text("tampered")
    with pytest.raises(DeploymentError, match="changed since it was approved"):
        promotion.publish("test_to_prod", prepared, None, config)
