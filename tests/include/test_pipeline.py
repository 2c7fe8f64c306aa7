"""The task functions without Airflow: sample library through every stage, reruns, a broken item."""

from __future__ import annotations

from pathlib import Path

import pytest

from include import pipeline
from include.config import DEFAULT_CONFIG, load_config
from include.deployment import DeploymentError, manifest
from include.quality_gates import GateFailed


@pytest.fixture
def run_context(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.delenv("ALTIUM2KICAD_DB_URL", raising=False)
    monkeypatch.delenv("ALTIUM2KICAD_KICAD_CLI", raising=False)

    def make(source: Path, environment: str, run_id: str = "manual__t1") -> pipeline.RunContext:
        return pipeline.RunContext(
            run_id,
            "full_library_migration",
            {"source": str(source), "environment": environment, "sample_size": 1},
            load_config(DEFAULT_CONFIG),
            "tester",
        )

    return make


def test_sample_library_through_every_stage_twice(tmp_path, run_context):
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(tmp_path / "src")
    rc = run_context(tmp_path / "src", "development")
    for attempt in range(2):  # a rerun of every task replaces, never duplicates
        units = pipeline.analyze_source_library(rc)
        rules = pipeline.create_mapping_rules(units, rc)
        criteria = pipeline.setup_validation_criteria(units, rc)
        test = pipeline.run_test_migration(units, rules, rc)
        converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
        results = {
            k: pipeline.validate(k, converted, criteria, rc) for k in ("symbols", "footprints", "models")
        }
        tested = pipeline.deploy(converted, "test", rc)
        deployed = pipeline.deploy(converted, "production", rc)
        rows = rc.store.converted_items(rc.run_id)
        if attempt == 0:
            first = [(r.library, r.item, r.kind, r.status) for r in rows]
    assert sorted(Path(u).name for u in units) == [
        "Sample.PcbLib",
        "Sample.SchLib",
        "SampleIntegrated.IntLib",
    ]
    assert rules["version"] == 1  # same rules text: same version on the rerun
    assert "| Sample" in test["summary"] or "Sample" in test["summary"]
    assert [(r.library, r.item, r.kind, r.status) for r in rows] == first
    assert all(v["success"] for r in results.values() for v in r.values())
    assert results["symbols"]["symbols"]["checked"] >= 14  # 7 symbols, from the SchLib and the IntLib
    live = Path(deployed["live"])
    assert live.is_symlink() and (live / "symbols" / "Sample.kicad_sym").is_file()
    # production holds exactly the files user acceptance saw in testing (same sha256 manifest)
    assert manifest(live) == manifest(Path(tested["live"])) and len(manifest(live)) > 5
    assert deployed["manifest_sha256"] == tested["manifest_sha256"]
    metrics = rc.store.metrics(rc.run_id)
    assert metrics["migration_quality"].value == 1.0
    assert metrics["components_migrated"].value == sum(
        1 for r in rows if r.kind in ("symbol", "footprint", "model", "part")
    )
    assert rc.report_path.is_file() and rc.report_path.read_text().count("<svg") >= 20


def test_broken_item_fails_the_gate_by_name(tmp_path, run_context):
    from converters.fixtures.broken import BAD_ITEM, schlib_truncated_pin

    (tmp_path / "src").mkdir()
    schlib_truncated_pin(tmp_path / "src")
    rc = run_context(tmp_path / "src", "testing")
    units = pipeline.analyze_source_library(rc)
    rules = pipeline.create_mapping_rules(units, rc)
    criteria = pipeline.setup_validation_criteria(units, rc)
    converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
    with pytest.raises(GateFailed) as failed:
        pipeline.validate("symbols", converted, criteria, rc)
    assert BAD_ITEM in str(failed.value)
    assert "expect_column" in str(failed.value)
    gates = {g.gate: g.success for g in rc.store.gates(rc.run_id)}
    assert False in gates.values()


def test_missing_source_and_unknown_environment_are_named(tmp_path, run_context):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pipeline.analyze_source_library(run_context(tmp_path / "nowhere", "development"))
    (tmp_path / "empty").mkdir()
    from include.config import ConfigError

    with pytest.raises(ConfigError, match="no environment 'staging'"):
        pipeline.analyze_source_library(run_context(tmp_path / "empty", "staging"))


def test_production_refuses_a_release_changed_after_acceptance(tmp_path, run_context):
    """deploy_to_production publishes the accepted release, not whatever the work folders hold now."""
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(tmp_path / "src")
    rc = run_context(tmp_path / "src", "development")
    units = pipeline.analyze_source_library(rc)
    rules = pipeline.create_mapping_rules(units, rc)
    converted = [pipeline.run_full_migration(units[0], rules, rc)]
    with pytest.raises(DeploymentError, match="no release passed user acceptance"):
        pipeline.deploy(converted, "production", rc)
    pipeline.deploy(converted, "test", rc)
    accepted = sorted(p for p in (rc.folder / "release").rglob("*.kicad_*") if p.is_file())
    accepted[0].write_text("(edited after acceptance)")
    name = accepted[0].relative_to(rc.folder / "release").as_posix()
    with pytest.raises(DeploymentError, match=f"changed since user acceptance \\({name}"):
        pipeline.deploy(converted, "production", rc)
    assert not (tmp_path / "var" / "altium2kicad" / "deploy" / "development" / "current").exists()
