"""monitoring: CPU, memory and api-server response time against monitoring.alerting.thresholds.

Wiring only (include.operations.monitoring does the work). A breach fails the run without
retrying; a failure to run the check is retried. The final failure is sent as `error_occurred`
(include.notifications, a failure callback) to the channels configured for that event.
`monitoring.alerting.enabled: false` skips it.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task


def _notify(event: str, **kwargs):
    """A callback sending `event` (include.notifications, imported only when the callback runs)."""

    def callback(context) -> None:
        from include import notifications

        notifications.send(event, context, **kwargs)

    callback.__name__ = callback.__qualname__ = f"notify_{event}"
    return callback


@dag(
    dag_id="monitoring",
    description="Thresholds of monitoring.alerting: cpu, memory, api-server response time",
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "library-admins",
        "retries": 1,
        "retry_delay": timedelta(seconds=30),
        "execution_timeout": timedelta(minutes=2),
    },
    tags=["altium2kicad", "monitoring"],
    doc_md=__doc__,
)
def monitoring():
    @task(task_id="check_thresholds", on_failure_callback=_notify("error_occurred"))
    def check_thresholds() -> dict:
        """Reads cpu, memory and the health endpoint's response time; fails on a breach."""
        from airflow.sdk.exceptions import AirflowSkipException

        from include.config import load_config
        from include.operations import monitoring as checks
        from include.task_policy import run_step

        config = load_config()
        if not config.monitoring.alerting.enabled:
            raise AirflowSkipException("monitoring.alerting.enabled is false")
        return run_step(checks.check, config)

    check_thresholds()


monitoring()
