"""dr_test: a disaster-recovery test, quarterly (and whenever triggered).

Restores the site from its backups into scratch targets the run creates (`declare_failure`, a
setup task) and always removes (`remove_scratch`, its teardown: it runs whatever the restores did).
Measures the achieved RTO and RPO against business_continuity, stores the result in the backup
stores, writes a report comparing with the previous test and notifies; a failed step or a missed
objective fails the run with a message naming it. Wiring only: include/operations/dr_test.py.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, setup, task, teardown

DEFAULT_ARGS = {
    "owner": "library-admins",
    "retries": 1,  # creating and removing the scratch targets may retry a transient error
    "retry_delay": timedelta(minutes=1),
    "execution_timeout": timedelta(hours=4),  # business_continuity.rto_hours: longer is a failure anyway
}
MEASURED = {"retries": 0}  # a measured step runs once: a retried restore would hide a slow or failed one


def _cfg():
    from include.config import load_config

    return load_config()


@dag(
    dag_id="dr_test",
    schedule="@quarterly",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["operations", "backup", "dr"],
    doc_md=__doc__,
)
def dr_test():
    @setup
    def declare_failure() -> dict:
        """The failure point, the live database's fingerprints then, and a new scratch folder."""
        from include.operations import dr_test as dr

        return dr.declare_failure(_cfg())

    @task(**MEASURED)
    def database_recovery(state: dict) -> dict:
        """The library database as of the failure point (point in time when WAL is archived), timed."""
        from include.operations import dr_test as dr

        return dr.database_recovery(_cfg(), state)

    @task(**MEASURED)
    def application_recovery(state: dict) -> dict:
        """Configuration and deployed libraries from the newest set, verified and loaded, timed."""
        from include.operations import dr_test as dr

        return dr.application_recovery(_cfg(), state)

    @task(**MEASURED)
    def site_failover(state: dict) -> dict:
        """The whole site from the secondary store alone into scratch targets, verified, timed."""
        from include.operations import dr_test as dr

        return dr.site_failover(_cfg(), state)

    @task(**MEASURED)
    def data_integrity(state: dict, database: dict) -> dict:
        """Every object opens in each store; restored vs live database at the failure point (RPO)."""
        from include.operations import dr_test as dr

        return dr.data_integrity(_cfg(), state, database)

    @teardown
    def remove_scratch(state: dict) -> list[str]:
        """Stops the scratch servers and deletes the scratch folder, whatever the restores did."""
        from include.operations import dr_test as dr

        return dr.remove_scratch(state)

    @task(trigger_rule="all_done", **MEASURED)
    def report() -> dict:
        """RTO and RPO against business_continuity: stored, reported, notified; a miss fails the run."""
        from include.operations import dr_test as dr

        ti = get_current_context()["ti"]
        steps = {name: ti.xcom_pull(task_ids=name) for name in dr.STEPS}
        return dr.report(_cfg(), ti.xcom_pull(task_ids="declare_failure"), steps)

    state = declare_failure()
    database = database_recovery(state)
    restores = [database, application_recovery(state), site_failover(state), data_integrity(state, database)]
    cleanup = remove_scratch(state)
    restores >> cleanup >> report()


dr_test()
