"""Facts for the reports, read from the library database (every run, every environment).

Metrics are the ones validate_migration and deploy store (components_migrated, migration_quality,
time_spent, and total_components once the run has ended: include.run_outcome); the total to migrate
is total_components, else (a run still going) the run's converted component items.
An approval is open when a run's promotion was validated but no approval_outcome was recorded yet.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select

from include.library_db.database import session as open_session
from include.library_db.models import AuditEntry, ConvertedItem, MigrationRun, ProgressMetric
from include.metrics import COMPONENT_KINDS


def _aware(dt: datetime | None) -> datetime | None:
    from datetime import UTC

    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def gather(url: str, top: int = 5) -> dict:
    with open_session(url) as s:
        runs = list(s.scalars(select(MigrationRun).order_by(MigrationRun.started_at)))
        metrics: dict[str, dict[str, float]] = {}
        for pm in s.scalars(select(ProgressMetric)):
            metrics.setdefault(pm.run_id, {})[pm.name] = pm.value
        totals = dict(
            s.execute(
                select(ConvertedItem.run_id, func.count())
                .where(ConvertedItem.phase == "full", ConvertedItem.kind.in_(sorted(COMPONENT_KINDS)))
                .group_by(ConvertedItem.run_id)
            ).all()
        )
        failures = list(
            s.execute(
                select(ConvertedItem.library, ConvertedItem.messages).where(
                    ConvertedItem.phase == "full", ConvertedItem.status == "failed"
                )
            ).all()
        )
        audit = list(s.scalars(select(AuditEntry).order_by(AuditEntry.at)))
    rows = []
    for r in runs:
        started = _aware(r.started_at)
        m = metrics.get(r.run_id, {})
        rows.append(
            {
                "run_id": r.run_id,
                "dag_id": r.dag_id,
                "environment": r.environment,
                "status": r.status,
                "started_at": started,
                "migrated": m.get("components_migrated"),
                "total": int(m["total_components"]) if "total_components" in m else totals.get(r.run_id, 0),
                "quality": m.get("migration_quality"),
                "time_spent": m.get("time_spent"),
                "report_path": r.report_path,
            }
        )
    by_lib: Counter[str] = Counter()
    by_cause: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for library, messages in failures:
        by_lib[library] += 1
        for msg in messages or ["(no message)"]:
            reasons.setdefault(library, Counter())[str(msg)] += 1
        by_cause.update({str(msg) for msg in messages or ["(no message)"]})
    worst = [
        {"library": lib, "failures": n, "reasons": [t for t, _ in reasons[lib].most_common(3)]}
        for lib, n in by_lib.most_common(top)
    ]
    actions: dict[str, set[str]] = {}
    for a in audit:
        actions.setdefault(a.run_id, set()).add(a.action)
    open_approvals = [
        r
        for r in rows
        if "promotion_validated" in actions.get(str(r["run_id"]), set())
        and "approval_outcome" not in actions.get(str(r["run_id"]), set())
    ]
    causes = [{"cause": c, "failed": n} for c, n in by_cause.most_common()]
    return {
        "runs": rows,
        "failing_libraries": worst,
        "failure_causes": causes,
        "open_approvals": open_approvals,
    }


def day_window(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)
