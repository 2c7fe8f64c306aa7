"""How many migrations run at once, and how their deployments are kept apart.

Runs at once: `deployment.max_concurrent_migrations` is full_library_migration's `max_active_runs`,
read from the YAML by the DAG file when it is parsed (as dags/site_sync.py reads its schedules;
the DAG file never imports include). `max_active_runs` is the Airflow setting that counts *runs*:
an eleventh run waits in `queued` until one of the ten finishes. A pool was the alternative, but a
pool counts task slots, not runs: a migration spends most of its life in deferred approval tasks
that hold no slot, and its full migration fans out to `workflows.max_parallel_libraries` tasks, so
N pool slots would allow any number of runs, or fewer than N conversions.

Deployments: the deploy tasks of every migration DAG (and promotion) share the `deployments` pool
of one slot, so two runs never publish at the same time, whichever environment, worker or machine
they run on; a deploy takes seconds, conversions do not wait for it. The pool is created by the
stack's init step (`python -m include.workflow.concurrency`, docker-compose.yaml airflow-init) and
by the tests and benchmarks that start a stack. A local target is also locked while it is published
(include.deployment.publish_local), for publishes from outside Airflow (admin commands, tests).
Run isolation needs nothing more: each run has its own folder (work_dir/runs/<run id>), its own
library database rows (keyed by run id) and its own deployed version (versions/<run id>).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

AIRFLOW = [sys.executable, "-m", "airflow"]
DEPLOY_POOL = "deployments"
DEPLOY_POOL_SLOTS = 1
DEPLOY_POOL_DESCRIPTION = "altium2kicad: one deployment at a time (include.workflow.concurrency)"


def ensure_pools(env: Mapping[str, str] | None = None, timeout: float = 120) -> None:
    """Creates or updates the `deployments` pool in the metadata database (`airflow pools set`)."""
    done = subprocess.run(
        AIRFLOW + ["pools", "set", DEPLOY_POOL, str(DEPLOY_POOL_SLOTS), DEPLOY_POOL_DESCRIPTION],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"airflow pools set {DEPLOY_POOL}: exit {done.returncode}: {done.stderr[-2000:]}")


if __name__ == "__main__":
    ensure_pools()
    print(f"pool {DEPLOY_POOL}: {DEPLOY_POOL_SLOTS} slot")
