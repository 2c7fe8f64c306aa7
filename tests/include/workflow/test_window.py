"""The release window's opening in its own time zone (include/workflow/window.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.workflow.window import Window

WINDOW = Window.parse("Sat 01:00-05:00", "Europe/Berlin")


def test_outside_waits_for_next_saturday_local_time():
    wednesday = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert WINDOW.opening(wednesday) == datetime(2026, 12, 5, 0, 0, tzinfo=UTC)  # 01:00 CET


def test_inside_opens_now():
    inside = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
    assert WINDOW.opening(inside) == inside


def test_after_the_window_waits_a_week():
    after = datetime(2026, 12, 5, 4, 30, tzinfo=UTC)  # 05:30 in Berlin
    assert WINDOW.opening(after) == datetime(2026, 12, 12, 0, 0, tzinfo=UTC)


def test_bad_window_is_named():
    with pytest.raises(ValueError, match="Sat 05:00-01:00"):
        Window.parse("Sat 05:00-01:00", "UTC")
