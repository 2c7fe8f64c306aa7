"""Notifications wired into the project's DAGs and sent by Airflow's own task runner.

The shipped DAGs carry the callbacks of every event; the migration DAG's approval notifier,
called with a real context after its own pre_execute, mails the approval link to the level's
users. dag.test() runs a small DAG wired like the migration DAG (the same callback helper) and the
monitoring DAG itself on a slow api-server; messages are read back from the local servers."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.notification_peers import (
    CONN_IDS,
    Webhook,
    connections,
    mail_server,
    make_config,
    runtime_ti,
    write_config,
)

DAGS = '''
import pendulum
from airflow.sdk import dag, task, task_group


def _notify(event, **kwargs):
    def callback(context):
        from include import notifications

        notifications.send(event, context, **kwargs)

    return callback


@dag(
    dag_id="a2k_notify",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    default_args={"retries": 0, "on_failure_callback": _notify("error_occurred")},
)
def a2k_notify():
    @task(on_execute_callback=_notify("migration_started", first_try=True))
    def analyze_source_library():
        """Succeeds."""

    @task_group(group_id="preparation", default_args={"on_success_callback": _notify("stage_complete")})
    def preparation():
        @task
        def create_mapping_rules():
            """Succeeds."""

        @task
        def setup_validation_criteria():
            """Succeeds."""

        create_mapping_rules() >> setup_validation_criteria()

    @task
    def run_full_migration():
        """Fails like a converter that meets a broken footprint."""
        raise ValueError("Resistors.PcbLib: footprint R0603: pad 2 has no size")

    analyze_source_library() >> preparation() >> run_full_migration()


a2k_notify()
'''


@pytest.fixture(scope="module")
def peers():
    webhook = Webhook()
    with mail_server() as mail:
        yield webhook, mail
    webhook.close()


@pytest.fixture
def wired(peers, monkeypatch, tmp_path):
    """The channels' connections and a configuration routing every event to them."""
    webhook, mail = peers
    webhook.posts.clear()
    mail.received.clear()
    for key, value in connections(webhook, mail).items():
        monkeypatch.setenv(key, value)
    config = make_config(
        CONN_IDS, events={"stage_complete": {"channels": ["slack", "email"], "recipients": ["qa_engineer"]}}
    )
    data = config.model_dump(mode="json")
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(write_config(tmp_path / "config.yaml", config)))
    return webhook, mail, data


def _bag(folder):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.mark.slow
def test_a_run_sends_start_stage_and_failure(metadata_db, wired, tmp_path, monkeypatch):
    from airflow import settings

    webhook, mail, _ = wired
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "a2k_notify.py").write_text(DAGS)
    monkeypatch.setattr(settings, "DAGS_FOLDER", str(folder))  # dag.test needs the DAG in a bundle
    run = _bag(folder).dags["a2k_notify"].test()
    assert str(run.state) == "failed"

    texts = [p["text"] for p in webhook.on("/slack")]
    assert len(texts) == 3, texts  # started, preparation complete (once, by its last task), the failure
    started, stage, failure = texts
    assert started.startswith(":rocket: *Migration started*") and run.run_id in started
    assert stage.startswith(":checkered_flag: *Stage preparation complete*")
    # Airflow's RuntimeTaskInstance.log_url format (run id quoted)
    log = f"http://airflow.example.com:8080/dags/a2k_notify/runs/{quote(run.run_id)}/tasks/run_full_migration?try_number=1"
    assert "*Task run_full_migration failed*" in failure
    assert "ValueError: Resistors.PcbLib: footprint R0603: pad 2 has no size" in failure
    assert f"<{log}|Open the log>" in failure

    subjects = {m.message["Subject"]: m.rcpt_tos for m in mail.received}
    assert subjects == {
        "[altium2kicad] Stage preparation complete": ["carol@example.com"],  # qa_engineer
        "[altium2kicad] Task run_full_migration failed in a2k_notify": ["alice@example.com"],
    }
    cards = [t["attachments"][0]["content"] for t in webhook.on("/teams")]
    assert [c["body"][0]["text"] for c in cards] == [
        "Migration started",
        "Task run_full_migration failed in a2k_notify",
    ]
    assert cards[1]["actions"][0]["url"] == log


@pytest.mark.slow
def test_a_monitoring_breach_is_sent_by_the_dag_failure_callback(metadata_db, wired, monkeypatch, tmp_path):
    """The monitoring DAG (dags/monitoring.py) on an api-server slower than its threshold."""
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from tests.dags.conftest import REPO

    webhook, mail, data = wired

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            time.sleep(0.4)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"metadatabase": {"status": "healthy"}}')

        def log_message(self, *args):
            pass

    api = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    Thread(target=api.serve_forever, daemon=True).start()
    data["monitoring"]["alerting"]["health_url"] = (
        f"http://127.0.0.1:{api.server_address[1]}/api/v2/monitor/health"
    )
    data["monitoring"]["alerting"]["thresholds"] = {"cpu": 100, "memory": 100, "response_time": 0.1}
    from include.config import PipelineConfig

    monkeypatch.setenv(
        "ALTIUM2KICAD_CONFIG",
        str(write_config(tmp_path / "monitoring.yaml", PipelineConfig.model_validate(data))),
    )
    try:
        run = _bag(REPO / "dags").dags["monitoring"].test()
    finally:
        api.shutdown()
    assert str(run.state) == "failed"
    (failure,) = [p["text"] for p in webhook.on("/slack")]
    assert "*Task check_thresholds failed* in monitoring" in failure
    assert "ThresholdExceeded: altium2kicad monitoring: response_time 0.4" in failure
    assert "/dags/monitoring/runs/" in failure and "/tasks/check_thresholds?try_number=1" in failure
    (mail_,) = mail.received
    assert mail_.rcpt_tos == ["alice@example.com"]


def _names(callbacks) -> list[str]:
    callbacks = callbacks if isinstance(callbacks, list | tuple) else [callbacks] if callbacks else []
    return [c.__name__ for c in callbacks]


@pytest.fixture(scope="module")
def project_dags():
    from tests.dags.conftest import REPO

    return _bag(REPO / "dags").dags


def test_the_dags_carry_every_event(project_dags):
    migration = project_dags["full_library_migration"]
    for task in migration.tasks:
        assert "notify_error_occurred" in _names(task.on_failure_callback), task.task_id
    start = migration.get_task("preparation.analyze_source_library")
    assert _names(start.on_execute_callback) == ["notify_migration_started"]
    for task_id in ("migration.review_test_results", "deployment.user_acceptance_testing"):
        task = migration.get_task(task_id)  # mapped: one per required approver of its level
        assert _names(task.partial_kwargs["notifiers"]) == ["notify_approval_required"]
        assert _names(task.partial_kwargs["on_success_callback"]) == [
            "notify_approval_answered",
            "notify_stage_complete",
        ]
    for task in migration.tasks:
        assert "notify_stage_complete" in _names(task.on_success_callback), task.task_id
    deploy = migration.get_task("deployment.deploy_to_production")
    assert "notify_migration_completed" in _names(deploy.on_success_callback)
    # every run's final state, whatever ended it (include.run_outcome; run by the DAG tests)
    assert (
        _names(migration.on_success_callback) == _names(migration.on_failure_callback) == ["_record_outcome"]
    )
    for dag_id, done in (
        ("promote_dev_to_test", "stage_complete"),
        ("promote_test_to_prod", "workflow_complete"),
    ):
        dag = project_dags[dag_id]
        approve = dag.get_task("approve")
        assert _names(approve.partial_kwargs["notifiers"]) == ["notify_approval_required"]
        assert _names(approve.partial_kwargs["on_success_callback"]) == ["notify_approval_answered"]
        assert _names(dag.get_task("publish").on_success_callback) == [f"notify_{done}"]
        assert all(
            "notify_error_occurred" in _names(t.on_failure_callback)
            for t in dag.tasks
            if t.task_id != "approve"
        )
    check = project_dags["monitoring"].get_task("check_thresholds")
    assert _names(check.on_failure_callback) == ["notify_error_occurred"]


def test_the_migration_approval_mails_its_link_to_the_levels_users(project_dags, wired):
    """review_test_results' own pre_execute (technical_review: engineer, library_manager) and then
    its notifiers, as the operator's execute calls them."""
    webhook, mail, _ = wired
    dag = project_dags["full_library_migration"]
    # one slot of the mapped approval, as the task runner unmaps it
    task = dag.get_task("migration.review_test_results").unmap({"body": "Test migration of 1 of 3"})
    task.dag = dag
    ti = runtime_ti(task, dag.dag_id, map_index=0)
    context = {
        "ti": ti,
        "task_instance": ti,
        "task": task,
        "dag": dag,
        "params": {"source": "/libs/Passives"},
    }
    task.subject = "Review the test migration of /libs/Passives"  # as rendered from its template
    task._pre_execute_hook(context)  # what the task runner calls before execute
    assert task.assigned_users == [{"id": "alice", "name": "alice"}]  # library_manager
    for notify in task.notifiers:
        notify(context)
    link = task.generate_link_to_ui(task_instance=ti, base_url="http://airflow.example.com:8080")
    (slack,) = webhook.on("/slack")
    assert f"<{link}|Open the approval in Airflow>" in slack["text"]
    (mailed,) = mail.received
    assert mailed.rcpt_tos == ["alice@example.com"]
    assert (
        mailed.message["Subject"]
        == "[altium2kicad] Approval required: Review the test migration of /libs/Passives"
    )
    assert f'href="{link}"' in mailed.html
