"""Maintenance window announcements: each configured window (maintenance.windows) is announced once
at each lead time (maintenance.notification.lead_hours, the guide's 72 h and 24 h).

Run hourly: a window opening within a lead time that has no announcement for that lead (or a
shorter one) yet gets one, and the library database records it (window, opening, lead time are
unique), so reruns and overlapping runs never announce twice. Delivery goes through `deliver`, the one call point the
notification channels plug into.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from include.config import MaintenanceWindow, PipelineConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Announcement:
    window: str
    opens_at: datetime
    closes_at: datetime
    lead_hours: float
    message: str


def next_opening(window: MaintenanceWindow, now: datetime) -> datetime | None:
    """When the window next opens at or after `now` (UTC), None for a one-off window in the past."""
    tz = ZoneInfo(window.timezone)
    if window.start is not None:
        start = window.start if window.start.tzinfo else window.start.replace(tzinfo=tz)
        return start.astimezone(UTC) if start >= now else None
    from include.workflow.window import Window

    if window.window is None:  # neither a start nor a weekly window: nothing ever opens
        return None
    weekly = Window.parse(window.window, window.timezone)
    local = now.astimezone(tz)
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        if day.weekday() == weekly.weekday:
            start = datetime.combine(day, weekly.start, tz)
            if start >= now:
                return start.astimezone(UTC)
    return None


def _hours(window: MaintenanceWindow) -> float:
    if window.window is None:
        return window.hours
    from include.workflow.window import Window

    w = Window.parse(window.window, window.timezone)
    return (datetime.combine(datetime.min, w.end) - datetime.combine(datetime.min, w.start)).seconds / 3600


def due(cfg: PipelineConfig, now: datetime) -> list[Announcement]:
    """Per window, the announcement of the shortest lead time reached (recorded or not): a run
    that starts late sends the 24 h announcement, not the missed 72 h one as well."""
    found = []
    for window in cfg.maintenance.windows:
        opens = next_opening(window, now)
        if opens is None:
            continue
        closes = opens + timedelta(hours=_hours(window))
        reached = [h for h in cfg.maintenance.notification.lead_hours if opens - now <= timedelta(hours=h)]
        if reached:
            lead = min(reached)
            message = (
                f"Maintenance window '{window.name}' opens {opens:%Y-%m-%d %H:%M} UTC "
                f"(in {(opens - now).total_seconds() / 3600:.0f} h) and closes {closes:%H:%M} UTC"
                + (f": {window.description}" if window.description else "")
                + ". New pipeline runs may wait until it closes."
            )
            found.append(Announcement(window.name, opens, closes, lead, message))
    return found


def deliver(cfg: PipelineConfig, announcement: Announcement) -> bool:
    """Sends the announcement as `maintenance_announced` on its configured channels; True when at
    least one channel took it (a channel that is off or fails is logged, never raised)."""
    from include.notifications.dispatch import send_event

    outcomes = send_event(
        cfg,
        "maintenance_announced",
        {},
        {
            "message": announcement.message,
            "window": announcement.window,
            "opens_at": announcement.opens_at.isoformat(),
            "lead_hours": announcement.lead_hours,
        },
    )
    if "sent" not in outcomes.values():
        log.warning("announcement not sent (%s): %s", outcomes or "no channel", announcement.message)
        return False
    return True


def announce(cfg: PipelineConfig, now: datetime | None = None) -> list[Announcement]:
    """Sends and records every due announcement not recorded yet; returns those sent now."""
    from include.operations import records

    now = now or datetime.now(UTC)
    url = cfg.library_db_url()
    sent = []
    for a in due(cfg, now):
        if records.announced(url, a.window, a.opens_at, a.lead_hours):
            continue
        delivered = deliver(cfg, a)
        records.record_announcement(url, a.window, a.opens_at, a.lead_hours, a.message, delivered)
        sent.append(a)
        log.info("announced (%g h ahead): %s", a.lead_hours, a.message)
    return sent
