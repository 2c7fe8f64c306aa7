"""Three migrations at once (include.workflow.concurrency): each run's rows, report and deployed
version intact, and the shared environment's pointer naming a complete version.

The task functions run in three processes against one PostgreSQL library database and one
development target, as three Celery workers would run three DAG runs (dag.test cannot run
concurrently; processes, not threads, because each task is a process and Great Expectations keeps
process-wide state). Every stage is started together (a barrier), so the deploys collide on purpose.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import traceback
import uuid
from pathlib import Path

import pytest

from include import pipeline
from include.config import DEFAULT_CONFIG, load_config
from tests.scratch_databases import PG_SERVER, create_database, drop_database, require_server

RUNS = 3


@pytest.fixture
def library_db(monkeypatch, tmp_path):
    from include.library_db.database import engine

    require_server("postgresql")
    name = f"a2k_concurrent_{uuid.uuid4().hex[:10]}"
    create_database("postgresql", name)
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", f"{PG_SERVER}/{name}")
    monkeypatch.delenv("ALTIUM2KICAD_KICAD_CLI", raising=False)
    engine.cache_clear()
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        engine.cache_clear()
        drop_database("postgresql", name)


def _migrate(rc: pipeline.RunContext, barrier) -> dict:
    """One run's tasks in DAG order, every stage entered by all runs together."""
    barrier.wait()
    units = pipeline.analyze_source_library(rc)
    rules = pipeline.create_mapping_rules(units, rc)
    criteria = pipeline.setup_validation_criteria(units, rc)
    pipeline.run_test_migration(units, rules, rc)
    barrier.wait()
    converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
    for kind in ("symbols", "footprints", "models"):
        pipeline.validate(kind, converted, criteria, rc)
    pipeline.validate_migration(converted, criteria, rc)
    barrier.wait()
    pipeline.deploy(converted, "test", rc)
    barrier.wait()
    return pipeline.deploy(converted, "production", rc)


def test_three_migrations_at_once_keep_their_rows_and_deployments(tmp_path, library_db):
    from converters.fixtures.sample_library import write_sample_library

    config = load_config(DEFAULT_CONFIG)
    runs = []
    for n in range(RUNS):
        source = tmp_path / f"src{n}"
        write_sample_library(source)
        runs.append(
            pipeline.RunContext(
                f"manual__concurrent{n}",
                "full_library_migration",
                {"source": str(source), "environment": "development", "sample_size": 1},
                config,
                "tester",
            )
        )
    mp = multiprocessing.get_context("fork")  # the children inherit the test's environment
    barrier = mp.Barrier(RUNS, timeout=300)
    answers = mp.Queue()

    def work(rc: pipeline.RunContext) -> None:
        try:
            answers.put((rc.run_id, _migrate(rc, barrier), None))
        except BaseException:  # noqa: BLE001 - reported by the parent with its run
            barrier.abort()
            answers.put((rc.run_id, None, traceback.format_exc()))

    procs = [mp.Process(target=work, args=(rc,)) for rc in runs]
    for p in procs:
        p.start()
    got = [answers.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [f"{run_id}: {error}" for run_id, _, error in got if error]
    assert not errors, "\n".join(errors)
    results = {run_id: published for run_id, published, _ in got}
    assert sorted(results) == sorted(rc.run_id for rc in runs)

    store = runs[0].store
    expected = None
    for rc in runs:
        run = store.run(rc.run_id)
        assert run is not None and run.status == "deployed" and run.deployed_version == rc.safe_run
        rows = store.converted_items(rc.run_id, "full")
        keys = [(r.library, r.item, r.kind) for r in rows]
        assert len(keys) == len(set(keys)) >= 10  # nothing duplicated
        assert all(r.library.startswith(rc.params["source"]) for r in rows)  # only its own source
        shape = sorted((Path(r.library).name, r.item, r.kind, r.status) for r in rows)
        expected = expected or shape
        assert shape == expected  # nothing lost: every run holds the whole library
        assert rc.report_path.is_file()
        published = results[rc.run_id]
        version = Path(published["location"])
        assert version.name == rc.safe_run and (version / "symbols" / "Sample.kicad_sym").is_file()
        assert published["files"] == sum(1 for p in version.rglob("*") if p.is_file())

    for env in ("development", "testing"):
        target = config.path(config.environment(env).target.path)
        pointer = json.loads((target / "CURRENT").read_text())
        live = os.readlink(target / "current")
        # the symlink and the CURRENT file were switched by the same publish, never interleaved
        assert Path(live).name == pointer["version"] in {rc.safe_run for rc in runs}
        assert (target / "current" / "symbols" / "Sample.kicad_sym").is_file()
        assert not list((target / "versions").glob(".*"))  # no staging folder left behind
        assert not (target / ".current.tmp").exists()
