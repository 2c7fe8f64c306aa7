"""Every expectation of every quality gate (expectations/*.json) fails on a crafted row and passes
good rows, at each validation level it applies to.

The rows have the columns include/gate_frames.py gives each suite. An expectation is named by its
`notes` (and whether it only warns); one added to a suite without a crafted failing row here makes
`test_every_expectation_has_a_crafted_failing_row` fail, so no gate goes untested.
"""

from __future__ import annotations

import json

import pytest

from include.quality_gates import EXPECTATIONS, LEVELS, run_suite

# Per suite: rows that pass every expectation, and per expectation (notes, warning_only) the changes
# to the first good row that must make that expectation fail.
GOOD = {
    "conversion_results": [
        {"item": "A.SchLib: R", "kind": "symbol", "status": "ok", "target": "A:R"},
        {"item": "A.SchLib: C", "kind": "symbol", "status": "warning", "target": "A:C"},
    ],
    "source_parts": [
        {"item": "P.DbLib: T/K1", "key": "K1", "table_key": "T/K1", "symbol_ref": "RES"},
        {"item": "P.DbLib: U/K1", "key": "K1", "table_key": "U/K1", "symbol_ref": "RES"},  # other table
    ],
    "symbols": [
        {
            "item": "A:R",
            "written": "A:R",
            "pins_written": 2,
            "pins_source": 2,
            "pins_read": 2,
            "pin_records": 2,
            "duplicate_pins": None,
            "off_grid_pins": None,
        }
    ],
    "footprints": [
        {"item": "F:R0603", "written": "F:R0603", "pads_written": 2, "pads_source": 2, "courtyard": True},
        {"item": "F:TP", "written": "F:TP", "pads_written": 0, "pads_source": 0, "courtyard": True},
    ],
    "models": [{"item": "F:R0603 -> R0603.step", "exists": True, "step_header": True}],
    "database_library": [{"item": "P/T/K1: A:R", "resolves": True}],
    "footprint_drc": [{"item": "F:R0603", "drc_introduced": 0, "drc_original": 0}],
    "libraries": [{"item": "A.SchLib", "opened": True}],
    "migration_outcome": [
        {"item": "run", "components_migrated": 10, "migration_quality": 0.97, "quality_target": 0.95}
    ],
}
BAD = {
    "conversion_results": {
        ("every row has a known status", False): {"status": "lost"},
        ("no item failed to convert", False): {"status": "failed"},
        ("failed items are reported (development runs go on)", True): {"status": "failed"},
    },
    "source_parts": {
        ("every part has a key", False): {"key": None, "table_key": None},
        ("keys are unique within a table", False): {"item": "P.DbLib: T/K1 again"},  # same table_key
        ("every part names a symbol", False): {"key": "K2", "table_key": "T/K2", "symbol_ref": None},
    },
    "symbols": {
        ("every converted symbol is in a written .kicad_sym", False): {"written": None, "pins_written": -1},
        ("pin count equals the source", False): {"pins_written": 3},
        ("every pin record of the source file became a pin (none skipped as damaged)", False): {
            "pins_read": 1
        },
        ("no pin number twice within a unit", False): {"duplicate_pins": "unit 1: 2"},
        ("pins on the 50 mil grid", True): {"off_grid_pins": "1 at (0.1, 0)"},
    },
    "footprints": {
        ("every converted footprint is in a written .pretty", False): {"written": None},
        ("pad count equals the source", False): {"pads_written": 1},
        ("courtyard present", False): {"courtyard": False},
        ("courtyard present", True): {"courtyard": False},
    },
    "models": {
        ("model file exists", False): {"exists": False},
        ("file starts with ISO-10303-21 (STEP)", False): {"step_header": False},
    },
    "database_library": {
        ("symbol/footprint reference names a written library item", False): {"resolves": False},
        ("symbol/footprint reference names a written library item", True): {"resolves": False},
    },
    "footprint_drc": {
        (
            "no DRC violation introduced by the conversion (silk over copper, silk overlap, malformed courtyard, ...)",
            False,
        ): {"drc_introduced": 1},
        ("no DRC violation introduced by the conversion (reported only at basic)", True): {
            "drc_introduced": 2
        },
        ("DRC violations the Altium original already has", True): {"drc_original": 1},
    },
    "libraries": {
        ("the library file and its parts database could be read", False): {"opened": False},
    },
    "migration_outcome": {
        ("at least one component was migrated (never a hollow success)", False): {"components_migrated": 0},
        ("migration_quality reaches progress_tracking.quality_target", False): {"migration_quality": 0.5},
        ("migration_quality reaches progress_tracking.quality_target (development runs go on)", True): {
            "migration_quality": 0.5
        },
    },
}


def _suite(name: str) -> list[dict]:
    return json.loads((EXPECTATIONS / f"{name}.json").read_text(encoding="utf-8"))["expectations"]


def _key(expectation: dict) -> tuple[str, bool]:
    meta = expectation.get("meta", {})
    return meta.get("notes", ""), bool(meta.get("warning_only"))


def _column(expectation: dict) -> str:
    kwargs = expectation["kwargs"]
    return kwargs.get("column") or f"{kwargs.get('column_A')}={kwargs.get('column_B')}"


def _bad_row(suite: str, key: tuple[str, bool]) -> dict:
    row = GOOD[suite][0] | BAD[suite][key]
    if "item" not in BAD[suite][key]:
        row["item"] = f"BAD {key[0]}{' (warn)' if key[1] else ''}"
    return row


SUITES = sorted(p.stem for p in EXPECTATIONS.glob("*.json"))
CASES = [
    pytest.param(name, key, level, id=f"{name}:{key[0][:30]}{':warn' if key[1] else ''}:{level}")
    for name in sorted(BAD)
    for key in BAD[name]
    for level in LEVELS
]


def test_every_expectation_has_a_crafted_failing_row():
    for name in SUITES:
        keys = [_key(e) for e in _suite(name)]
        assert len(keys) == len(set(keys)), f"{name}: two expectations share notes and warning_only"
        missing = set(keys) - set(BAD.get(name, {}))
        assert not missing, f"suite {name}: no crafted failing row for {sorted(missing)} in {__file__}"
        assert not set(BAD.get(name, {})) - set(keys), f"{name}: crafted rows for expectations gone"


@pytest.mark.parametrize("name", SUITES)
@pytest.mark.parametrize("level", LEVELS)
def test_good_rows_pass_every_expectation(name, level):
    outcome = run_suite(name, level, GOOD[name])
    assert outcome.success and not outcome.warnings(), outcome.message()
    assert all(e.success for e in outcome.expectations)


@pytest.mark.parametrize(("name", "key", "level"), CASES)
def test_crafted_row_fails_its_expectation(name, key, level):
    expectation = next(e for e in _suite(name) if _key(e) == key)
    applies = level in expectation.get("meta", {}).get("levels", LEVELS)
    bad = _bad_row(name, key)
    outcome = run_suite(name, level, GOOD[name] + [bad])
    mine = [
        e
        for e in outcome.expectations
        if e.expectation == expectation["type"]
        and e.column == _column(expectation)
        and e.notes == key[0]
        and e.warning_only == key[1]
    ]
    if not applies:
        assert mine == [], f"{key} is not applied at level {level}"
        return
    assert len(mine) == 1
    result = mine[0]
    # a repeated value is unexpected in both rows that hold it, the good one too
    pairs = expectation["type"] == "expect_column_values_to_be_unique"
    assert not result.success and result.failed_count == (2 if pairs else 1)
    assert any(i.startswith(bad["item"]) for i in result.failed_items), result.failed_items
    goods = {r["item"] for r in GOOD[name]}
    for other in outcome.expectations:  # good rows fail nothing else, whatever the bad row does
        if not (pairs and other is result):
            wrong = [
                i
                for i in other.failed_items
                if not i.startswith(bad["item"]) and any(i == g or i.startswith(g + " (") for g in goods)
            ]
            assert not wrong, other
    if key[1]:
        assert result in outcome.warnings() and result not in outcome.failures()
    else:
        assert not outcome.success and result in outcome.failures()
        assert key[0] in outcome.message() and bad["item"] in outcome.message()
