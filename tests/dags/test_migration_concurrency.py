"""full_library_migration runs deployment.max_concurrent_migrations at once, deploys one at a time
(include.workflow.concurrency), and the pool the deploy tasks wait on is created by its init step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from include.workflow.concurrency import DEPLOY_POOL, DEPLOY_POOL_SLOTS, ensure_pools

REPO = Path(__file__).resolve().parents[2]
DEPLOY_TASKS = ["deployment.deploy_to_production", "deployment.deploy_to_test_environment"]


def _parsed(config: Path | None = None) -> dict:
    """max_active_runs and task pools, parsed in a fresh interpreter (the file reads its YAML at import)."""
    probe = (
        "import json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"b = DagBag(dag_folder={str(REPO / 'dags/full_library_migration.py')!r})\n"
        f"c = DagBag(dag_folder={str(REPO / 'dags/promotion.py')!r})\n"
        "assert not b.import_errors and not c.import_errors, (b.import_errors, c.import_errors)\n"
        "m = b.dags['full_library_migration']\n"
        "p = c.dags['promote_test_to_prod']\n"
        "print(json.dumps({'runs': m.max_active_runs, 'pools': {t.task_id: t.pool for t in m.tasks},"
        " 'promotion': p.get_task('publish').pool}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("ALTIUM2KICAD_CONFIG", None)
    if config:
        env["ALTIUM2KICAD_CONFIG"] = str(config)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_runs_at_once_come_from_the_configuration(tmp_path):
    shipped = _parsed()
    assert shipped["runs"] == 10  # the guide's max_concurrent_migrations
    doc = yaml.safe_load((REPO / "config/altium2kicad.yaml").read_text())
    doc["deployment"]["max_concurrent_migrations"] = 3
    (tmp_path / "a2k.yaml").write_text(yaml.safe_dump(doc))
    parsed = _parsed(tmp_path / "a2k.yaml")
    assert parsed["runs"] == 3
    # deploys share one slot; nothing else waits on it
    assert sorted(t for t, pool in parsed["pools"].items() if pool == DEPLOY_POOL) == DEPLOY_TASKS
    assert parsed["promotion"] == DEPLOY_POOL


def test_init_step_creates_the_deployments_pool(metadata_db):
    ensure_pools()
    ensure_pools()  # the init step runs at every start: an update, not an error
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "pools", "get", DEPLOY_POOL, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (pool,) = json.loads(out.stdout)
    assert int(pool["slots"]) == DEPLOY_POOL_SLOTS
