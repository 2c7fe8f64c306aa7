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


def _release_with(tmp_path, name: str, statuses: list[str]):
    import json

    release = tmp_path / name
    (release / "footprints" / "L.pretty").mkdir(parents=True)
    rows = []
    for i, status in enumerate(statuses):
        (release / "footprints" / "L.pretty" / f"F{i}.kicad_mod").write_text(f'(footprint "F{i}")')
        rows.append(
            {"source": "L.PcbLib", "item": f"F{i}", "kind": "footprint", "status": status, "messages": []}
        )
    rows.append({"source": "L.PcbLib", "item": "L.PcbLib", "kind": "library", "status": "ok", "messages": []})
    (release / "report.json").write_text(json.dumps({"items": rows}))
    return release


def test_promotion_revalidates_at_the_target_level(config, tmp_path):
    """A version with one failed item passed development (basic); testing (full) refuses it by name."""
    from include.quality_gates import GateFailed

    publish_local(
        _release_with(tmp_path, "r2", ["ok", "failed"]),
        config.path("var/altium2kicad/deploy/development"),
        "v2",
    )
    prepared = promotion.prepare("dev_to_test", None, config=config)
    with pytest.raises(GateFailed, match=r"(?s)testing.s level full.*L.PcbLib: F1"):
        promotion.validate("dev_to_test", prepared, "run3", config)
    audit = LibraryStore(config.library_db_url()).audit_log("run3")
    assert audit[0].action == "promotion_validated" and audit[0].detail["level"] == "full"
    assert not audit[0].detail["gates"]["conversion_results.footprints"]
    clean = _release_with(tmp_path, "r3", ["ok", "ok"])
    publish_local(clean, config.path("var/altium2kicad/deploy/development"), "v3")
    assert (
        promotion.validate(
            "dev_to_test", promotion.prepare("dev_to_test", None, config=config), None, config
        )["level"]
        == "full"
    )


def test_rollback_switches_back_without_copying(config, tmp_path):
    from include.deployment import DeploymentError, current_local

    prod = config.path(config.environments["production"].target.path)
    with pytest.raises(DeploymentError, match="no previous version"):
        promotion.rollback("production", None, "rb0", config)
    publish_local(_release_with(tmp_path, "a", ["ok"]), prod, "a")
    publish_local(_release_with(tmp_path, "b", ["ok", "ok"]), prod, "b")
    result = promotion.rollback("production", None, "rb1", config)
    assert (result["version"], result["previous"], current_local(prod)) == ("a", "b", "a")
    assert sorted(p.name for p in (prod / "current" / "footprints" / "L.pretty").iterdir()) == [
        "F0.kicad_mod"
    ]
    assert promotion.rollback("production", None, "rb2", config)["version"] == "b"  # and forward again
