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
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.scratch_databases import PG_SERVER, create_database, drop_database

pytestmark = [pytest.mark.slow, pytest.mark.corpus]
REPO = Path(__file__).resolve().parents[2]
DAG_ID = "full_library_migration"
AIRFLOW = [sys.executable, "-m", "airflow"]
REDIS_DB = 11  # a Redis database of its own; the Celery queue name is unique per test run too
RUN_TIMEOUT = 420

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


def _wait(what: str, check, seconds: float, every: float = 1.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


class Cluster:
    """The processes of one Airflow deployment; every one is stopped by `stop()`."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list = []

    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        log = (self.root / f"{name}.log").open("w")
        self.logs.append(log)
        self.procs[name] = subprocess.Popen(
            AIRFLOW + args,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped (or killed) as a whole
        )

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        for log in self.logs:
            log.close()

    def tail(self, lines: int = 40) -> str:
        out = []
        for log in sorted(self.root.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(out)


@pytest.fixture(scope="module")
def source(shared) -> Path:
    path = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "Fuse_Library.DbLib"
    if not path.is_file():
        pytest.skip(f"{path} not in the corpus")
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from include.airflow_api import AirflowApi, wait_healthy

    if not _redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
    root = tmp_path_factory.mktemp("distributed")
    tag = uuid.uuid4().hex[:10]
    metadata_db, library_db = f"a2k_dist_af_{tag}", f"a2k_dist_lib_{tag}"
    try:
        create_database("postgresql", metadata_db)
        create_database("postgresql", library_db)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")
    faults = root / "faults"
    faults.mkdir()
    instrumentation = root / "instrumentation"
    instrumentation.mkdir()
    (instrumentation / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    port = _free_port()
    password = "review-" + uuid.uuid4().hex[:8]
    pg = PG_SERVER.split("://", 1)[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ALTIUM2KICAD"))},
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # as docker-compose.yaml: the production auth manager and the stack's configuration
        "AIRFLOW__CORE__AUTH_MANAGER": "include.access.auth_manager.Altium2KicadAuthManager",
        "AIRFLOW__FAB__CONFIG_FILE": str(REPO / "deploy" / "webserver_config.py"),
        "ALTIUM2KICAD_CONFIG": str(REPO / "config" / "distributed.yaml"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{PG_SERVER}/{metadata_db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg}/{metadata_db}",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"a2k_{tag}",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "altium2kicad-distributed-test-" + tag,
        "AIRFLOW__API__SECRET_KEY": "altium2kicad-distributed-test-" + tag,
        # a dead worker's task is noticed within seconds instead of five minutes
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "ALTIUM2KICAD_HOME": str(root / "home"),
        "ALTIUM2KICAD_DB_URL": f"{PG_SERVER}/{library_db}",
        "GX_ANALYTICS_ENABLED": "False",
    }
    # the compose file's airflow-init steps
    for step in (
        AIRFLOW + ["db", "migrate"],
        AIRFLOW + ["fab-db", "migrate"],
        [sys.executable, "-m", "include.access", "sync-roles"],
        [sys.executable, "-m", "include.workflow.concurrency"],
        AIRFLOW
        + ["users", "create", "--role", "Admin", "--username", "reviewer", "--password", password]
        + ["--email", "reviewer@example.com", "--firstname", "Re", "--lastname", "Viewer"],
    ):
        done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
        assert done.returncode == 0, f"{step[2:]}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    nodes = Cluster(root, env)
    try:
        nodes.start(
            "api-server", ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        )
        nodes.start("scheduler", ["scheduler"])
        nodes.start("dag-processor", ["dag-processor"])
        nodes.start("triggerer", ["triggerer"])
        for name in ("worker1", "worker2"):
            nodes.start(
                name,
                [
                    "celery",
                    "worker",
                    "-H",
                    f"{name}@{tag}",
                    "-c",
                    "1",
                    "-q",
                    f"a2k_{tag}",
                    "--without-mingle",
                ],
                {
                    "PYTHONPATH": f"{instrumentation}{os.pathsep}{REPO}",
                    "A2K_TEST_FAULT_DIR": str(faults),
                    "A2K_TEST_WORKER": name,
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
                },
            )
        api = AirflowApi(f"http://127.0.0.1:{port}", "reviewer", password)
        wait_healthy(api, 180)
        _wait("the DAG to be parsed", lambda: _dag_known(api), 180, 2)
        yield {"api": api, "nodes": nodes, "faults": faults, "library_db": env["ALTIUM2KICAD_DB_URL"]}
    finally:
        nodes.stop()
        from include.library_db.database import engine

        engine.cache_clear()
        drop_database("postgresql", metadata_db)
        drop_database("postgresql", library_db)


def _dag_known(api) -> bool:
    from include.airflow_api import ApiError

    try:
        return not api._request("GET", f"/api/v2/dags/{DAG_ID}").get("is_paused", True)
    except ApiError:
        return False


def _trigger(api, conf: dict) -> str:
    run = api._request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})
    return run["dag_run_id"]


def _run_state(api, run_id: str) -> str:
    return api._request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]


def _task_instances(api, run_id: str) -> list[dict]:
    return api._request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100")[
        "task_instances"
    ]


def _finish(cluster, run_id: str, seconds: float = RUN_TIMEOUT) -> str:
    state = _wait(
        f"run {run_id} to finish",
        lambda: (s := _run_state(cluster["api"], run_id)) in ("success", "failed") and s,
        seconds,
        2,
    )
    return state


def _item_counts(db_url: str, run_id: str) -> tuple[int, int]:
    """(rows, distinct library/item/kind keys) of the full migration in the library database."""
    from include.library_db.store import LibraryStore

    rows = LibraryStore(db_url).converted_items(run_id, "full")
    return len(rows), len({(r.library, r.item, r.kind) for r in rows})


def test_distributed_run_survives_a_killed_worker(cluster, source):
    from include.airflow_api import Reviewer

    api, nodes = cluster["api"], cluster["nodes"]
    conf = {"source": str(source), "environment": "development", "sample_size": 1}
    reviewer = Reviewer(api, DAG_ID).start()
    try:
        started = time.monotonic()
        first = _trigger(api, conf)
        state = _finish(cluster, first)
        clean_seconds = time.monotonic() - started
        assert state == "success", (_task_instances(api, first), reviewer.errors, nodes.tail())
        assert sorted(a["task_id"] for a in reviewer.answered if a["run_id"] == first) == [
            "deployment.user_acceptance_testing",
            "migration.review_test_results",
        ]
        clean_rows, clean_keys = _item_counts(cluster["library_db"], first)
        assert clean_rows == clean_keys >= 10

        # the fault: the worker running the conversion dies with it
        (cluster["faults"] / "arm").touch()
        started = time.monotonic()
        second = _trigger(api, conf)
        marker = _wait(
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
        state = _finish(cluster, second)
        fault_seconds = time.monotonic() - started
        tis = _task_instances(api, second)
        assert state == "success", (tis, reviewer.errors, nodes.tail())
    finally:
        reviewer.stop()
    full = [t for t in tis if t["task_id"] == "migration.run_full_migration"]
    assert len(full) == 1 and full[0]["state"] == "success"
    assert full[0]["try_number"] == 2, full[0]  # the killed attempt, then the retry
    assert nodes.procs[victim["worker"]].poll() is not None  # so the retry ran on the other worker
    rows, keys = _item_counts(cluster["library_db"], second)
    assert rows == keys == clean_rows  # nothing duplicated, nothing lost
    print(
        f"\ndistributed run on {source.name}: clean {clean_seconds:.0f}s; "
        f"with {victim['worker']} killed mid-conversion {fault_seconds:.0f}s (retried on the other), "
        f"{rows} items"
    )
