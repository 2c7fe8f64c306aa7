"""Maintenance on the guide's schedules: database_optimization (Sunday 02:00), application_updates
(15th of each month, 03:00), housekeeping (daily 04:00) and maintenance_announcements (hourly).
Wiring only: the work is in include/operations/ (docs/operations.md)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

START = pendulum.datetime(2025, 1, 1, tz="UTC")
DEFAULT_ARGS = {
    "owner": "library-admins",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=4),
}


def _run_id() -> str:
    return get_current_context()["dag_run"].run_id


@dag(
    schedule="0 2 * * 0",
    start_date=START,
    catchup=False,
    max_active_runs=1,  # and a database lock: a manual run beside the scheduled one waits or fails
    default_args=DEFAULT_ARGS,
    tags=["operations", "maintenance"],
    doc_md="Backup, then ANALYZE, REINDEX (CONCURRENTLY on PostgreSQL), VACUUM of the library "
    "database in autocommit; table statistics before/after go to maintenance_run.",
)
def database_optimization():
    @task
    def backup_before_optimization() -> str:
        """A full backup set of the site first, so the database can go back to just before the run."""
        from include.config import load_config
        from include.operations.backup import create_backup
        from include.operations.site import site_sources, site_vault

        cfg = load_config()
        return create_backup(site_vault(cfg), site_sources(cfg), "full")["set_id"]

    @task
    def optimize_library_db(backup_set: str) -> dict:
        """ANALYZE, REINDEX, VACUUM under a lock; statistics before and after recorded."""
        from include.config import load_config
        from include.operations.maintenance import optimize_and_record

        return optimize_and_record(load_config().library_db_url(), _run_id(), backup_set)

    optimize_library_db(backup_before_optimization())


@dag(
    schedule="0 3 15 * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["operations", "maintenance"],
    params={
        "new_config": Param("", type="string", description="folder with the release's configuration files"),
        "revision": Param("head", type="string", description="Alembic revision of the library database"),
    },
    doc_md="Back up the configuration, pause every DAG, apply the release's configuration and the "
    "library database's migrations, resume, smoke-migrate the sample library. A failed step restores "
    "the configuration backup and resumes the DAGs (rollback).",
)
def application_updates():
    @task(retries=0)
    def backup_configuration() -> dict:
        """Backs up the configuration folder and plans the update (which DAGs to pause)."""
        from include.config import home, load_config
        from include.operations import updates

        cfg = load_config()
        rules = cfg.maintenance.application_updates
        from include.operations.site import site_vault

        set_id = updates.backup_configuration(site_vault(cfg), updates.config_folder())
        dags = updates.active_dags(updates.api_client(rules.airflow_api_conn_id), {"application_updates"})
        return {
            "set_id": set_id,
            "config_dir": str(updates.config_folder()),
            "home": str(home()),
            "backup": cfg.backup.model_dump(mode="json"),
            "api_conn_id": rules.airflow_api_conn_id,
            "drain_timeout_minutes": rules.drain_timeout_minutes,
            "dags": dags,
        }

    @task(retries=0)
    def pause_dags(plan: dict) -> list[str]:
        """Pauses the planned DAGs (no new runs) and waits for running runs to finish."""
        from include.operations import updates

        api = updates.api_client(plan["api_conn_id"])
        paused = updates.set_paused(api, plan["dags"], True)
        updates.wait_drained(api, "application_updates", plan["drain_timeout_minutes"])
        return paused

    @task(retries=0)
    def apply_release_configuration(plan: dict) -> list[str]:
        """Copies the release's configuration files (param new_config) into the configuration folder."""
        from pathlib import Path

        from include.operations import updates

        release = str(get_current_context()["params"].get("new_config") or "").strip()
        return updates.apply_configuration(Path(release), Path(plan["config_dir"])) if release else []

    @task(retries=0)
    def apply_migrations(plan: dict) -> dict:
        """Alembic upgrade of the library database to param revision (head by default)."""
        from include.config import load_config
        from include.operations import updates

        revision = get_current_context()["params"].get("revision") or "head"
        return updates.migrate(load_config().library_db_url(), revision)

    @task(retries=0)
    def resume_dags(plan: dict) -> list[str]:
        """Unpauses the DAGs the update paused."""
        from include.operations import updates

        return updates.set_paused(updates.api_client(plan["api_conn_id"]), plan["dags"], False)

    @task(retries=0)
    def verify_update(plan: dict, migrated: dict) -> dict:
        """Smoke migration of the sample library through the pipeline; records the update."""
        from datetime import UTC, datetime

        from include.config import load_config
        from include.operations import records, updates

        cfg, run_id = load_config(), _run_id()
        smoke = updates.smoke_run(cfg, f"{run_id}-smoke")
        detail = {"backup_set": plan["set_id"], "paused": plan["dags"], "migrated": migrated, "smoke": smoke}
        records.record_run(
            cfg.library_db_url(), "application_updates", run_id, "success", detail, datetime.now(UTC)
        )
        return smoke

    @task(trigger_rule="one_failed", retry_delay=timedelta(seconds=30))
    def rollback() -> None:
        """A step failed: restores the configuration backup, resumes the DAGs, then fails the run."""
        from airflow.sdk.exceptions import AirflowFailException

        from include.operations import updates

        plan = get_current_context()["ti"].xcom_pull(task_ids="backup_configuration")
        if not plan:
            raise AirflowFailException("application update failed at its backup step: nothing was changed")
        done = updates.roll_back(plan, _run_id())
        # the watcher pattern: this task is the run's only leaf, so it decides the run's state
        raise AirflowFailException(
            f"application update failed and was rolled back: configuration {done['restored']} restored "
            f"from backup {done['backup_set']}, DAGs resumed: {', '.join(done['resumed']) or 'none'}"
        )

    plan = backup_configuration()
    paused = pause_dags(plan)
    release = apply_release_configuration(plan)
    migrated = apply_migrations(plan)
    resumed = resume_dags(plan)
    verified = verify_update(plan, migrated)
    paused >> release >> migrated >> resumed >> verified
    [plan, paused, release, migrated, resumed, verified] >> rollback()


@dag(
    schedule="0 4 * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["operations", "maintenance"],
    doc_md="`airflow db clean` of old metadata; old run folders, reports and GX projects deleted "
    "(maintenance.housekeeping retention days).",
)
def housekeeping():
    @task
    def clean_airflow_metadata() -> dict:
        """`airflow db clean` of metadata older than maintenance.housekeeping.metadata_retention_days."""
        from include.config import load_config
        from include.operations import housekeeping as hk

        rules = load_config().maintenance.housekeeping
        return hk.clean_metadata(hk.metadata_db_url(rules.metadata_conn_id), rules.metadata_retention_days)

    @task
    def sweep_old_folders(metadata: dict) -> dict:
        """Deletes run folders, GX projects and reports older than their retention; records it."""
        from dataclasses import asdict
        from datetime import UTC, datetime

        from include.config import load_config
        from include.operations import housekeeping as hk
        from include.operations.records import record_run

        cfg, started = load_config(), datetime.now(UTC)
        swept = asdict(hk.sweep_folders(cfg, started))
        record_run(
            cfg.library_db_url(),
            "housekeeping",
            _run_id(),
            "success",
            {**swept, "metadata": metadata},
            started,
        )
        return {
            "deleted": {k: len(v) for k, v in swept["deleted"].items()},
            "freed_bytes": swept["freed_bytes"],
        }

    sweep_old_folders(clean_airflow_metadata())


@dag(
    schedule="0 * * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "execution_timeout": timedelta(minutes=10)},
    tags=["operations", "maintenance"],
    doc_md="Announces each of maintenance.windows once at each of maintenance.notification.lead_hours.",
)
def maintenance_announcements():
    @task
    def announce_windows() -> list[str]:
        """Sends (once) the announcement of every window whose lead time has been reached."""
        from include.config import load_config
        from include.operations.announcements import announce

        return [a.message for a in announce(load_config())]

    announce_windows()


database_optimization()
application_updates()
housekeeping()
maintenance_announcements()
