"""Named users answering a DAG's mapped approvals over Airflow's REST API, as people would.

Shared by the promotion and migration DAG tests: `plan[task_id][map_index] = (user, option, comment)`
says who answers which slot of which approval. `include.airflow_api.Reviewer` is the one-user
version (it answers every slot of every approval as itself).
"""

from __future__ import annotations

import threading

from include.airflow_api import PARKED, ApiError


class Approvers:
    """Answers the planned slots from a background thread (a `with` block around `dag.test()`);
    `intruder`, when given, first tries each slot as a user the level does not allow."""

    def __init__(
        self,
        clients: dict,
        dag_id: str,
        plan: dict[str, list[tuple[str, str, str]]],
        intruder: str | None = None,
        lister: str = "reviewer",
    ):
        self.clients, self.dag_id, self.plan, self.intruder = clients, dag_id, plan, intruder
        self.lister = lister
        self.bodies: dict[tuple[str, int], str] = {}
        self.answered: list[dict] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _answer_slot(self, detail: dict) -> bool:
        ti = detail["task_instance"]
        task_id, index, run_id = ti["task_id"], ti["map_index"], ti["dag_run_id"]
        planned = self.plan.get(task_id, [])
        if (task_id, index) in self.bodies or not 0 <= index < len(planned):
            return False
        if ti.get("state", PARKED) != PARKED:
            return False  # answered before the task has parked, the answer can be lost: next poll
        if self.intruder:  # Airflow refuses an answer from a user the level does not allow
            try:
                self.clients[self.intruder].answer(self.dag_id, run_id, task_id, "Approve", index)
            except ApiError as exc:
                self.refused.append(str(exc))
        user, option, comment = planned[index]
        reply = self.clients[user].answer(self.dag_id, run_id, task_id, option, index, {"comment": comment})
        self.bodies[task_id, index] = detail["body"]
        self.answered.append({"task_id": task_id, "map_index": index, **reply})
        return True

    def _loop(self) -> None:
        total = sum(len(slots) for slots in self.plan.values())
        while not self._stop.is_set() and len(self.bodies) < total:
            try:
                for detail in self.clients[self.lister].waiting_approvals(self.dag_id):
                    self._answer_slot(detail)
            except (ApiError, OSError, KeyError) as exc:
                self.errors.append(str(exc))
            self._stop.wait(0.5)

    def __enter__(self) -> Approvers:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def users(airflow_api) -> dict:
    """One logged-in API client per Airflow user of the test api-server (tests/dags/conftest.py)."""
    import json
    import os
    from pathlib import Path

    from include.airflow_api import AirflowApi

    passwords = json.loads((Path(os.environ["AIRFLOW_HOME"]) / "passwords.json").read_text())
    return {u: AirflowApi(airflow_api.base_url, u, pw) for u, pw in passwords.items()}
