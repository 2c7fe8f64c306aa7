"""The storage layer's failover, decided by Airflow's own task runner: the S3 endpoint (moto's server
on localhost) stops in the middle of a deployment to an environment with a secondary store.

v1 is live on both stores (S3 primary, a local folder as `secondary_target`). A task publishing v2
with the project's `include.deployment.publish` (retries=3, retry_delay 4 s: the task-level retry
idiom, as full_library_migration's deploy tasks retry) loses the endpoint after two objects:
the attempt fails, both pointers still name v1, and a reader (`live_version`, what promotion and
sync use) gets v1 from the secondary while S3 is down. The endpoint comes back, Airflow's retry
publishes v2 to both stores, every file verified by sha256 on both. Printed: recovery time and
files lost.

The stop mid-upload is test instrumentation in the test DAG (a boto event hook on the first try's
client): after the second PutObject it asks the test to stop the server and waits until it has.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.scratch_databases import PG_SERVER, create_database, drop_database

from .conftest import METADATA_DB
from .test_retry_policy import _tries

pytestmark = [pytest.mark.slow]
AIRFLOW = [sys.executable, "-m", "airflow"]
DAG_ID = "a2k_storage_failover"

DAGS = """
from datetime import timedelta
import os
import time
from pathlib import Path

import pendulum
from airflow.sdk import dag, get_current_context, task


def _stop_after_two_uploads(client) -> None:
    faults = Path(os.environ["A2K_TEST_FAULTS"])
    puts = []

    def after_put(**kwargs) -> None:
        puts.append(1)
        if len(puts) == 2:
            (faults / "outage").touch()  # the test stops the endpoint now
            deadline = time.monotonic() + 60
            while not (faults / "down").exists() and time.monotonic() < deadline:
                time.sleep(0.1)

    client.meta.events.register("after-call.s3.PutObject", after_put)


@dag(
    dag_id="a2k_storage_failover",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    default_args={"retries": 3, "retry_delay": timedelta(seconds=4)},
)
def storage_failover():
    @task
    def publish() -> dict:
        \"\"\"Publishes v2 to the S3 primary and the local secondary (the test's outage on try 1).\"\"\"
        import include.deployment as deployment
        from include.config import Target
        from include.task_policy import run_step

        primary = Target(kind="s3", bucket=os.environ["A2K_TEST_BUCKET"], prefix="lib", aws_conn_id="failover_s3")
        secondary = Target(kind="local", path=os.environ["A2K_TEST_SECONDARY"])
        real = deployment.s3_client
        if get_current_context()["ti"].try_number == 1:
            def instrumented(target):
                client = real(target)
                _stop_after_two_uploads(client)
                return client

            deployment.s3_client = instrumented
        try:
            release = Path(os.environ["A2K_TEST_RELEASE"])
            return run_step(deployment.publish, release, primary, "v2", 5, Path, secondary).to_json()
        finally:
            deployment.s3_client = real

    publish()


storage_failover()
"""


@pytest.fixture(scope="module")
def dags(tmp_path_factory):
    """The test DAG in a dags folder of its own, on a scratch metadata database (dag.test needs both)."""
    from airflow import settings
    from airflow.dag_processing.dagbag import DagBag

    try:
        create_database("postgresql", METADATA_DB)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")
    migrate = subprocess.run(AIRFLOW + ["db", "migrate"], capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    folder = tmp_path_factory.mktemp("failover_dags")
    (folder / "failover_dags.py").write_text(DAGS)
    old = settings.DAGS_FOLDER
    settings.DAGS_FOLDER = str(folder)
    try:
        bag = DagBag(dag_folder=str(folder))
        assert not bag.import_errors, bag.import_errors
        yield bag.dags
    finally:
        settings.DAGS_FOLDER = old
        drop_database("postgresql", METADATA_DB)


def _release(folder: Path, version: str, files: int = 6) -> Path:
    for n in range(files):
        path = folder / "footprints" / "Lib.pretty" / f"R{n}.kicad_mod"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'(footprint "R{n}" (version {version}))')
    (folder / "symbols").mkdir(parents=True, exist_ok=True)
    (folder / "symbols" / "Lib.kicad_sym").write_text(f"(kicad_symbol_lib {version})")
    return folder


def _s3_manifest(client, bucket: str, base: str) -> dict[str, str]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base + "/"):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out[obj["Key"][len(base) + 1 :]] = hashlib.sha256(body).hexdigest()
    return out


def test_s3_outage_mid_deployment_keeps_v1_live_and_the_retry_completes(dags, tmp_path, monkeypatch):
    import urllib.parse

    import boto3

    from include.config import Target
    from include.deployment import current_local, current_s3, live_version, manifest, publish, s3_client
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
    monkeypatch.setenv("AIRFLOW_CONN_FAILOVER_S3", f"aws://key:secret@/?{extra}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's own retries off: Airflow's retry is the one
    faults, secondary_root = tmp_path / "faults", tmp_path / "secondary"
    faults.mkdir()
    primary = Target(kind="s3", bucket=moto.bucket, prefix="lib", aws_conn_id="failover_s3")
    secondary = Target(kind="local", path=str(secondary_root))
    v1 = _release(tmp_path / "v1", "v1")
    v2 = _release(tmp_path / "v2", "v2")
    assert publish(v1, primary, "v1", 5, Path, secondary).mirrors == [str(secondary_root / "versions" / "v1")]
    for key, value in {
        "A2K_TEST_BUCKET": moto.bucket,
        "A2K_TEST_SECONDARY": str(secondary_root),
        "A2K_TEST_RELEASE": str(v2),
        "A2K_TEST_FAULTS": str(faults),
    }.items():
        monkeypatch.setenv(key, value)

    seen: dict = {}

    def outage_then_back() -> None:
        deadline = time.monotonic() + 180
        while not (faults / "outage").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        moto.stop()
        seen["down_at"] = time.monotonic()
        (faults / "down").touch()
        while time.monotonic() < deadline:
            if any(state in ("up_for_retry", "failed") for _, state in _tries(DAG_ID, "publish")):
                break
            time.sleep(0.2)
        # S3 down, try 1 failed: the readers get the live version from the secondary
        seen["while_down"] = live_version(primary, Path, secondary)
        seen["secondary_pointer"] = current_local(secondary_root)
        moto.start()
        seen["back_at"] = time.monotonic()
        seen["primary_pointer_when_back"] = current_s3(s3_client(primary), moto.bucket, "lib")

    watcher = threading.Thread(target=outage_then_back, daemon=True)
    watcher.start()
    try:
        run = dags[DAG_ID].test()
        done_at = time.monotonic()
        watcher.join(timeout=30)
        tries = _tries(DAG_ID, "publish")
        assert str(run.state) == "success", (tries, seen)
        assert tries[0] == (1, "failed") and tries[-1][1] == "success", tries
        assert seen["while_down"] == ("v1", "secondary")  # the previous version stayed live
        assert seen["secondary_pointer"] == "v1" and seen["primary_pointer_when_back"] == "v1"
        client = s3_client(primary)
        assert current_s3(client, moto.bucket, "lib") == "v2" and current_local(secondary_root) == "v2"
        wanted = manifest(v2)
        on_primary = _s3_manifest(client, moto.bucket, "lib/versions/v2")
        on_secondary = manifest(secondary_root / "versions" / "v2")
        lost = {
            *(set(wanted.items()) - set(on_primary.items())),
            *(set(wanted.items()) - set(on_secondary.items())),
        }
        assert not lost and len(wanted) == 7
        assert live_version(primary, Path, secondary) == ("v2", "primary")
    finally:
        moto.stop()
    print(
        f"\nS3 endpoint stopped after 2 of {len(wanted)} uploads of v2: v1 stayed live (read from the "
        f"secondary while down); endpoint back {seen['back_at'] - seen['down_at']:.1f}s later, "
        f"Airflow's retry made v2 live on both stores {done_at - seen['back_at']:.1f}s after that "
        f"(try {tries[-1][0]}); files lost {len(lost)}"
    )
