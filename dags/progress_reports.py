"""Progress reports: weekly_progress (Monday 09:00, PDF to progress_tracking.management_team) and
daily_status (weekdays 17:00, e-mail to progress_tracking.project_team). Wiring only: the work is in
include/reports/."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2025, 1, 1, tz="UTC")
DEFAULT_ARGS = {
    "owner": "library-admins",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(minutes=15),
}


@dag(
    schedule="0 9 * * 1",
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["reports"],
    doc_md="Metrics over time of every run and environment, open approvals and the libraries with "
    "the most failures, as a PDF stored under the report folder and e-mailed to management.",
)
def weekly_progress():
    @task
    def send_weekly_progress() -> dict:
        """Render the weekly PDF, store it, send it to progress_tracking.management_team."""
        from include.config import load_config
        from include.reports import jobs

        return jobs.weekly_progress(load_config())

    send_weekly_progress()


@dag(
    schedule="0 17 * * 1-5",
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["reports"],
    doc_md="What ran today, what failed, what waits for whom: an e-mail to the project team.",
)
def daily_status():
    @task
    def send_daily_status() -> dict:
        """E-mail today's runs, failures and open approvals to progress_tracking.project_team."""
        from include.config import load_config
        from include.reports import jobs

        return jobs.daily_status(load_config())

    send_daily_status()


weekly_progress()
daily_status()
