"""Airflow settings for the DAG tests, fixed before Airflow is first imported.

Each test process gets its own AIRFLOW_HOME and its own scratch metadata database on the real
PostgreSQL (created by the `airflow_db` fixture, dropped at the end), so parallel workers and a
developer's own Airflow never see each other.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.scratch_databases import PG_SERVER, create_database, drop_database, require_server

REPO = Path(__file__).resolve().parents[2]
METADATA_DB = f"a2k_airflow_{os.getpid()}"

_home = Path(tempfile.mkdtemp(prefix="a2k-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"{PG_SERVER}/{METADATA_DB}"
os.environ["AIRFLOW__CORE__AUTH_MANAGER"] = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
# reviewer answers the migration's approvals; alice and bob are release/library managers, mallory
# holds no role the promotion's approval level allows
USERS = {"reviewer": "admin", "alice": "user", "bob": "user", "mallory": "user"}
os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(f"{u}:{r}" for u, r in USERS.items())
os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(_home / "passwords.json")
os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "altium2kicad-tests-only"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
# a task process waits this long for the api-server (Airflow's 5 s is too short when the suite loads
# both cores: the promotion window test's `prepare` gave up after 4 timed-out calls)
os.environ.setdefault("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "30")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
DAG_ID = "full_library_migration"
AIRFLOW = [sys.executable, "-m", "airflow"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_db(name: str) -> None:
    """Skips only when no PostgreSQL listens; a server that refuses CREATE DATABASE fails the test."""
    require_server("postgresql")
    create_database("postgresql", name)


def _drop_db(name: str) -> None:
    _release_metadata_connections()
    drop_database("postgresql", name)


def _release_metadata_connections() -> None:
    """Closes this process's pooled connections to the metadata database before it is dropped:
    the next module creates a database of the same name, and a stale pooled connection to the
    dropped one fails its first query ("server closed the connection unexpectedly")."""
    import sys

    if "airflow.settings" not in sys.modules:
        return
    from airflow import settings

    if settings.Session is not None:
        settings.Session.remove()
    if settings.engine is not None:
        settings.engine.dispose()


@pytest.fixture(scope="module")
def metadata_db():
    """The scratch metadata database, migrated, for dag.test() without an api-server."""
    import subprocess

    try:
        create_database("postgresql", METADATA_DB)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")
    migrate = subprocess.run(AIRFLOW + ["db", "migrate"], capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    yield
    _drop_db(METADATA_DB)


@pytest.fixture(scope="module")
def airflow_api(pipeline_env):
    """Scratch metadata DB (migrated by `airflow db migrate`) and a running api-server (which sees the
    pipeline's configuration too: it serves the reports)."""
    from include.airflow_api import (
        AirflowApi,
        migrate_metadata_db,
        start_api_server,
        wait_healthy,
        warm_dag_test_api,
    )

    _create_db(METADATA_DB)
    home = Path(os.environ["AIRFLOW_HOME"])
    (home / "passwords.json").write_text(json.dumps({u: f"{u}-" + uuid.uuid4().hex[:8] for u in USERS}))
    migrate = migrate_metadata_db()
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    port = _free_port()
    os.environ["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}"
    log = (home / "api-server.log").open("w")
    server = start_api_server(port, log)
    warming = warm_dag_test_api()  # as the demo does: dag.test()'s own Execution API, meanwhile
    password = json.loads((home / "passwords.json").read_text())["reviewer"]
    api = AirflowApi(f"http://127.0.0.1:{port}", "reviewer", password)
    try:
        wait_healthy(api, 180)
        warming.join()
        api.warm_up = warming  # type: ignore[attr-defined]  # what it did, for test_dag_test_api
        yield api
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        _drop_db(METADATA_DB)


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    import boto3

    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
    client.create_bucket(Bucket="kicad-libraries")
    yield f"http://127.0.0.1:{port}", client
    server.stop()


@pytest.fixture(scope="module")
def pipeline_env(tmp_path_factory, s3_server):
    """The project's default config with the testing environment on S3 and a PostgreSQL library DB."""
    import yaml

    tmp_path = tmp_path_factory.mktemp("pipeline")
    endpoint, client = s3_server
    config = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    config["environments"]["testing"]["target"] = {
        "kind": "s3",
        "bucket": "kicad-libraries",
        "prefix": f"e2e-{uuid.uuid4().hex[:6]}",
        "endpoint_url": endpoint,
    }
    path = tmp_path / "altium2kicad.yaml"
    path.write_text(yaml.safe_dump(config))
    library_db = f"a2k_lib_{uuid.uuid4().hex[:10]}"
    _create_db(library_db)
    env = {
        "ALTIUM2KICAD_CONFIG": str(path),
        "ALTIUM2KICAD_HOME": str(tmp_path / "home"),
        "ALTIUM2KICAD_DB_URL": f"{PG_SERVER}/{library_db}",
    }
    kicad = (
        Path(os.environ.get("ALTIUM2KICAD_SHARED", REPO.parent / "shared")) / "tools" / "kicad" / "kicad-cli"
    )
    if kicad.exists():
        env["ALTIUM2KICAD_KICAD_CLI"] = str(kicad)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield {
        "home": tmp_path / "home",
        "db_url": env["ALTIUM2KICAD_DB_URL"],
        "s3": client,
        "prefix": config["environments"]["testing"]["target"]["prefix"],
        "kicad": kicad.exists(),
    }
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    from include.library_db.database import engine

    engine.cache_clear()
    _drop_db(library_db)


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    return bag.dags[DAG_ID]


def run_dag(dag, api, conf: dict, option: str = "Approve", comment: str | None = None):
    """dag.test() with every approval answered `option` (with `comment`) by the reviewer."""
    from include.airflow_api import Reviewer

    params = {"comment": comment} if comment is not None else None
    reviewer = Reviewer(api, DAG_ID, option, params).start()
    started = time.monotonic()
    try:
        run = dag.test(run_conf=conf)
    finally:
        reviewer.stop()
    return run, reviewer, time.monotonic() - started


def task_states(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        tis = s.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run.run_id)
        )
        return {f"{t.task_id}[{t.map_index}]" if t.map_index >= 0 else t.task_id: str(t.state) for t in tis}
