"""Every task of the DAGs is bounded in time and says whether a failure is worth a retry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_every_task_has_a_time_limit(dagbag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:
            kind = getattr(t, "operator_class", type(t))  # a mapped approval: its operator's class
            if isinstance(kind, type) and issubclass(kind, HITLOperator):
                # an approval waits for people: its limit is response_timeout, and it never retries
                timeout = (
                    t.response_timeout
                    if isinstance(t, HITLOperator)
                    else t.partial_kwargs["response_timeout"]
                )
                assert timeout and t.retries == 0, t.task_id
            else:
                from tests.dags.test_dag_integrity import NO_RETRY_TASKS

                assert t.execution_timeout, f"{dag_id}.{t.task_id} has no execution_timeout"
                if t.task_id not in NO_RETRY_TASKS.get(dag_id, set()):  # each exception says why there
                    assert t.retries > 0, f"{dag_id}.{t.task_id}: transient failures need retries"


def test_every_migration_task_separates_permanent_failures():
    """Each task body of full_library_migration goes through task_policy.run_step."""
    source = (REPO / "dags" / "full_library_migration.py").read_text()
    calls = source.count("return run_step(pipeline.")
    assert calls == source.count("from include import pipeline") >= 10


def test_configured_timeout_applies_when_the_task_starts(tmp_path, monkeypatch):
    from include import task_policy

    text = (REPO / "config" / "altium2kicad.yaml").read_text()
    text = text.replace("    run_full_migration: 240", "    run_full_migration: 7\n    validate_symbols: 3")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))

    class Task:
        def __init__(self, task_id: str) -> None:
            self.task_id = task_id
            self.execution_timeout = timedelta(hours=4)

    for task_id, minutes in (
        ("migration.run_full_migration", 7),
        ("validation.validate_symbols", 3),
        ("preparation.create_mapping_rules", 60),
    ):
        task = Task(task_id)
        task_policy.apply_timeout({"task": task})
        assert task.execution_timeout == timedelta(minutes=minutes)


def test_timeout_for_an_unknown_task_is_refused():
    from include.config import ConfigError, parse_config

    text = (REPO / "config" / "altium2kicad.yaml").read_text()
    text = text.replace("    run_full_migration: 240", "    run_ful_migration: 240")
    with pytest.raises(ConfigError, match="no task named run_ful_migration"):
        parse_config(text, Path("c.yaml"))


def test_environment_log_level_applies_to_the_task_loggers(tmp_path, monkeypatch):
    """environments.<env>.log_level: a production run's tasks log warnings, not our info lines."""
    import logging

    from include import task_policy

    text = (REPO / "config" / "altium2kicad.yaml").read_text()
    text = text.replace(
        "    log_level: INFO               # DEBUG", "    log_level: DEBUG              # DEBUG", 1
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))
    saved = {name: logging.getLogger(name).level for name in task_policy.TASK_LOGGERS}
    try:
        task_policy.apply_environment_log_level({"params": {"environment": "production"}})
        assert not logging.getLogger("include.pipeline").isEnabledFor(logging.INFO)
        assert logging.getLogger("converters.run").isEnabledFor(logging.WARNING)
        assert logging.getLogger("airflow.task").level == logging.WARNING
        task_policy.apply_environment_log_level({"params": {"environment": "development"}})
        assert logging.getLogger("include.pipeline").isEnabledFor(logging.DEBUG)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_steps_run_with_the_collector_tuned_for_bulk_rows():
    """A step sees the raised young-generation threshold and what was alive before it frozen; the
    threshold comes back afterwards, also when the step fails, and cycles are still collected."""
    import gc
    import weakref

    from include import task_policy
    from include.quality_gates import GateFailed

    before = gc.get_threshold()
    seen = {}

    class Node:
        pass

    def step():
        seen["threshold"] = gc.get_threshold()
        seen["frozen"] = gc.get_freeze_count()
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made during the step
        seen["cycle"] = weakref.ref(a)
        return "done"

    try:
        assert task_policy.run_step(step) == "done"
        assert seen["threshold"] == (task_policy.GC_YOUNG_THRESHOLD, *before[1:])
        assert seen["frozen"] > 0 and gc.get_threshold() == before
        gc.collect()
        assert seen["cycle"]() is None

        def failing():
            raise GateFailed("gate")

        with pytest.raises(Exception, match="gate"):
            task_policy.run_step(failing)
        assert gc.get_threshold() == before
    finally:
        gc.unfreeze()
