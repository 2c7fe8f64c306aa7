"""full_library_migration end to end: dag.test() on a real DbLib, approvals answered over REST.

Real services only: Airflow's metadata database and the library database are scratch databases on
the PostgreSQL at 127.0.0.1:5432; the reviewer logs in to a real api-server (SimpleAuthManager)
started here and answers the human-in-the-loop tasks through the public HITL endpoints; the
testing environment deploys to a real S3-protocol server (moto's, on localhost).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import DAG_ID, run_dag, task_states

pytestmark = [pytest.mark.slow, pytest.mark.corpus]


def test_full_run_on_a_real_dblib(dag, airflow_api, pipeline_env, shared):
    from include.library_db.store import LibraryStore

    source = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "Fuse_Library.DbLib"
    run, reviewer, seconds = run_dag(
        dag, airflow_api, {"source": str(source), "environment": "development", "sample_size": 2}
    )
    states = task_states(run)
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
    # one approver per level in the default configuration; each decision audited with its level
    granted = [
        (a.actor, a.detail["level"]) for a in store.audit_log(run.run_id) if a.action == "approval_granted"
    ]
    assert granted == [("reviewer", "technical_review"), ("reviewer", "quality_review")]
    assert store.run(run.run_id).status == "deployed"
    assert len(store.source_items(run.run_id, "part")) == 5
    if pipeline_env["kicad"]:
        assert gates["kicad_load.symbols"] and gates["kicad_load.footprints"]
        assert gates["kicad_drc.footprints"]  # KiCad's DRC on every footprint, no introduced violation

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
    # the DAG's success callback: final state at the top, total_components from the analysis
    version = store.run(run.run_id).deployed_version
    assert f"Final state: deployed to development (version {version})" in text
    assert "status <b>deployed</b>" in text
    assert metrics["total_components"].value >= metrics["components_migrated"].value > 0
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
    run, reviewer, _ = run_dag(
        dag, airflow_api, {"source": str(source), "environment": "testing", "sample_size": 1}
    )
    states = task_states(run)
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
    assert_recorded_failure(run, pipeline_env, "validate_footprints", "Fuses/FUSE BLADE")


def assert_recorded_failure(run, pipeline_env, task: str, reason: str) -> None:
    """What the DAG's failure callback leaves of a run that stopped: metrics, its status, an audit
    row and the report saying where and why it stopped (never `running`)."""
    from include.library_db.store import LibraryStore

    store = LibraryStore(pipeline_env["db_url"])
    metrics = store.metrics(run.run_id)
    assert {"components_migrated", "migration_quality", "time_spent", "total_components"} <= set(metrics)
    assert metrics["total_components"].value > 0 and metrics["time_spent"].value > 0
    record = store.run(run.run_id)
    assert record.status == "failed" and record.finished_at is not None
    (outcome,) = [a.detail for a in store.audit_log(run.run_id) if a.action == "run_outcome"]
    assert outcome["status"] == "failed" and task in outcome["headline"]
    text = Path(record.report_path).read_text()
    assert f"Final state: failed at {task}" in text and reason in text.split("</h2>")[0]
    assert "status <b>running</b>" not in text and "status <b>failed</b>" in text


def test_rejected_run_names_the_reviewer_and_reason(dag, airflow_api, pipeline_env, shared):
    """QA rejects the test migration: nothing more is converted or deployed, and the run's record
    and report say who rejected it and why."""
    from include.library_db.store import LibraryStore

    source = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "Fuse_Library.DbLib"
    why = "fuse footprints are mirrored"
    run, reviewer, _ = run_dag(
        dag,
        airflow_api,
        {"source": str(source), "environment": "development", "sample_size": 1},
        option="Reject",
        comment=why,
    )
    states = task_states(run)
    assert [a["task_id"] for a in reviewer.answered] == ["migration.review_test_results"], reviewer.errors
    assert states["deployment.deploy_to_production"] in ("skipped", "upstream_failed"), states
    store = LibraryStore(pipeline_env["db_url"])
    record = store.run(run.run_id)
    assert record.status == "rejected" and not record.deployed_version
    metrics = store.metrics(run.run_id)
    assert metrics["components_migrated"].value == 0 and metrics["total_components"].value > 0
    (outcome,) = [a.detail for a in store.audit_log(run.run_id) if a.action == "run_outcome"]
    assert (outcome["actor"], outcome["reason"]) == ("reviewer", why)
    text = Path(record.report_path).read_text()
    assert f"Final state: rejected by reviewer at review_test_results: {why}" in text
    assert "status <b>rejected</b>" in text
