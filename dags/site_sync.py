"""Site synchronisation DAGs, generated from the configuration's `synchronization` section.

One DAG per `synchronization.schedule` entry (`sync_component_libraries` every 4 hours,
`sync_audit_logs` daily at midnight, as the guide sets them), and one per slave site for the items
without an entry, on that site's `sync_frequency` (`sync_site_<name>`). Each DAG has one task per
site, so sites sync in parallel and a site that is down fails only its own task (retried). Wiring
only: include.sync does the work (incremental, resumable, lag recorded).

The file reads the YAML itself (not include.config) so parsing stays light; the tasks validate the
whole configuration before they do anything.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
import yaml
from airflow.sdk import dag, task

CONFIG = Path(os.environ.get("ALTIUM2KICAD_CONFIG") or Path(__file__).parents[1] / "config/altium2kicad.yaml")
DEFAULT_ARGS = {
    "owner": "library-admins",
    "retries": 3,  # a site's link or server down: try again before the next scheduled sync
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=2),
}


def _plans() -> list[tuple[str, str, list[str], list[str]]]:
    """(dag_id, cron, items, sites) for every sync DAG the configuration asks for."""
    try:
        doc = yaml.safe_load(CONFIG.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []  # the tasks of other DAGs report the broken file; nothing to schedule here
    sync = doc.get("synchronization") or {}
    sites = doc.get("sites") or {}
    slaves = list(sync.get("slave_sites") or [])
    items = list(
        sync.get("sync_items") or ["component_libraries", "mapping_rules", "user_preferences", "audit_logs"]
    )
    entries = sync.get("schedule") or []
    plans = [(f"sync_{e['item']}", e["cron"], [e["item"]], slaves) for e in entries if e.get("item") in items]
    rest = [i for i in items if i not in {e.get("item") for e in entries}]
    if rest:
        for name in slaves:
            cron = (sites.get(name) or {}).get("sync_frequency", "0 * * * *")
            plans.append((f"sync_site_{name}", cron, rest, [name]))
    return plans


def _sync_dag(dag_id: str, cron: str, items: list[str], sites: list[str]):
    @dag(
        dag_id=dag_id,
        description=f"Sync {', '.join(items)} to {', '.join(sites)}",
        schedule=cron,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,  # two syncs of one item never race for the same watermark
        default_args=DEFAULT_ARGS,
        tags=["altium2kicad", "sync"],
        doc_md=__doc__,
    )
    def sync():
        for site in sites:

            @task(task_id=f"sync_to_{site}")
            def sync_to(site: str = site) -> dict:
                """Brings one site up to date for this DAG's items and records its lag."""
                from include.config import load_config
                from include.sync.run import sync_site
                from include.task_policy import run_step

                return run_step(sync_site, load_config(), site, items)

            sync_to()

    return sync()


for _dag_id, _cron, _items, _sites in _plans():
    globals()[_dag_id] = _sync_dag(_dag_id, _cron, _items, _sites)
