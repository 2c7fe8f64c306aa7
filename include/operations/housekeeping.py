"""Housekeeping: Airflow metadata older than the retention (`airflow db clean`), and run folders,
report folders and GX projects older than theirs.

Why age by the newest file inside: a run folder's own mtime only moves when an entry is added or
removed, so a folder whose report was rewritten yesterday would look old. A folder that is
newer than its retention is never touched.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from include.config import ConfigError, PipelineConfig
from include.connections import env_name

log = logging.getLogger(__name__)
GX_PROJECT = Path("data_docs") / "gx"  # inside a report folder (include/quality_gates.py)


@dataclass
class Swept:
    """What one housekeeping pass deleted and kept, by area."""

    deleted: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    freed_bytes: int = 0


def newest_mtime(path: Path) -> float:
    """The newest modification time of a folder and everything inside it."""
    newest = path.stat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
            except FileNotFoundError:
                continue
    return newest


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def sweep(area: str, folders: list[Path], days: float, now: datetime, swept: Swept) -> None:
    """Deletes each folder whose newest file is older than `days`; counts the rest as kept."""
    cutoff = (now - timedelta(days=days)).timestamp()
    gone, kept = [], 0
    for folder in folders:
        if not folder.is_dir() or folder.is_symlink():
            continue
        if newest_mtime(folder) < cutoff:
            swept.freed_bytes += _size(folder)
            shutil.rmtree(folder)
            gone.append(str(folder))
        else:
            kept += 1
    swept.deleted[area] = gone
    swept.kept[area] = kept
    log.info("housekeeping %s: deleted %d older than %g days, kept %d", area, len(gone), days, kept)


def sweep_folders(cfg: PipelineConfig, now: datetime | None = None) -> Swept:
    """Run folders, whole report folders, then GX projects inside the reports that stay (in this
    order: deleting a GX project would make its report folder look new)."""
    now = now or datetime.now(UTC)
    rules = cfg.maintenance.housekeeping
    swept = Swept()
    runs = cfg.work_dir / "runs"
    sweep("runs", sorted(runs.iterdir()) if runs.is_dir() else [], rules.run_retention_days, now, swept)
    reports = sorted(p for p in cfg.report_dir.iterdir() if p.is_dir()) if cfg.report_dir.is_dir() else []
    sweep("reports", reports, rules.report_retention_days, now, swept)
    kept = [r for r in reports if r.is_dir()]
    sweep("gx", [r / GX_PROJECT for r in kept], rules.gx_retention_days, now, swept)
    return swept


def metadata_db_url(conn_id: str) -> str:
    """The metadata database's URL from an Airflow connection: a task's own Airflow settings point
    nowhere (Airflow 3 blocks tasks from the metadata database), so housekeeping names it."""
    from include.connections import sqlalchemy_url

    url = sqlalchemy_url(conn_id)
    if not url:
        raise ConfigError(
            f"maintenance.housekeeping.metadata_conn_id: no Airflow connection '{conn_id}' "
            f"(env {env_name(conn_id)} or the secrets backend) holding the metadata database"
        )
    return url


def clean_metadata(url: str, days: float, now: datetime | None = None, dry_run: bool = False) -> dict:
    """`airflow db clean` of rows older than `days` (not archived), on the database at `url`."""
    import subprocess
    import sys

    before = (now or datetime.now(UTC)) - timedelta(days=days)
    cmd = [sys.executable, "-m", "airflow", "db", "clean", "--clean-before-timestamp", before.isoformat()]
    cmd += ["--skip-archive", "--yes"] + (["--dry-run"] if dry_run else [])
    env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}
    env.pop("AIRFLOW__CORE__SQL_ALCHEMY_CONN", None)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode:
        raise RuntimeError(f"airflow db clean failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    log.info("airflow db clean before %s: %s", before.isoformat(), out.stdout.strip()[-2000:])
    return {"clean_before": before.isoformat(), "dry_run": dry_run}
