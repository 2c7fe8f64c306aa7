"""Maintenance records in the library database: what each maintenance run found and changed, and
which window announcements were sent (the unique key makes each one happen once)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from include.library_db.database import session as open_session
from include.library_db.models import MaintenanceAnnouncement, MaintenanceRun
from include.library_db.store import upsert


def record_run(
    url: str,
    kind: str,
    run_id: str,
    status: str,
    detail: dict,
    started_at: datetime,
    finished_at: datetime | None = None,
) -> None:
    """One row per (kind, run): a retried task replaces its row."""
    row = {
        "kind": kind,
        "run_id": run_id,
        "status": status,
        "detail": detail,
        "started_at": started_at,
        "finished_at": finished_at or datetime.now(UTC),
    }
    with open_session(url) as s, s.begin():
        upsert(s, MaintenanceRun, [row], ("kind", "run_id"))


def runs(url: str, kind: str) -> list[MaintenanceRun]:
    with open_session(url) as s:
        return list(
            s.scalars(select(MaintenanceRun).where(MaintenanceRun.kind == kind).order_by(MaintenanceRun.id))
        )


def announced(url: str, window: str, opens_at: datetime, lead_hours: float) -> bool:
    """Whether this opening was announced at this lead time or a shorter one."""
    with open_session(url) as s:
        return (
            s.scalar(
                select(MaintenanceAnnouncement.id).where(
                    MaintenanceAnnouncement.window_name == window,
                    MaintenanceAnnouncement.opens_at == opens_at,
                    MaintenanceAnnouncement.lead_hours <= lead_hours,
                )
            )
            is not None
        )


def record_announcement(
    url: str, window: str, opens_at: datetime, lead_hours: float, message: str, delivered: bool
) -> None:
    row = {
        "window_name": window,
        "opens_at": opens_at,
        "lead_hours": lead_hours,
        "sent_at": datetime.now(UTC),
        "message": message,
        "delivered": delivered,
    }
    with open_session(url) as s, s.begin():
        upsert(s, MaintenanceAnnouncement, [row], ("window_name", "opens_at", "lead_hours"))


def announcements(url: str) -> list[MaintenanceAnnouncement]:
    with open_session(url) as s:
        return list(s.scalars(select(MaintenanceAnnouncement).order_by(MaintenanceAnnouncement.id)))
