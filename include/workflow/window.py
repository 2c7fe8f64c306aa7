"""The release window (`Sat 01:00-05:00` in a time zone): is a moment inside, when does it open.

Pure functions of a given moment, so the clock is the caller's: the DAG hands the result to a
deferrable DateTimeSensor, whose trigger waits on the triggerer without a worker slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PATTERN = re.compile(r"^\s*([A-Za-z]{3})\w*\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    weekday: int  # Monday 0
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, tz: str) -> Window:
        m = _PATTERN.match(text)
        if not m or m.group(1).lower() not in DAYS:
            raise ValueError(f"scheduled_window '{text}': expected e.g. 'Sat 01:00-05:00'")
        start, end = time(int(m.group(2)), int(m.group(3))), time(int(m.group(4)), int(m.group(5)))
        if end <= start:
            raise ValueError(f"scheduled_window '{text}': the end must be after the start on the same day")
        return cls(DAYS.index(m.group(1).lower()), start, end, ZoneInfo(tz))

    def opening(self, now: datetime) -> datetime:
        """`now` when inside the window, else the next opening (an aware datetime in UTC)."""
        local = now.astimezone(self.tz)
        for days in range(8):
            day = (local + timedelta(days=days)).date()
            if day.weekday() != self.weekday:
                continue
            start = datetime.combine(day, self.start, self.tz)
            end = datetime.combine(day, self.end, self.tz)
            if local < end:
                return now if local >= start else start.astimezone(ZoneInfo("UTC"))
        raise AssertionError("a weekly window opens within 8 days")
