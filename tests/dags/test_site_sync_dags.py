"""The sync DAGs are generated from `synchronization.schedule` and carry the guide's schedules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUIDE = {"sync_component_libraries": "0 */4 * * *", "sync_audit_logs": "0 0 * * *"}


def _dags(config: Path | None = None) -> dict[str, tuple[str, list[str]]]:
    """dag_id -> (schedule, task ids), parsed in a fresh interpreter (the file reads its YAML at import)."""
    probe = (
        "import json\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"b = DagBag(dag_folder={str(REPO / 'dags/site_sync.py')!r})\n"
        "assert not b.import_errors, b.import_errors\n"
        "print(json.dumps({k: (d.schedule, sorted(d.task_ids)) for k, d in b.dags.items()}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if config:
        env["ALTIUM2KICAD_CONFIG"] = str(config)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_guide_schedules_from_the_shipped_configuration():
    dags = _dags()
    for dag_id, cron in GUIDE.items():
        assert dags[dag_id][0] == cron, dag_id
        assert dags[dag_id][1] == ["sync_to_americas", "sync_to_asia", "sync_to_europe"]
    # the items without an entry follow each site's sync_frequency
    for site in ("europe", "asia", "americas"):
        assert dags[f"sync_site_{site}"] == ["30 * * * *", [f"sync_to_{site}"]]


def test_dags_follow_the_configuration_not_a_copy(tmp_path):
    text = (REPO / "config/altium2kicad.yaml").read_text()
    text = text.replace('{item: audit_logs, cron: "0 0 * * *"}', '{item: audit_logs, cron: "15 2 * * *"}')
    changed = tmp_path / "c.yaml"
    changed.write_text(text)
    assert _dags(changed)["sync_audit_logs"][0] == "15 2 * * *"
