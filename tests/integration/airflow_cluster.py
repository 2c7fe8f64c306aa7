"""One native Airflow deployment in the shape of docker-compose.yaml, for the integration tests.

Schedulers, dag-processor, triggerers, Celery workers (Redis broker, PostgreSQL result backend) and
the api-server run as processes on loopback, configured as the compose file configures them
(config/distributed.yaml, the FAB auth manager of deploy/webserver_config.py, the init service's
steps). Shared by test_distributed.py (a killed worker) and test_high_availability.py (a killed
scheduler); each test says how many of each process it wants.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.scratch_databases import PG_SERVER, create_database, drop_database

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "full_library_migration"
AIRFLOW = [sys.executable, "-m", "airflow"]
REDIS_DB = 11  # a Redis database of its own; the Celery queue name is unique per test run too
RUN_TIMEOUT = 420


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


def wait_for(what: str, check: Callable, seconds: float, every: float = 1.0):
    """check()'s first truthy value, polled every `every` s; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


def polled(check: Callable) -> Callable:
    """check() for wait_for, None when the api-server is too busy to answer this time (shared cores)."""

    def quietly():
        from include.airflow_api import ApiError

        try:
            return check()
        except (ApiError, OSError):
            return None

    return quietly


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
        """SIGKILL of the process group, as when its machine dies (no clean shutdown)."""
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


@contextlib.contextmanager
def airflow_deployment(
    root: Path,
    *,
    schedulers: int = 1,
    triggerers: int = 1,
    workers: int = 2,
    sitecustomize: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[dict]:
    """Scratch metadata and library databases, the init steps, then every process; all torn down.

    Yields {"api", "nodes", "faults", "library_db"}. Processes are named scheduler1.., triggerer1..,
    worker1..; `sitecustomize` (test instrumentation) is put on the workers' PYTHONPATH only.
    """
    from include.airflow_api import AirflowApi, wait_healthy

    if not redis_up():
        pytest.skip("no Redis at 127.0.0.1:6379")
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
    if sitecustomize:
        (instrumentation / "sitecustomize.py").write_text(textwrap.dedent(sitecustomize))
    port = free_port()
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
        **(extra_env or {}),
    }
    # the compose file's airflow-init steps
    for step in (
        AIRFLOW + ["db", "migrate"],
        AIRFLOW + ["fab-db", "migrate"],
        [sys.executable, "-m", "include.access", "sync-roles"],
        [sys.executable, "-m", "include.workflow.concurrency"],  # the deployments pool
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
        for n in range(1, schedulers + 1):
            nodes.start(f"scheduler{n}", ["scheduler"])
        nodes.start("dag-processor", ["dag-processor"])
        for n in range(1, triggerers + 1):
            # each triggerer serves its trigger logs on a port of its own (default 8794 for all)
            nodes.start(
                f"triggerer{n}",
                ["triggerer"],
                {"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port())},
            )
        for n in range(1, workers + 1):
            name = f"worker{n}"
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
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                },
            )
        api = AirflowApi(f"http://127.0.0.1:{port}", "reviewer", password)
        wait_healthy(api, 180)
        wait_for("the DAG to be parsed", lambda: dag_known(api), 180, 2)
        yield {"api": api, "nodes": nodes, "faults": faults, "library_db": env["ALTIUM2KICAD_DB_URL"]}
    finally:
        nodes.stop()
        from include.library_db.database import engine

        engine.cache_clear()
        drop_database("postgresql", metadata_db)
        drop_database("postgresql", library_db)


def dag_known(api) -> bool:
    from include.airflow_api import ApiError

    try:
        return not api._request("GET", f"/api/v2/dags/{DAG_ID}").get("is_paused", True)
    except ApiError:
        return False


def trigger(api, conf: dict) -> str:
    run = api._request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})
    return run["dag_run_id"]


def run_state(api, run_id: str) -> str:
    return api._request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]


def task_instances(api, run_id: str) -> list[dict]:
    return api._request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100")[
        "task_instances"
    ]


def finish(api, run_id: str, seconds: float = RUN_TIMEOUT) -> str:
    """The run's final state (success or failed), waiting at most `seconds`."""
    return wait_for(
        f"run {run_id} to finish",
        polled(lambda: (s := run_state(api, run_id)) in ("success", "failed") and s),
        seconds,
        2,
    )


def item_counts(db_url: str, run_id: str) -> tuple[int, int]:
    """(rows, distinct library/item/kind keys) of the full migration in the library database."""
    from include.library_db.store import LibraryStore

    rows = LibraryStore(db_url).converted_items(run_id, "full")
    return len(rows), len({(r.library, r.item, r.kind) for r in rows})
