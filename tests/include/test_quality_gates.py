"""Quality gates: suites are data, levels choose expectations, failures name the items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.quality_gates import EXPECTATIONS, LEVELS, load_suite, run_suite


def test_every_suite_is_valid_json_with_levels():
    names = sorted(p.stem for p in EXPECTATIONS.glob("*.json"))
    assert names == [
        "conversion_results",
        "database_library",
        "footprint_drc",
        "footprints",
        "libraries",
        "migration_outcome",
        "models",
        "source_parts",
        "symbols",
    ]
    for name in names:
        data = json.loads((EXPECTATIONS / f"{name}.json").read_text())
        assert data["name"] == name and data["expectations"]
        for e in data["expectations"]:
            assert set(e["meta"]["levels"]) <= set(LEVELS) and e["meta"]["notes"]
    assert len(load_suite("symbols", "basic")["expectations"]) < len(
        load_suite("symbols", "full")["expectations"]
    )


ROWS = [
    {
        "item": "Lib:OK",
        "written": "Lib:OK",
        "pins_written": 2,
        "pins_source": 2,
        "pins_read": 2,
        "pin_records": 2,
        "duplicate_pins": None,
        "off_grid_pins": None,
    },
    {
        "item": "Lib:BAD",
        "written": "Lib:BAD",
        "pins_written": 3,
        "pins_source": 2,
        "pins_read": 2,
        "pin_records": 2,
        "duplicate_pins": "unit 1: 3",
        "off_grid_pins": "1 at (0.1, 0)",
    },
]


def test_failed_gate_names_expectation_and_item(tmp_path):
    outcome = run_suite("symbols", "full", ROWS, tmp_path)
    assert not outcome.success
    failed = {e.expectation: e.failed_items for e in outcome.failures()}
    assert failed == {
        "expect_column_pair_values_to_be_equal": ["Lib:BAD (3 vs 2)"],
        "expect_column_values_to_be_null": ["Lib:BAD (unit 1: 3)"],
    }
    assert [e.column for e in outcome.warnings()] == ["off_grid_pins"]  # the 50 mil grid only warns
    assert "Lib:BAD" in outcome.message() and "pin count equals the source" in outcome.message()
    assert Path(outcome.data_docs).is_file()


def test_levels_differ_and_good_rows_pass():
    assert run_suite("symbols", "basic", ROWS[:1]).success
    status = [{"item": "a", "kind": "symbol", "status": "failed", "target": None}]
    assert run_suite("conversion_results", "basic", status).success  # development: reported only
    assert not run_suite("conversion_results", "full", status).success
    with pytest.raises(ValueError, match="validation level"):
        load_suite("symbols", "lenient")


def test_gx_sees_only_the_checked_columns_and_failures_keep_their_names():
    """The frame GX validates (and hashes) holds the columns the suite reads; a failed row is
    still named by its `item`, which GX never saw."""
    from include.quality_gates import _checked_columns

    rows = [
        {"item": "Lib:R1", "written": "Lib:R1", "pads_written": 2, "pads_source": 2, "courtyard": True},
        {"item": "Lib:C1", "written": None, "pads_written": -1, "pads_source": 2, "courtyard": False},
    ]
    suite = load_suite("footprints", "strict")
    assert _checked_columns(suite, rows) == ["written", "pads_written", "pads_source", "courtyard"]
    assert "item" not in _checked_columns(suite, rows)
    # an expectation that may read any column (a row condition) gets them all
    condition = {"column": "written", "row_condition": 'item=="x"'}
    conditioned = {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": condition}]}
    assert _checked_columns(conditioned, rows)[0] == "item"
    outcome = run_suite("footprints", "strict", rows)
    failed = {e.column: e.failed_items for e in outcome.failures()}
    assert failed["written"] == ["Lib:C1 (nan)"] and failed["pads_written=pads_source"] == [
        "Lib:C1 (-1 vs 2)"
    ]
