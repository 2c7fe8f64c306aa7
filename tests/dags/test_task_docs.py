"""Every task shows what it does in Airflow's UI, and every step a DAG calls says what it does.

Airflow 3's TaskFlow makes a `@task` function's docstring the task's `doc_md`, but a mapped task
(`.partial().expand()`) and a classic operator get none unless given one: the DagBag is the truth.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag


def _task_doc(task) -> str:
    return (task.doc_md or task.doc or "").strip()


def undocumented_tasks(dagbag) -> list[str]:
    return sorted(
        f"{dag_id}.{task.task_id}"
        for dag_id, dag in dagbag.dags.items()
        for task in dag.tasks
        if not _task_doc(task)
    )


def test_every_task_has_a_doc(dagbag):
    assert dagbag.dags, "no DAGs parsed"
    assert undocumented_tasks(dagbag) == []


def test_a_task_without_a_docstring_is_caught(tmp_path):
    """The check above fails for a planted @task without a docstring (and passes with one)."""
    from airflow.dag_processing.dagbag import DagBag

    dag_file = tmp_path / "planted.py"
    dag_file.write_text(
        "import pendulum\n"
        "from airflow.sdk import dag, task\n"
        "@dag(schedule=None, start_date=pendulum.datetime(2025, 1, 1), tags=['t'])\n"
        "def planted():\n"
        "    @task\n"
        "    def documented() -> int:\n"
        '        """Says what it does."""\n'
        "        return 1\n"
        "    @task\n"
        "    def silent(n: int) -> int:\n"
        "        return n\n"
        "    silent.partial().expand(n=[documented()])\n"
        "planted()\n"
    )
    bag = DagBag(dag_folder=str(dag_file))
    assert bag.import_errors == {}
    assert undocumented_tasks(bag) == ["planted.silent"]


def _steps_called(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every `include` function a DAG file imports or calls as `module.name`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}
    steps: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "include":
            for alias in node.names:
                try:
                    importlib.import_module(f"{node.module}.{alias.name}")
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                except ModuleNotFoundError:
                    steps.add((str(node.module), alias.name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            steps.add((modules[node.value.id], node.attr))
    return sorted(steps)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_every_step_a_dag_calls_has_a_docstring(path):
    steps = _steps_called(path)
    assert steps or path.name == "__init__.py", f"{path.name} calls no include function"
    missing = [
        f"{module}.{name}"
        for module, name in steps
        if not (getattr(importlib.import_module(module), name).__doc__ or "").strip()
    ]
    assert missing == [], f"{path.name} calls steps without a docstring"
