"""Never a hollow success: a lost library or nothing migrated fails at every level; quality below
the target fails at full and strict and warns at basic (crafted gate frames, real GE suites)."""

from __future__ import annotations

import pytest

from include import gate_frames
from include.inventory import Inventory, InventoryItem
from include.quality_gates import LEVELS, run_suite


def _outcome(migrated: float, quality: float, target: float = 0.95) -> list[dict]:
    metrics = {"components_migrated": (migrated, "items"), "migration_quality": (quality, "ratio")}
    return gate_frames.migration_outcome(metrics, target)


@pytest.mark.parametrize("level", LEVELS)
def test_nothing_migrated_fails_at_every_level(level):
    outcome = run_suite("migration_outcome", level, _outcome(0, 0.0, target=0.0))
    assert not outcome.success
    failed = {e.column for e in outcome.failures()}
    assert "components_migrated" in failed
    assert "0 components migrated" in outcome.message()


@pytest.mark.parametrize("level, fails", [("basic", False), ("full", True), ("strict", True)])
def test_quality_below_target(level, fails):
    outcome = run_suite("migration_outcome", level, _outcome(60, 0.6))
    assert outcome.success is not fails
    quality = [e for e in outcome.expectations if e.column == "migration_quality=quality_target"]
    assert quality and not quality[0].success
    assert quality[0].warning_only is (level == "basic")
    assert "migration_quality 60.0% (target 95%)" in quality[0].failed_items[0]


@pytest.mark.parametrize("level", LEVELS)
def test_quality_at_target_passes(level):
    outcome = run_suite("migration_outcome", level, _outcome(95, 0.95))
    assert outcome.success and not outcome.warnings()


@pytest.mark.parametrize("level", LEVELS)
def test_unopened_source_library_fails_at_every_level(level):
    inv = Inventory("src")
    inv.items = [
        InventoryItem("/src/Good.SchLib", "Good.SchLib", "library", {"type": "symbols"}),
        InventoryItem(
            "/src/Remote.DbLib",
            "Remote.DbLib",
            "library",
            {"type": "database", "error": "/src/Remote.DbLib: cannot open the parts database: refused"},
        ),
    ]
    outcome = run_suite("libraries", level, gate_frames.source_libraries(inv), gate="libraries.source")
    assert not outcome.success
    (failure,) = outcome.failures()
    assert failure.failed_count == 1 and "cannot open the parts database: refused" in failure.failed_items[0]


@pytest.mark.parametrize("level", LEVELS)
def test_library_lost_in_conversion_fails_at_every_level(level):
    rows = [
        {
            "source": "/src/A.DbLib",
            "item": "parts database",
            "kind": "library",
            "status": "failed",
            "messages": ["gone"],
        },
        {
            "source": "/src/B.SchLib",
            "item": "B.SchLib",
            "kind": "library",
            "status": "failed",
            "messages": ["bad"],
        },
        # a table or an item failing is not the library lost
        {
            "source": "/src/C.DbLib",
            "item": "Table7",
            "kind": "library",
            "status": "failed",
            "messages": ["x"],
        },
        {"source": "/src/C.DbLib", "item": "T/P1", "kind": "part", "status": "failed", "messages": ["y"]},
    ]
    frame = gate_frames.converted_libraries(rows)
    assert [r["opened"] for r in frame] == [False, False, True]
    outcome = run_suite("libraries", level, frame, gate="libraries.converted")
    assert not outcome.success
    assert outcome.failures()[0].failed_count == 2
    assert "/src/A.DbLib: gone" in outcome.message()
