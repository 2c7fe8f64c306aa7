"""Backups on the guide's schedules: full (Sunday 01:00), incremental (daily 01:00), verification
(Monday 05:00), transaction logs (hourly: archived PostgreSQL WAL for point-in-time restores). Wiring only: the work is in include/operations/. The schedules are documented in
config/altium2kicad.yaml (backup.*.schedule); a test keeps the two equal."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

DEFAULT_ARGS = {
    "owner": "library-admins",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=4),  # a backup that takes longer is stuck
}


def _backup(kind: str) -> dict:
    """One backup set of `kind`, then retention; returns its id, its stats and the sets deleted."""
    from include.config import load_config
    from include.operations.backup import create_backup
    from include.operations.site import retention, site_sources, site_vault

    cfg = load_config()
    vault = site_vault(cfg)
    manifest = create_backup(vault, site_sources(cfg), kind)
    deleted = retention(vault, {"full": cfg.backup.full.keep, "incremental": cfg.backup.incremental.keep})
    return {"set_id": manifest["set_id"], "stats": manifest["stats"], "deleted": deleted}


@dag(
    schedule="0 1 * * 0",
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["operations", "backup"],
)
def backup_full():
    @task
    def full_backup() -> dict:
        """A complete backup set of the site, then retention (keep backup.full.keep)."""
        return _backup("full")

    full_backup()


@dag(
    schedule="0 1 * * *",
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["operations", "backup"],
)
def backup_incremental():
    @task
    def incremental_backup() -> dict:
        """A set storing only changed files, then retention (keep backup.incremental.keep)."""
        return _backup("incremental")

    incremental_backup()


@dag(
    schedule="0 5 * * 1",
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["operations", "backup"],
)
def backup_verification():
    @task
    def verify_latest_backup() -> dict:
        """Restores the newest set into scratch targets and compares every table and file with its manifest."""
        from include.config import load_config
        from include.operations.site import site_sources, site_vault
        from include.operations.verification import verify_latest

        cfg = load_config()
        return verify_latest(site_vault(cfg), site_sources(cfg).databases)

    verify_latest_backup()


@dag(
    schedule="0 * * * *",
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "execution_timeout": timedelta(minutes=30)},
    tags=["operations", "backup"],
)
def backup_transaction_logs():
    @task
    def ship_transaction_logs() -> dict:
        """Archived WAL into the stores (switch, wait, ship the spool), then keep backup.transaction_logs.keep."""
        from airflow.sdk.exceptions import AirflowSkipException

        from include.config import load_config
        from include.operations.databases import dialect
        from include.operations.site import site_vault
        from include.operations.wal import transaction_logs

        cfg = load_config()
        url = cfg.library_db_url()
        if dialect(url) != "postgresql":
            raise AirflowSkipException(
                f"the library database is {dialect(url)}: it has no transaction logs (its backups "
                "are online-backup snapshots)"
            )
        logs = cfg.backup.transaction_logs
        spool = cfg.path(logs.spool) if logs.spool else None
        return transaction_logs(site_vault(cfg), url, spool, logs.keep)

    ship_transaction_logs()


backup_full()
backup_incremental()
backup_verification()
backup_transaction_logs()
