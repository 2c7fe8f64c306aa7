"""The application layer's failover, proven by killing a scheduler: two schedulers, two triggerers,
two Celery workers, the dag-processor and the api-server as processes (airflow_cluster.py, the
shape of docker-compose.yaml).

full_library_migration is triggered over the REST API; while its first approval
(migration.review_test_results) waits in the UI, one scheduler is killed with SIGKILL (no clean
shutdown, its job row left "running"). The approval is then answered over the REST API, and the
surviving scheduler must carry the run to success: the full migration, validation, both deployments
and the second approval. The library database must hold each converted item once and each audit
action once (nothing duplicated), and every inventoried symbol and footprint converted (nothing lost).
Printed: the recovery time (kill to the answered approval's success, and to the next task of the
run) and the rows lost.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.airflow_cluster import (
    DAG_ID,
    RUN_TIMEOUT,
    airflow_deployment,
    finish,
    item_counts,
    polled,
    task_instances,
    trigger,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.corpus]
APPROVAL = "migration.review_test_results"
# a dead scheduler is declared dead (and its queued tasks adopted) within seconds, not minutes
FAST_FAILOVER = {
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
}


@pytest.fixture(scope="module")
def source(shared) -> Path:
    path = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "Fuse_Library.DbLib"
    if not path.is_file():
        pytest.skip(f"{path} not in the corpus")
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("high_availability")
    with airflow_deployment(root, schedulers=2, triggerers=2, extra_env=FAST_FAILOVER) as deployment:
        yield deployment


def _states(api, run_id: str) -> dict[tuple[str, int], str]:
    return {(t["task_id"], t.get("map_index", -1)): t["state"] for t in task_instances(api, run_id)}


def _library_rows(db_url: str, run_id: str) -> tuple[Counter, set, set]:
    """(audit actions counted, inventoried symbol/footprint keys, converted keys) of one run."""
    from include.library_db.store import LibraryStore

    store = LibraryStore(db_url)
    actions = Counter(entry.action for entry in store.audit_log(run_id))
    inventoried = {(i.item, i.kind) for i in store.source_items(run_id) if i.kind in ("symbol", "footprint")}
    converted = {(r.item, r.kind) for r in store.converted_items(run_id, "full")}
    return actions, inventoried, converted


def test_run_survives_a_killed_scheduler_and_its_approval_stays_answerable(cluster, source):
    from include.airflow_api import Reviewer

    api, nodes = cluster["api"], cluster["nodes"]
    conf = {"source": str(source), "environment": "development", "sample_size": 1}
    started = time.monotonic()
    run_id = trigger(api, conf)
    waiting = wait_for(
        f"{APPROVAL} to wait for an answer",
        polled(
            lambda: [
                a
                for a in api.waiting_approvals(DAG_ID, run_id)
                if a["task_instance"]["task_id"] == APPROVAL
                and a["task_instance"]["state"] == "awaiting_input"
            ]
        ),
        RUN_TIMEOUT,
        1,
    )
    before = wait_for("the task states", polled(lambda: _states(api, run_id)), 60, 1)

    nodes.kill("scheduler1")
    killed = time.monotonic()
    assert nodes.procs["scheduler1"].poll() is not None
    # the approval, still waiting in the UI, is answered after the kill (the REST call the UI makes)
    ti = waiting[0]["task_instance"]
    reply = api.answer(DAG_ID, run_id, APPROVAL, "Approve", ti.get("map_index", -1))
    assert reply.get("chosen_options") == ["Approve"], reply

    def changed() -> dict | None:
        now = _states(api, run_id)
        moved = {key: state for key, state in now.items() if before.get(key) != state}
        return moved or None

    first_change = wait_for("a task state to change after the kill", polled(changed), 120, 0.5)
    first_change_s = time.monotonic() - killed
    wait_for(
        "the answered approval to succeed",
        polled(lambda: _states(api, run_id).get((APPROVAL, ti.get("map_index", 0))) == "success"),
        180,
        0.5,
    )
    approval_done_s = time.monotonic() - killed
    wait_for(
        "the full migration to start",
        polled(
            lambda: any(
                k[0] == "migration.run_full_migration" and s in ("running", "success")
                for k, s in _states(api, run_id).items()
            )
        ),
        180,
        0.5,
    )
    next_task_s = time.monotonic() - killed

    reviewer = Reviewer(api, DAG_ID).start()  # the second approval (user acceptance)
    try:
        state = finish(api, run_id)
    finally:
        reviewer.stop()
    total_s = time.monotonic() - started
    completed_s = time.monotonic() - killed
    tis = task_instances(api, run_id)
    assert state == "success", (tis, reviewer.errors, nodes.tail())
    assert nodes.procs["scheduler2"].poll() is None  # the survivor did it alone
    assert [a["task_id"] for a in reviewer.answered] == ["deployment.user_acceptance_testing"]

    rows, keys = item_counts(cluster["library_db"], run_id)
    assert rows == keys >= 10  # nothing duplicated in converted_item
    actions, inventoried, converted = _library_rows(cluster["library_db"], run_id)
    # each audit action of the run once (an approval's once per approval: review and acceptance,
    # one approver each): no task ran twice for the dead scheduler
    approvals = {"approval_granted": 2, "approval_outcome": 2}
    assert {a: n for a, n in actions.items() if a in approvals} == approvals, actions
    assert {n for a, n in actions.items() if a not in approvals} == {1}, actions
    assert {"analysis", "deployed_test", "deployed_production"} <= set(actions), actions
    lost = inventoried - converted
    assert inventoried and not lost, sorted(lost)
    print(
        f"\nscheduler1 killed while {APPROVAL} waited (answered after the kill): first task state "
        f"change {first_change_s:.1f}s ({sorted(first_change.items())[:3]}), approval task success "
        f"{approval_done_s:.1f}s, next task running {next_task_s:.1f}s, run success "
        f"{completed_s:.0f}s after the kill ({total_s:.0f}s in all); {rows} converted rows, "
        f"rows lost {len(lost)}, duplicated {rows - keys}"
    )
