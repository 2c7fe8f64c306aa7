"""The migration DAG's approvals (review_test_results, user_acceptance_testing), counted as the
promotions' are: one mapped HITL task per required approver of the task's level
(`approvals.LEVEL_OF_TASK`), then a check that stops the run unless that many distinct users
approved and nobody rejected.

Steps of one run (include.pipeline's RunContext); the DAG passes the HITL answers in. Every
decision goes to the audit log; a refusal's reason also to the run record and the migration report.
"""

from __future__ import annotations

import logging

from . import approvals

log = logging.getLogger(__name__)


def approval_bodies(task_id: str, summary: str, rc=None) -> list[str]:
    """One message per required approver of the task's level: the mapped HITL task's bodies."""
    from .. import pipeline

    rc = rc or pipeline.current()
    level = approvals.migration_level(rc.config, task_id, rc.dag_id)
    note = f"{level.level}: {level.required} distinct approver(s); a second answer by the same user does not count."
    return [f"{summary}\n\n{slot} ({note})" for slot in approvals.slots(level.required)]


# whose written libraries a refusal's report pictures (none yet when the test review refuses)
CONVERTED = "migration.run_full_migration"


def check_approvals(task_id: str, answers, rc=None) -> dict:
    """Fails unless the level's N distinct users approved and none rejected; every decision (who,
    when, level, answer, comment, automatic or not) lands in the audit log, a refusal's reason in
    the run record and the report."""
    from .. import pipeline
    from ..library_db.store import utcnow

    rc = rc or pipeline.current()
    level = approvals.migration_level(rc.config, task_id, rc.dag_id)
    result = approvals.tally(level.level, level.required, answers)
    approvals.record(rc.store, rc.run_id, result, task_id)
    if not result.approved:
        log.error("%s: %s", task_id, result.reason())
        rc.store.update_run(rc.run_id, status="rejected", finished_at=utcnow())
        converted = rc.ti.xcom_pull(task_ids=CONVERTED) if rc.ti is not None else None
        pipeline.render_report(rc, pipeline._materialize(converted or []))
        raise approvals.ApprovalRefused(f"{task_id}: {result.reason()} (report: {rc.report_path})")
    log.info("%s: %s", task_id, result.reason())
    return {"level": level.level, "reason": result.reason(), "approvers": result.approvers}
