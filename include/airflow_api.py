"""A reviewer's client for Airflow's REST API: log in, find waiting approvals, answer them.

Used by the end-to-end test and by the demo (only when its configuration says
`approvals.auto_approve: true`). Talks HTTP to a running api-server, exactly as a person's
browser or script would; nothing here touches the metadata database.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

AIRFLOW = [sys.executable, "-m", "airflow"]
logger = logging.getLogger(__name__)
PARKED = "awaiting_input"  # the state of an approval task waiting for its answer


def parked(detail: dict) -> bool:
    """Whether the approval's task has parked (awaiting_input), so an answer now resumes it.

    Answer only then: Airflow 3.3's response handler reads the task instance before it locks it
    (the lock does not refresh it) and resumes only a task it saw parked; the park checks for an
    answer already committed. An answer handled while the task parks (it parks after its
    `notifiers` have sent approval_required) is recorded, but the task is never resumed and waits
    until its response_timeout (72 h for a promotion)."""
    return detail["task_instance"].get("state") == PARKED


class ApiError(Exception):
    pass


@dataclass
class AirflowApi:
    base_url: str
    username: str
    password: str
    _token: str = ""

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base_url.rstrip("/") + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        if auth:
            req.add_header("Authorization", f"Bearer {self.token()}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode()[:500]}") from None
        return json.loads(text) if text else {}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        """An authenticated call of any REST endpoint (pausing DAGs, listing runs)."""
        return self._request(method, path, body)

    def token(self) -> str:
        if not self._token:
            answer = self._request(
                "POST", "/auth/token", {"username": self.username, "password": self.password}, auth=False
            )
            self._token = answer["access_token"]
        return self._token

    def healthy(self) -> bool:
        try:
            self._request("GET", "/api/v2/monitor/health", auth=False)
            return True
        except (ApiError, OSError):
            return False

    def waiting_approvals(self, dag_id: str, run_id: str = "~") -> list[dict]:
        answer = self._request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/hitlDetails?response_received=false"
        )
        return answer.get("hitl_details", [])

    def answer(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        option: str,
        map_index: int = -1,
        params: dict | None = None,
    ) -> dict:
        return self._request(
            "PATCH",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
            {"chosen_options": [option], "params_input": params or {}},
        )

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        return self._request("GET", path + (f"/{map_index}" if map_index >= 0 else ""))


@dataclass
class Reviewer:
    """Answers every approval of one DAG as it appears, from a background thread."""

    api: AirflowApi
    dag_id: str
    option: str = "Approve"
    params: dict | None = None  # the answer's params_input (a reviewer's comment)
    answered: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for detail in self.api.waiting_approvals(self.dag_id):
                    if not parked(detail):  # still running its notifiers: next poll
                        continue
                    ti = detail["task_instance"]
                    reply = self.api.answer(
                        self.dag_id,
                        ti["dag_run_id"],
                        ti["task_id"],
                        self.option,
                        ti.get("map_index", -1),
                        self.params,
                    )
                    self.answered.append(
                        {
                            "task_id": ti["task_id"],
                            "run_id": ti["dag_run_id"],
                            "subject": detail.get("subject"),
                            "body": detail.get("body"),
                            **reply,
                        }
                    )
            except (ApiError, OSError, KeyError) as exc:
                self.errors.append(str(exc))
            self._stop.wait(1.0)

    def start(self) -> Reviewer:
        self._thread = threading.Thread(target=self._loop, name="reviewer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)


def wait_healthy(api: AirflowApi, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if api.healthy():
            return
        time.sleep(0.5)
    raise ApiError(f"api-server at {api.base_url} did not answer within {seconds:.0f}s")


class ApiWarmUp(threading.Thread):
    """Builds `dag.test()`'s in-process Execution API in the background (warm_dag_test_api);
    `error` holds what stopped it, if anything (`dag.test()` then builds the API itself)."""

    def __init__(self) -> None:
        super().__init__(name="dag-test-execution-api", daemon=True)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            import httpx
            from airflow.sdk.execution_time.supervisor import in_process_api_server

            # the app is built by its first use and its versioned routes by its first request
            transport = in_process_api_server().transport
            with httpx.Client(transport=transport, base_url="http://in-process.invalid.") as client:
                client.get("/health").raise_for_status()
        except BaseException as exc:  # reported by the caller, never fatal
            self.error = exc


def warm_dag_test_api() -> ApiWarmUp:
    """Starts building `dag.test()`'s in-process Execution API; join() it before `dag.test()`.

    `dag.test()` runs every task against an Execution API app inside its own process, built when
    the first task sends its first request (the FastAPI app, then Cadwyn generating the routes of
    every API version at that first request): about 5 s here, charged to the first task. A
    deployment's workers talk to the api-server, which built the same app when it started. Started
    while the api-server starts (before wait_healthy), the build runs on the other core instead of
    inside the run: the demo waits that much less. `dag.test()` then finds Airflow's cached
    instance (`in_process_api_server`) ready."""
    warm_up = ApiWarmUp()
    warm_up.start()
    return warm_up


@contextmanager
def api_server_for_dag_test(port: int, log: IO, user: str, password: str) -> Iterator[AirflowApi]:
    """An api-server on 127.0.0.1:`port` for a `dag.test()` run in this process (its REST API is
    where approvals are answered), `user`'s client to it; dag.test()'s own Execution API is built
    while the server starts (warm_dag_test_api). The server is stopped on leaving."""
    server = start_api_server(port, log)
    warm_up = warm_dag_test_api()
    try:
        api = AirflowApi(f"http://127.0.0.1:{port}", user, password)
        wait_healthy(api, 180)
        warm_up.join()
        if warm_up.error is not None:  # dag.test() builds it itself, at its first task
            logger.warning("dag.test()'s Execution API not built ahead: %r", warm_up.error)
        yield api
    finally:
        server.terminate()
        server.wait(timeout=30)


def migrate_metadata_db(env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`airflow db migrate` on the configured metadata database (the caller checks returncode)."""
    return subprocess.run(
        AIRFLOW + ["db", "migrate"], capture_output=True, text=True, env=env, timeout=timeout
    )


def start_api_server(
    port: int, log: IO, env: dict | None = None, cwd: Path | None = None
) -> subprocess.Popen:
    """One api-server worker on 127.0.0.1:`port`, its output into `log`; wait_healthy() before use."""
    return subprocess.Popen(
        AIRFLOW + ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
    )
