"""A migration run's final state, recorded when the run ends (the DAG's success and failure callback).

Why a DAG callback: a run that stops at a gate, a failed task or a rejected approval never reaches
the tasks that store metrics and mark the run (validate_migration, deploy); without this, such a
run keeps `status running` in its report and is missing from the progress figures. Here every run,
whatever stopped it, gets its metrics (zero components when nothing was converted, and
`total_components` from the analysis), its status in migration_run, an audit row `run_outcome`
and its report rendered again with the final state at the top.

Where the facts come from: Airflow runs a DAG callback in the dag-processor, where the task states
and XComs are read through the Task SDK (the ORM is blocked there); `dag.test()` runs it in its own
process without the SDK's channel, where the metadata database is open. `airflow_facts` takes
whichever this process has.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# task ids (without their group) whose failure is a quality gate's verdict, not a broken task
GATE_TASKS = ("setup_validation_criteria", "validate_")
REJECT = "Reject"
MAX_REASONS = 3


@dataclass(frozen=True)
class Answer:
    """One approval task's HITL answer (its returned XCom)."""

    task_id: str
    option: str
    user: str
    comment: str = ""


@dataclass(frozen=True)
class RunFacts:
    """What Airflow knows of the finished run: task states (mapped tasks once, worst state) and
    the approvals' answers."""

    states: dict[str, str]
    answers: list[Answer] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    status: str  # deployed | failed | rejected | succeeded (the migration_run status)
    headline: str  # what the report shows at the top
    tasks: list[str] = field(default_factory=list)  # the failed tasks, or the rejecting approval
    actor: str = ""  # who rejected
    reason: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _short(task_id: str) -> str:
    return task_id.rsplit(".", 1)[-1]


def is_gate_task(task_id: str) -> bool:
    return _short(task_id).startswith(GATE_TASKS)


def gate_reasons(gates) -> list[str]:
    """The failed gates' reasons, as the report's *Why the run stopped* words them."""
    reasons = []
    for g in gates:
        if g.success:
            continue
        s = g.summary or {}
        said = [
            f"{x['notes']}: {x['failed_count']} items ({'; '.join(x['failed_items'][:3])})"
            for x in s.get("expectations", [])
            if not x["success"] and not x.get("warning_only")
        ] + [str(m) for m in s.get("messages", [])]
        reasons.append(f"gate {g.gate}: " + ("; ".join(said) or "failed"))
    return reasons


def decide(
    success: bool,
    run_status: str,
    deployed_version: str,
    environment: str,
    facts: RunFacts,
    gates,
    refusal: dict | None = None,
) -> Outcome:
    """The run's final state from Airflow's facts and the library database's record of it.

    A rejection wins over the failure it may cause (a refused approval fails or skips what
    follows); then failed tasks, named in the DAG's order; then a deployment."""
    rejected = [a for a in facts.answers if a.option == REJECT]
    if rejected:
        r = rejected[0]
        reason = r.comment or "no reason given"
        return Outcome(
            "rejected",
            f"rejected by {r.user} at {_short(r.task_id)}: {reason}",
            [r.task_id],
            r.user,
            reason,
        )
    if refusal is not None:  # an approval check refused the run (too few distinct approvers)
        task = str(refusal.get("task") or "")
        reason = str(refusal.get("reason") or "approval refused")
        return Outcome(
            "rejected", f"rejected at {_short(task) or 'an approval'}: {reason}", [task], "", reason
        )
    failed = [t for t, s in facts.states.items() if s == "failed"]
    if failed or not success:
        names = ", ".join(_short(t) for t in failed) or "an unfinished task"
        gate_failed = [t for t in failed if is_gate_task(t)]
        reasons = gate_reasons(gates) if gate_failed or not failed else []
        reason = " | ".join(reasons[:MAX_REASONS]) or (
            f"task {_short(failed[0])} raised an error (see its log)" if failed else "the run failed"
        )
        return Outcome("failed", f"failed at {names}: {reason}", failed, "", reason)
    if run_status == "deployed":
        return Outcome("deployed", f"deployed to {environment} (version {deployed_version})")
    return Outcome("succeeded", "finished without deploying (every task succeeded or was skipped)")


def unanswered_approvals(states: dict[str, str]) -> list[str]:
    """Migration approvals whose every slot failed (each timed out with no default answer), so
    their check never ran and counted nobody: they refused the run all the same."""
    from .workflow.approvals import LEVEL_OF_TASK

    found = []
    for task_id in LEVEL_OF_TASK:
        group, _, name = task_id.rpartition(".")
        if states.get(task_id) == "failed" and states.get(f"{group}.check_{name}") not in (
            "success",
            "failed",
        ):
            found.append(task_id)
    return found


def timeout_refusal(config, dag_id: str, task_id: str) -> dict:
    """The approval_outcome detail of an approval nobody answered, worded as its check words too
    few approvers."""
    from .workflow.approvals import migration_level

    level = migration_level(config, task_id, dag_id)
    hours = level.timeout.total_seconds() / 3600
    return {
        "level": level.level,
        "approved": False,
        "reason": f"{level.level}: 0 distinct approver(s) of {level.required} required: "
        f"nobody answered within {hours:g} h",
        "task": task_id,
    }


# -- reading Airflow ------------------------------------------------------------------------------
def _supervised() -> bool:
    """True where the Task SDK talks to its supervisor (a task, the dag-processor's callbacks)."""
    from airflow.sdk.execution_time import task_runner

    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def _answer(task_id: str, value) -> Answer | None:
    from .workflow.approvals import decision_from_xcom

    decision = decision_from_xcom(value)
    if decision is None:
        return None
    user = decision.user or "airflow (timeout default)"
    return Answer(task_id, decision.option, user, decision.comment)


def _ordered(states: dict[str, str], answers: list[Answer], task_order: list[str]) -> RunFacts:
    """The facts in the DAG's task order (a failure is named before the ones it led to)."""
    rank = {t: n for n, t in enumerate(task_order)}

    def key(task_id: str) -> tuple[int, str]:
        return rank.get(task_id, len(rank)), task_id

    return RunFacts(
        dict(sorted(states.items(), key=lambda kv: key(kv[0]))),
        sorted(answers, key=lambda a: key(a.task_id)),
    )


def _worst(states: dict[str, str], task_id: str, state: str) -> None:
    if states.get(task_id) != "failed":
        states[task_id] = state


def airflow_facts(dag_id: str, run_id: str, task_order: list[str]) -> RunFacts:
    """Task states and approval answers of one run, through the Task SDK or the metadata DB."""
    if _supervised():
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
        from airflow.sdk.execution_time.xcom import XCom

        raw = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id]).get(run_id) or {}
        states: dict[str, str] = {}
        for key, state in raw.items():  # a mapped instance is "<task_id>_<map_index>"
            base, _, index = key.rpartition("_")
            _worst(states, base if index.isdigit() and base in task_order else key, str(state))
        answers = []
        for task_id, state in states.items():
            if state in ("success", "failed"):
                value = XCom.get_one(key="return_value", dag_id=dag_id, task_id=task_id, run_id=run_id)
                if answer := _answer(task_id, value):
                    answers.append(answer)
        return _ordered(states, answers, task_order)
    from airflow.models import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        states = {}
        for ti in session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ):
            _worst(states, ti.task_id, str(ti.state))
        answers = []
        for x in session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == "return_value"
            )
        ):
            if answer := _answer(x.task_id, XComModel.deserialize_value(x)):
                answers.append(answer)
    return _ordered(states, answers, task_order)


# -- recording ------------------------------------------------------------------------------------
def total_components(store, run_id: str) -> int:
    """Components to migrate: the analysis' count of symbols, footprints, models and parts (parts
    of a database it could not read included)."""
    from .metrics import COMPONENT_KINDS

    for entry in reversed(store.audit_log(run_id)):
        if entry.action == "analysis":
            counts = (entry.detail or {}).get("counts") or {}
            return sum(int(n) for kind, n in counts.items() if kind in COMPONENT_KINDS)
    return 0


def _start_run(rc):
    """The migration_run row of a run stopped before the analysis recorded it: it counts too."""
    try:
        level = rc.level
    except Exception:  # an unknown environment is what stopped it
        level = ""
    source = str(rc.params.get("source") or "")
    rc.store.start_run(rc.run_id, rc.dag_id, source, rc.environment_name, level, str(rc.folder))
    rc.store.update_run(rc.run_id, report_path=str(rc.report_path))
    run = rc.store.run(rc.run_id)
    if run is None:
        raise KeyError(f"library database: run {rc.run_id} was not recorded")
    return run


def record(context) -> Outcome:
    """The DAG callback's work: final state, metrics, run status, audit row, report."""
    from . import metrics, report_html
    from .config import load_config
    from .library_db.store import utcnow
    from .pipeline import RunContext

    dag = context["dag"]
    run_id = context["run_id"]
    success = context.get("reason") == "success"
    dag_run = context.get("dag_run")
    params = {**dict(getattr(dag_run, "conf", None) or {}), **dict(context.get("params") or {})}
    rc = RunContext(run_id, dag.dag_id, params, load_config(), "airflow")
    store = rc.store
    run = store.run(run_id) or _start_run(rc)
    order = list(getattr(dag, "task_ids", []) or [])
    facts = airflow_facts(dag.dag_id, run_id, order)
    refusals = [
        a.detail
        for a in store.audit_log(run_id)
        if a.action == "approval_outcome" and not (a.detail or {}).get("approved", True)
    ]
    for task_id in unanswered_approvals(facts.states):
        if not any(r.get("task") == task_id for r in refusals):  # once, however often this runs
            refusal = timeout_refusal(rc.config, dag.dag_id, task_id)
            store.audit(run_id, "airflow", "approval_outcome", refusal)
            refusals.append(refusal)
    outcome = decide(
        success,
        run.status,
        run.deployed_version,
        run.environment,
        facts,
        store.gates(run_id),
        refusals[-1] if refusals else None,
    )
    rows = [{"kind": r.kind, "status": r.status} for r in store.converted_item_rows(run_id, "full")]
    figures = metrics.compute(rows, run.started_at, total=total_components(store, run_id))
    store.put_metrics(run_id, figures)
    store.update_run(run_id, status=outcome.status, finished_at=run.finished_at or utcnow())
    store.audit(run_id, "airflow", "run_outcome", outcome.to_json() | {"states": facts.states})
    full = rc.folder / "full"
    outputs = sorted(p for p in full.iterdir() if p.is_dir()) if full.is_dir() else []
    extra = {"deployed version": run.deployed_version} if run.deployed_version else None
    report = report_html.render(
        store,
        run_id,
        outputs,
        Path(run.report_path or rc.report_path),
        extra,
        quality_target=rc.config.progress_tracking.quality_target,
        final_state=(outcome.status, outcome.headline),
    )
    log.info("run %s: %s (report %s)", run_id, outcome.headline, report)
    return outcome


def callback(context) -> None:
    """on_success_callback / on_failure_callback of a migration DAG; logs, never raises (Airflow
    would only log it too, and the run's state is already decided)."""
    try:
        record(context)
    except Exception:
        log.exception("run %s: its final state could not be recorded", context.get("run_id"))
