"""The library database fails over in the middle of a migration, and the migration still completes.

A primary and a streaming standby built with initdb / pg_basebackup on spare ports; the library
database URL names both (libpq multi-host, target_session_attrs=read-write). The pipeline runs the
sample library through analysis, test and full migration and deployment (the gates, which
add no writes of their own kind, are left out for time); when the full migration starts, the test (playing the cluster
manager) stops the primary hard and promotes the standby a few seconds later. The store's writes are
retried under `high_availability.database` (the shipped 5 s / 10 retries / 60 s) and the run
completes within the failover timeout with every row there once. Prints the recovery time.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from include import pipeline
from include.config import DEFAULT_CONFIG, load_config
from include.library_db.database import engine as library_engine
from include.library_db.models import AuditEntry, ConvertedItem
from tests import pg_cluster

DETECTION_SECONDS = 3  # how long the "cluster manager" takes to notice and promote


@pytest.fixture
def cluster():
    if not pg_cluster.server_binaries():
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    root = pg_cluster.scratch_root()
    first = pg_cluster.primary(root)
    second = None
    try:
        admin = create_engine(first.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE a2k_library"))
        admin.dispose()
        second = pg_cluster.standby(root, first)
        yield first, second
    finally:
        library_engine.cache_clear()
        for node in (first, second):
            if node and node.running():
                node.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def _run_pipeline(rc, started: threading.Event, failed_over: threading.Event, outcome: dict) -> None:
    try:
        units = pipeline.analyze_source_library(rc)
        rules = pipeline.create_mapping_rules(units, rc)
        pipeline.run_test_migration(units, rules, rc)
        started.set()
        failed_over.wait(timeout=30)  # the primary is down now: every write below must ride it out
        converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
        pipeline.deploy(converted, "test", rc)  # the release user acceptance sees
        outcome["deployed"] = pipeline.deploy(converted, "production", rc)
    except BaseException as exc:  # reported by the test, not lost in the thread
        outcome["error"] = exc
    finally:
        outcome["finished_at"] = time.monotonic()
        started.set()


def test_primary_stopped_mid_migration_standby_promoted(cluster, tmp_path, monkeypatch):
    from converters.fixtures.sample_library import write_sample_library

    first, second = cluster
    url = pg_cluster.multi_host_url([first, second], "a2k_library")
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", url)
    monkeypatch.delenv("ALTIUM2KICAD_KICAD_CLI", raising=False)
    write_sample_library(tmp_path / "src")
    config = load_config(DEFAULT_CONFIG)
    policy = config.high_availability.database
    rc = pipeline.RunContext(
        "manual__failover",
        "full_library_migration",
        {"source": str(tmp_path / "src"), "environment": "development", "sample_size": 1},
        config,
        "tester",
    )
    started, failed_over, outcome = threading.Event(), threading.Event(), {}
    worker = threading.Thread(target=_run_pipeline, args=(rc, started, failed_over, outcome), daemon=True)
    worker.start()
    assert started.wait(timeout=300), "the pipeline never reached the full migration"
    assert "error" not in outcome, outcome.get("error")

    first.stop("immediate")  # the primary dies
    stopped_at = time.monotonic()
    failed_over.set()
    time.sleep(DETECTION_SECONDS)
    pg_cluster.promote(second)  # the cluster manager promotes the standby
    worker.join(timeout=policy.failover_timeout + 120)
    assert not worker.is_alive(), "the migration hung after the failover"
    assert "error" not in outcome, f"the migration failed after the failover: {outcome.get('error')!r}"
    recovery = outcome["finished_at"] - stopped_at
    print(
        f"\nfailover: run completed {recovery:.1f} s after the primary stopped (promotion after {DETECTION_SECONDS} s)"
    )

    with Session(library_engine(url)) as s:
        rows = s.execute(
            select(ConvertedItem.phase, ConvertedItem.library, ConvertedItem.item, ConvertedItem.kind)
        ).all()
        deployed = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deployed_production")
        )
    full = [r for r in rows if r.phase == "full"]
    assert len(rows) == len(set(rows)), "duplicated rows after the retries"
    # every item of the sample library converted once in the full phase, as in the test migration
    inventory = {(r.library, r.item, r.kind) for r in rc.store.source_items(rc.run_id)}
    assert {(r.library, r.item, r.kind) for r in full} >= {i for i in inventory if i[2] != "library"}
    actions = [a.action for a in rc.store.audit_log(rc.run_id)]
    assert deployed == 1, actions  # once, although its writes were retried
    assert Path(outcome["deployed"]["live"]).is_symlink()
    print(f"failover: {len(full)} full-migration rows, 0 lost, 0 duplicated")
    # the node serving now is the promoted standby, and it accepts writes
    with create_engine(second.url("a2k_library")).connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
    assert recovery < policy.failover_timeout + 30  # completion includes the rest of the run's work
