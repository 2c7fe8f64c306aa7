"""include/metrics.py against numbers worked out by hand (not the module's own formula)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from include.metrics import compute

# 3 symbols (ok, warning, failed), 2 footprints ok, 1 model failed, 1 part warning: 7 mappings, 5
# written. Library rows are not mappings. Quality 5 / 7 = 0.714285... -> 0.7143.
ROWS = [
    {"kind": "symbol", "status": "ok"},
    {"kind": "symbol", "status": "warning"},
    {"kind": "symbol", "status": "failed"},
    {"kind": "footprint", "status": "ok"},
    {"kind": "footprint", "status": "ok"},
    {"kind": "model", "status": "failed"},
    {"kind": "part", "status": "warning"},
    {"kind": "library", "status": "failed"},
    {"kind": "library", "status": "ok"},
]
STARTED = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)


def test_hand_worked_run():
    now = STARTED + timedelta(minutes=2, seconds=3, milliseconds=460)  # 123.46 s
    assert compute(ROWS, STARTED, now) == {
        "components_migrated": (5.0, "items"),
        "migration_quality": (0.7143, "ratio"),
        "time_spent": (123.5, "seconds"),
    }


def test_every_item_written_is_quality_one_and_library_rows_do_not_count():
    rows = [{"kind": "part", "status": "ok"}] * 4 + [{"kind": "library", "status": "failed"}] * 3
    metrics = compute(rows, STARTED, STARTED)
    assert metrics["migration_quality"] == (1.0, "ratio") and metrics["components_migrated"] == (4.0, "items")


def test_one_in_three_written():
    rows = [{"kind": "model", "status": "failed"}] * 2 + [{"kind": "model", "status": "ok"}]
    assert compute(rows, STARTED, STARTED)["migration_quality"] == (0.3333, "ratio")


def test_nothing_to_migrate_and_no_start():
    assert compute([], None, STARTED) == {
        "components_migrated": (0.0, "items"),
        "migration_quality": (0.0, "ratio"),
        "time_spent": (0.0, "seconds"),
    }


def test_naive_start_is_utc_and_a_clock_behind_gives_zero():
    naive = datetime(2026, 12, 2, 10, 0, 0)  # SQLite hands timestamps back without a zone
    later = datetime(2026, 12, 2, 11, 30, 0, tzinfo=timezone(timedelta(hours=1)))  # 10:30 UTC
    assert compute([], naive, later)["time_spent"] == (1800.0, "seconds")
    assert compute([], STARTED, STARTED - timedelta(seconds=5))["time_spent"] == (0.0, "seconds")
