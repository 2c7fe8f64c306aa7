"""Both report DAGs load, with the guide's schedules."""

from __future__ import annotations


def test_dags_and_schedules():
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "progress_reports.py"))
    assert bag.import_errors == {}
    assert bag.dags["weekly_progress"].schedule == "0 9 * * 1"
    assert bag.dags["daily_status"].schedule == "0 17 * * 1-5"
