"""The DR test's steps on the embedded default: a SQLite library database and local stores (no
WAL, so database_recovery restores the newest set's snapshot). No Airflow: the steps are plain
functions; tests/dags/test_dr_test.py runs them as the DAG on PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from include.config import load_config
from include.operations import dr_test as dr
from include.operations.backup import create_backup
from include.operations.sealing import new_key
from include.operations.site import site_sources, site_vault

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def site(tmp_path, monkeypatch):
    config = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    config_file = tmp_path / "config" / "altium2kicad.yaml"
    config_file.parent.mkdir()
    config_file.write_text(yaml.safe_dump(config))
    home = tmp_path / "home"
    (home / "var/altium2kicad/deploy/production").mkdir(parents=True)
    (home / "var/altium2kicad/deploy/production/Lib.kicad_sym").write_text("(kicad_symbol_lib)")
    db = tmp_path / "library.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE part (id integer primary key, name text)")
    conn.executemany("INSERT INTO part (name) VALUES (?)", [("R1",), ("R2",)])
    conn.commit()
    conn.close()
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(config_file))
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(home))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", f"sqlite:///{db}")
    monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", new_key())
    return db


def _run_steps(cfg) -> tuple[dict, dict]:
    state = dr.declare_failure(cfg)
    steps = {}
    try:
        steps["database_recovery"] = dr.database_recovery(cfg, state)
        steps["application_recovery"] = dr.application_recovery(cfg, state)
        steps["site_failover"] = dr.site_failover(cfg, state)
        steps["data_integrity"] = dr.data_integrity(cfg, state, steps["database_recovery"])
    finally:
        dr.remove_scratch(state)
    assert not Path(state["scratch"]).exists()
    return state, steps


def test_embedded_site_recovers_and_measures(site):
    cfg = load_config()
    create_backup(site_vault(cfg), site_sources(cfg), "full")
    state, steps = _run_steps(cfg)
    assert steps["database_recovery"]["method"] == "dump"
    assert steps["data_integrity"]["rpo_seconds"] == 0.0  # nothing changed since the backup
    result = dr.report(cfg, state, steps)
    assert result["passed"] and result["rpo_seconds"] == 0.0 and result["rto_seconds"] > 0

    # a change after the backup is lost: the RPO is the backup's age at the failure point
    conn = sqlite3.connect(site)
    conn.execute("INSERT INTO part (name) VALUES ('R3-after-backup')")
    conn.commit()
    conn.close()
    state, steps = _run_steps(cfg)
    assert steps["data_integrity"]["tables_lost_changes"] == ["part"]
    assert steps["data_integrity"]["rpo_seconds"] > 0
    second = dr.report(cfg, state, steps)
    text = Path(second["report"]).read_text()
    assert f"Previous test: {result['test_id']} (passed)" in text
    assert f"| RPO (changes lost) | {second['rpo_seconds']:.1f} s | 1 h | 0.0 s |" in text


def test_missing_backups_fail_the_steps_by_name(site):
    cfg = load_config()
    state = dr.declare_failure(cfg)
    try:
        with pytest.raises(dr.ObjectiveMissed, match="no backup set in"):
            dr.application_recovery(cfg, state)
    finally:
        dr.remove_scratch(state)
    with pytest.raises(dr.ObjectiveMissed, match="database_recovery did not succeed"):
        dr.report(cfg, state, {name: None for name in dr.STEPS})
