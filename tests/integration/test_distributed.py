"""The distributed topology of docker-compose.yaml, run natively: scheduler, dag-processor, triggerer,
two Celery workers (Redis broker, PostgreSQL result backend) and the api-server as processes here,
with what the compose file gives them: config/distributed.yaml, the FAB auth manager configured by
deploy/webserver_config.py, and the init service's steps (db and fab-db migrate, sync-roles, the
first admin).

full_library_migration is triggered over the REST API on a real corpus DbLib, its approvals are
answered over the API, and the run must succeed. Then a worker is killed (SIGKILL of its process
group and of the task it runs, as when its machine dies) in the middle of a conversion task: the
scheduler notices the missing heartbeat, the retry runs on the other worker, the run succeeds and
the library database holds each converted item once.

To kill *during* the conversion without racing it, the workers start with a `sitecustomize` (test
instrumentation only, in a temp folder) that, while an `arm` file exists, makes the first attempt
of a conversion write a marker naming its worker and then wait; the retry runs normally.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.airflow_cluster import (
    DAG_ID,
    RUN_TIMEOUT,
    airflow_deployment,
    finish,
    item_counts,
    task_instances,
    trigger,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

SITECUSTOMIZE = """
import json, os, time
from pathlib import Path

_FAULTS = Path(os.environ["A2K_TEST_FAULT_DIR"])


def _install():
    import include.conversion as conversion

    real = conversion.convert_unit

    def convert_unit(unit, out, rules=None, *args, **kwargs):
        marker = _FAULTS / ("started-" + Path(out).name)
        if (_FAULTS / "arm").exists() and "/full/" in str(out) and not marker.exists():
            marker.write_text(json.dumps({"worker": os.environ["A2K_TEST_WORKER"], "pgid": os.getpgid(0)}))
            time.sleep(120)
        return real(unit, out, rules, *args, **kwargs)

    conversion.convert_unit = convert_unit


_install()
"""


@pytest.fixture(scope="module")
def source(shared) -> Path:
    path = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "Fuse_Library.DbLib"
    if not path.is_file():
        pytest.skip(f"{path} not in the corpus")
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("distributed")
    with airflow_deployment(root, sitecustomize=SITECUSTOMIZE) as deployment:
        yield deployment


def outcome_of(library_db: str, run_id: str) -> dict | None:
    """The run's `run_outcome` audit row (written by the DAG's callback), once it is there."""
    from include.library_db.store import LibraryStore

    rows = [a.detail for a in LibraryStore(library_db).audit_log(run_id) if a.action == "run_outcome"]
    return rows[-1] if rows else None


def test_distributed_run_survives_a_killed_worker(cluster, source):
    from include.airflow_api import Reviewer

    api, nodes = cluster["api"], cluster["nodes"]
    conf = {"source": str(source), "environment": "development", "sample_size": 1}
    reviewer = Reviewer(api, DAG_ID).start()
    try:
        started = time.monotonic()
        first = trigger(api, conf)
        state = finish(api, first)
        clean_seconds = time.monotonic() - started
        assert state == "success", (task_instances(api, first), reviewer.errors, nodes.tail())
        assert sorted(a["task_id"] for a in reviewer.answered if a["run_id"] == first) == [
            "deployment.user_acceptance_testing",
            "migration.review_test_results",
        ]
        clean_rows, clean_keys = item_counts(cluster["library_db"], first)
        assert clean_rows == clean_keys >= 10
        # the DAG's success callback as the dag-processor runs it (Task SDK, no ORM: run_outcome)
        outcome = wait_for("the run's outcome", lambda: outcome_of(cluster["library_db"], first), 120)
        assert outcome["status"] == "deployed", outcome
        assert outcome["states"]["deployment.deploy_to_production"] == "success", outcome
        assert outcome["states"]["migration.run_full_migration"] == "success", outcome  # mapped, once

        # the fault: the worker running the conversion dies with it
        (cluster["faults"] / "arm").touch()
        started = time.monotonic()
        second = trigger(api, conf)
        marker = wait_for(
            "a conversion task to start",
            lambda: next(iter(cluster["faults"].glob("started-*")), None),
            RUN_TIMEOUT,
            0.5,
        )
        victim = json.loads(marker.read_text())
        nodes.kill(victim["worker"])
        try:
            os.killpg(victim["pgid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        state = finish(api, second)
        fault_seconds = time.monotonic() - started
        tis = task_instances(api, second)
        assert state == "success", (tis, reviewer.errors, nodes.tail())
    finally:
        reviewer.stop()
    full = [t for t in tis if t["task_id"] == "migration.run_full_migration"]
    assert len(full) == 1 and full[0]["state"] == "success"
    assert full[0]["try_number"] == 2, full[0]  # the killed attempt, then the retry
    assert nodes.procs[victim["worker"]].poll() is not None  # so the retry ran on the other worker
    rows, keys = item_counts(cluster["library_db"], second)
    assert rows == keys == clean_rows  # nothing duplicated, nothing lost
    print(
        f"\ndistributed run on {source.name}: clean {clean_seconds:.0f}s; "
        f"with {victim['worker']} killed mid-conversion {fault_seconds:.0f}s (retried on the other), "
        f"{rows} items"
    )
