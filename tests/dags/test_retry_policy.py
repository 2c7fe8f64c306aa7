"""Retry or stop, decided by Airflow's own task runner: a failed quality gate fails at once although
the task has retries; an S3 outage is retried and the retry succeeds once S3 is back.

The tasks call the same `include.task_policy.run_step` as full_library_migration's tasks; the
metadata database is a scratch one on the real PostgreSQL and S3 is moto's server on localhost.
"""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = [pytest.mark.slow]


def _tries(dag_id: str, task_id: str) -> list[tuple[int, str]]:
    from airflow.models import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        past = s.execute(
            select(TaskInstanceHistory.try_number, TaskInstanceHistory.state).where(
                TaskInstanceHistory.dag_id == dag_id, TaskInstanceHistory.task_id == task_id
            )
        ).all()
        now = s.execute(
            select(TaskInstance.try_number, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id
            )
        ).all()
    return sorted((int(n), str(st)) for n, st in [*past, *now])


DAGS = """
from datetime import timedelta
import os

import pendulum
from airflow.sdk import dag, task


@dag(
    dag_id="a2k_gate_policy",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},
)
def gate_policy():
    @task
    def validate() -> None:
        from include.quality_gates import GateFailed
        from include.task_policy import run_step

        def gate() -> None:
            raise GateFailed("quality gate 'symbols' (strict) failed on 3 checked rows")

        run_step(gate)

    validate()


@dag(
    dag_id="a2k_s3_policy",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    default_args={"retries": 3, "retry_delay": timedelta(seconds=3)},
)
def s3_policy():
    @task
    def publish() -> str:
        from pathlib import Path

        from include.config import Target
        from include.deployment import publish as publish_release
        from include.task_policy import run_step

        target = Target(kind="s3", bucket=os.environ["A2K_TEST_BUCKET"], prefix="lib", aws_conn_id="retry_s3")
        release = Path(os.environ["A2K_TEST_RELEASE"])
        return run_step(publish_release, release, target, "v1", 5, Path).live

    publish()


gate_policy()
s3_policy()
"""


@pytest.fixture(scope="module")
def dags(metadata_db, tmp_path_factory):
    """The two policy DAGs in a dags folder of their own (dag.test needs them in a bundle)."""
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag

    folder = tmp_path_factory.mktemp("policy_dags")
    (folder / "policy_dags.py").write_text(DAGS)
    old = settings.DAGS_FOLDER  # the local bundle's path
    settings.DAGS_FOLDER = str(folder)
    try:
        bag = DagBag(dag_folder=str(folder))
        assert not bag.import_errors, bag.import_errors
        yield bag.dags
    finally:
        settings.DAGS_FOLDER = old


def test_gate_failure_is_not_retried(dags):
    run = dags["a2k_gate_policy"].test()
    assert str(run.state) == "failed"
    assert _tries("a2k_gate_policy", "validate") == [(1, "failed")]  # retries=2, yet one try


def test_s3_outage_is_retried_until_it_is_back(dags, tmp_path, monkeypatch):
    import urllib.parse

    import boto3

    from tests.include.test_deployment_s3 import Moto

    moto = Moto()
    moto.start()
    boto3.client(
        "s3",
        endpoint_url=moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    ).create_bucket(Bucket=moto.bucket)
    extra = urllib.parse.urlencode({"endpoint_url": moto.endpoint, "region_name": "us-east-1"})
    monkeypatch.setenv("AIRFLOW_CONN_RETRY_S3", f"aws://key:secret@/?{extra}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    release = tmp_path / "release"
    (release / "symbols").mkdir(parents=True)
    (release / "symbols" / "Lib.kicad_sym").write_text("(kicad_symbol_lib)")
    monkeypatch.setenv("A2K_TEST_BUCKET", moto.bucket)
    monkeypatch.setenv("A2K_TEST_RELEASE", str(release))

    moto.stop()  # the outage
    restarted = threading.Event()

    def bring_back() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(state == "up_for_retry" or n >= 2 for n, state in _tries("a2k_s3_policy", "publish")):
                moto.start()
                restarted.set()
                return
            time.sleep(0.3)

    watcher = threading.Thread(target=bring_back, daemon=True)
    watcher.start()
    try:
        run = dags["a2k_s3_policy"].test()
    finally:
        watcher.join(timeout=10)
        moto.stop()
    tries = _tries("a2k_s3_policy", "publish")
    assert restarted.is_set() and str(run.state) == "success", tries
    assert tries[0] == (1, "failed") and tries[-1][1] == "success" and len(tries) >= 2
