"""Facts for the reports, read from the library database (every run, every environment).

Metrics are the ones validate_migration and deploy store (components_migrated, migration_quality,
time_spent, and total_components once the run has ended: include.run_outcome); the total to migrate
is total_components, else (a run still going) the run's converted component items.
An approval is open while a running run has reached it (the row the step before it writes) and no
approval_outcome of it was recorded yet (include.workflow.approvals.record writes one per check):
a promotion's after promotion_validated, the migration's review_test_results once the test
migration stored its items, its user_acceptance_testing after deployed_test.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select

from include.config import ConfigError, PipelineConfig
from include.library_db.database import session as open_session
from include.library_db.models import AuditEntry, ConvertedItem, MigrationRun, ProgressMetric
from include.metrics import COMPONENT_KINDS
from include.workflow import approvals


def _aware(dt: datetime | None) -> datetime | None:
    from datetime import UTC

    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


PROMOTION_APPROVAL = "approve"  # the promote_* DAGs' approval task
TEST_REVIEW, ACCEPTANCE = approvals.LEVEL_OF_TASK  # the migration's two approvals, in DAG order


def _waiting_migration(run: MigrationRun, audit: list[AuditEntry], tested: bool) -> str | None:
    """The approval task a running migration waits on, or None."""
    if run.status != "running":
        return None
    decided = {(a.detail or {}).get("task") for a in audit if a.action == "approval_outcome"}
    if any(a.action == "deployed_test" for a in audit):
        return None if ACCEPTANCE in decided else ACCEPTANCE
    if tested and TEST_REVIEW not in decided:
        return TEST_REVIEW
    return None


def _waiting_promotion(run_id: str, audit: list[AuditEntry]) -> dict | None:
    """A promotion run (audit rows only) whose version passed validation and has no outcome yet."""
    validated = [
        a for a in audit if a.action == "promotion_validated" and not (a.detail or {}).get("failures")
    ]
    if not validated or any(a.action == "approval_outcome" for a in audit):
        return None
    detail = validated[-1].detail or {}
    workflow = detail.get("workflow", "")
    return {
        "run_id": run_id,
        "dag_id": f"promote_{workflow}",
        "environment": detail.get("target", ""),
        "status": "running",
        "started_at": _aware(validated[-1].at),
        "task": PROMOTION_APPROVAL,
    }


def gather(url: str, config: PipelineConfig | None = None, top: int = 5) -> dict:
    """Every run with its metrics, the failing libraries and causes, and the open approvals (with
    the users who may answer them when `config` is given)."""
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
        tested = set(s.scalars(select(ConvertedItem.run_id).where(ConvertedItem.phase == "test").distinct()))
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
    audit_of: dict[str, list[AuditEntry]] = {}
    for a in audit:
        audit_of.setdefault(a.run_id, []).append(a)
    waiting = []
    for run, row in zip(runs, rows, strict=True):
        task = _waiting_migration(run, audit_of.get(run.run_id, []), run.run_id in tested)
        if task:
            waiting.append(row | {"task": task})
    known = {r.run_id for r in runs}
    waiting += [
        w
        for run_id, entries in audit_of.items()
        if run_id not in known and (w := _waiting_promotion(run_id, entries))
    ]
    open_approvals = [_with_answerers(w, config) for w in waiting]
    causes = [{"cause": c, "failed": n} for c, n in by_cause.most_common()]
    return {
        "runs": rows,
        "failing_libraries": worst,
        "failure_causes": causes,
        "open_approvals": open_approvals,
    }


def _with_answerers(waiting: dict, config: PipelineConfig | None) -> dict:
    """The approval's level, how many distinct approvers it needs and who may answer it."""
    if config is None:
        return waiting | {"level": "", "required": 1, "waiting_for": []}
    try:
        who = approvals.waiting_for(config, waiting["dag_id"], waiting["task"])
    except ConfigError as exc:  # e.g. a promotion workflow since removed: still listed, as such
        return waiting | {"level": f"unknown ({exc})", "required": 1, "waiting_for": []}
    return waiting | {"level": who.level, "required": who.required, "waiting_for": who.users}


def day_window(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)
