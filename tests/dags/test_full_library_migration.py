"""full_library_migration end to end: dag.test() on a real DbLib, approvals answered over REST.

Real services only: Airflow's metadata database and the library database are scratch databases on
the PostgreSQL at 127.0.0.1:5432; the reviewer logs in to a real api-server (SimpleAuthManager)
started here and answers the human-in-the-loop tasks through the public HITL endpoints; the
testing environment deploys to a real S3-protocol server (moto's, on localhost).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.scratch_databases import PG_SERVER, create_database, drop_database

from .conftest import METADATA_DB, REPO

pytestmark = [pytest.mark.slow, pytest.mark.corpus]
DAG_ID = "full_library_migration"
AIRFLOW = [sys.executable, "-m", "airflow"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_db(name: str) -> None:
    try:
        create_database("postgresql", name)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")


def _drop_db(name: str) -> None:
    drop_database("postgresql", name)


@pytest.fixture(scope="module")
def airflow_api(pipeline_env):
    """Scratch metadata DB (migrated by `airflow db migrate`) and a running api-server (which sees the
    pipeline's configuration too: it serves the reports)."""
    from include.airflow_api import AirflowApi, wait_healthy

    _create_db(METADATA_DB)
    home = Path(os.environ["AIRFLOW_HOME"])
    (home / "passwords.json").write_text(json.dumps({"reviewer": "review-" + uuid.uuid4().hex[:8]}))
    migrate = subprocess.run(AIRFLOW + ["db", "migrate"], capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    port = _free_port()
    os.environ["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}"
    log = (home / "api-server.log").open("w")
    server = subprocess.Popen(
        AIRFLOW + ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    password = json.loads((home / "passwords.json").read_text())["reviewer"]
    api = AirflowApi(f"http://127.0.0.1:{port}", "reviewer", password)
    try:
        wait_healthy(api, 180)
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


def _run(dag, api, conf: dict):
    from include.airflow_api import Reviewer

    reviewer = Reviewer(api, DAG_ID).start()
    started = time.monotonic()
    try:
        run = dag.test(run_conf=conf)
    finally:
        reviewer.stop()
    return run, reviewer, time.monotonic() - started


def _states(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        tis = s.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run.run_id)
        )
        return {f"{t.task_id}[{t.map_index}]" if t.map_index >= 0 else t.task_id: str(t.state) for t in tis}


def test_full_run_on_a_real_dblib(dag, airflow_api, pipeline_env, shared):
    from include.library_db.store import LibraryStore

    source = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "Fuse_Library.DbLib"
    run, reviewer, seconds = _run(
        dag, airflow_api, {"source": str(source), "environment": "development", "sample_size": 2}
    )
    states = _states(run)
    assert str(run.state) == "success", (states, reviewer.errors)
    # both approvals answered through the REST API by the logged-in reviewer
    assert sorted(a["task_id"] for a in reviewer.answered) == [
        "deployment.user_acceptance_testing",
        "migration.review_test_results",
    ]
    assert all(a["responded_by"]["name"] == "reviewer" for a in reviewer.answered)
    test_body = next(a["body"] for a in reviewer.answered if a["task_id"] == "migration.review_test_results")
    assert "Test migration of 2 of" in test_body
    assert states["migration.run_full_migration[0]"] == "success"  # one mapped task per DbLib

    store = LibraryStore(pipeline_env["db_url"])
    rows = store.converted_items(run.run_id, "full")
    keys = [(r.library, r.item, r.kind) for r in rows]
    assert len(keys) == len(set(keys)) and len(rows) >= 10
    parts = [r for r in rows if r.kind == "part"]
    assert len(parts) == 5
    blade = next(r for r in parts if r.item == "Fuses/FUSE BLADE")  # its symbol file is missing in the corpus
    assert blade.status == "failed" and "FUSE BLADE.Schlib" in " ".join(blade.messages)
    metrics = store.metrics(run.run_id)
    assert metrics["components_migrated"].value == sum(
        1 for r in rows if r.kind in ("symbol", "footprint", "model", "part") and r.status != "failed"
    )
    assert 0.8 < metrics["migration_quality"].value < 1.0
    assert metrics["time_spent"].value > 0
    gates = {g.gate: g.success for g in store.gates(run.run_id)}
    assert {"source_parts", "symbols", "footprints", "models", "database_library"} <= set(gates)
    assert all(gates.values()), gates  # basic level: failed items are warnings, not a stop
    audit = [(a.actor, a.action) for a in store.audit_log(run.run_id)]
    assert ("reviewer", "approved_test_results") in audit and ("reviewer", "user_acceptance") in audit
    assert store.run(run.run_id).status == "deployed"
    assert len(store.source_items(run.run_id, "part")) == 5
    if pipeline_env["kicad"]:
        assert gates["kicad_load.symbols"] and gates["kicad_load.footprints"]

    # production (development env here): a local folder whose `current` names the new version
    live = pipeline_env["home"] / "var" / "altium2kicad" / "deploy" / "development" / "current"
    assert live.is_symlink()
    assert sorted(p.name for p in (live / "symbols").glob("*.kicad_sym")) == [
        "FUSE_10A_63V_SLOW.kicad_sym",
        "FUSE_1A_32V_FAST.kicad_sym",
        "FUSE_20A_63V_SLOW.kicad_sym",
        "FUSE_3A_63V_SLOW.kicad_sym",
    ]
    assert (live / "database" / "Fuse_Library.kicad_dbl").is_file()
    assert (live / "database" / "Fuse_Library.sqlite").is_file()
    # testing environment: the S3 bucket, pointer object naming the version
    s3, prefix = pipeline_env["s3"], pipeline_env["prefix"]
    pointer = json.loads(s3.get_object(Bucket="kicad-libraries", Key=f"{prefix}/current.json")["Body"].read())
    listed = s3.list_objects_v2(Bucket="kicad-libraries", Prefix=f"{prefix}/{pointer['path']}/")["KeyCount"]
    assert listed == pointer["files"] > 5

    report = Path(store.run(run.run_id).report_path)
    text = report.read_text()
    assert "FUSE BLADE" in text and "<svg" in text and "migration_quality" in text
    assert "data_docs" in text
    # the report is linked from every task of the run and served by the api-server (plugin)
    links = airflow_api._request(
        "GET",
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run.run_id}/taskInstances/deployment.deploy_to_production/links",
    )
    url = links["extra_links"]["Migration report"]
    assert url.endswith("/index.html")
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError, match="401"):  # reports need an Airflow login
        urllib.request.urlopen(url, timeout=30)
    signed_in = urllib.request.Request(url, headers={"Authorization": f"Bearer {airflow_api.token()}"})
    with urllib.request.urlopen(signed_in, timeout=30) as served:
        assert "FUSE BLADE" in served.read().decode()
    print(
        f"\nfull_library_migration on {source.name}: {seconds:.1f}s, {len(rows)} items, "
        f"quality {metrics['migration_quality'].value:.3f}, report {report}"
    )


def test_failed_gate_names_the_item(dag, airflow_api, pipeline_env, shared):
    """At the testing level (full) the part whose symbol file is missing stops validation."""
    from include.library_db.store import LibraryStore

    source = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "Fuse_Library.DbLib"
    run, reviewer, _ = _run(
        dag, airflow_api, {"source": str(source), "environment": "testing", "sample_size": 1}
    )
    states = _states(run)
    assert str(run.state) == "failed"
    assert states["validation.validate_footprints"] == "failed"
    assert states["validation.validate_symbols"] == "success"
    assert states["deployment.deploy_to_test_environment"] == "upstream_failed"
    assert [a["task_id"] for a in reviewer.answered] == ["migration.review_test_results"]
    gates = {g.gate: g for g in LibraryStore(pipeline_env["db_url"]).gates(run.run_id)}
    failed = gates["conversion_results.footprints"]
    assert not failed.success
    named = [i for e in failed.summary["expectations"] if not e["success"] for i in e["failed_items"]]
    assert any("Fuses/FUSE BLADE" in i for i in named), named
