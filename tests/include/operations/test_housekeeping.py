"""Housekeeping deletes run folders, GX projects and reports past their retention, keeps the rest."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from include.config import DEFAULT_CONFIG, load_config
from include.operations.housekeeping import GX_PROJECT, sweep_folders

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _aged(path, days: float) -> None:
    """Every file and folder under `path` last modified `days` before NOW."""
    t = (NOW - timedelta(days=days)).timestamp()
    for root, dirs, files in os.walk(path, topdown=False):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (t, t))
    os.utime(path, (t, t))


def _folder(path, days: float, files=("report.json",)):
    path.mkdir(parents=True)
    for name in files:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("x" * 100)
    _aged(path, days)
    return path


def test_old_folders_deleted_recent_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    cfg = load_config(DEFAULT_CONFIG)
    rules = cfg.maintenance.housekeeping
    assert (rules.run_retention_days, rules.gx_retention_days, rules.report_retention_days) == (30, 14, 180)
    runs, reports = cfg.work_dir / "runs", cfg.report_dir
    old_run = _folder(runs / "scheduled__old", 31)
    new_run = _folder(runs / "scheduled__new", 29)
    touched = _folder(runs / "manual__touched", 60, ["full/a.kicad_sym", "report.json"])
    os.utime(touched / "full" / "a.kicad_sym", (NOW.timestamp(), NOW.timestamp()))  # rewritten today
    gx_old = "data_docs/gx/uncommitted/validations/v.json"
    report_gx_old = _folder(reports / "r_gx_old", 20, ["index.html", gx_old])
    report_gx_new = _folder(reports / "r_gx_new", 10, ["index.html", gx_old])
    report_old = _folder(reports / "r_old", 200, ["index.html", gx_old])

    swept = sweep_folders(cfg, NOW)

    assert not old_run.exists() and new_run.is_dir() and touched.is_dir()
    assert (report_gx_old / "index.html").is_file() and not (report_gx_old / GX_PROJECT).exists()
    assert (report_gx_new / GX_PROJECT).is_dir()
    assert not report_old.exists()
    assert swept.deleted["runs"] == [str(old_run)] and swept.kept["runs"] == 2
    assert swept.deleted["gx"] == [str(report_gx_old / GX_PROJECT)]
    assert swept.deleted["reports"] == [str(report_old)] and swept.kept["reports"] == 2
    assert swept.freed_bytes >= 400
