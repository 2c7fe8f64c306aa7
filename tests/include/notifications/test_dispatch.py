"""Events delivered to real local peers: what arrived on the Slack and Teams webhooks and in the
SMTP server's mailbox, for a failure, an approval and its answer; an unreachable channel retried
and logged without raising; a channel without a connection left off."""

from __future__ import annotations

import json
import logging
import time

import pytest

from include import notifications
from include.config import ConfigError, parse_config
from include.notifications import links
from include.notifications.dispatch import FAILED, OFF, SENT
from tests.notification_peers import (
    REPO,
    RUN_ID,
    free_port,
    make_config,
    runtime_ti,
    silent_server,
    write_config,
)


def approval_task(**kwargs):
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk import DAG

    with DAG("promote_test_to_prod", schedule=None) as dag:
        op = ApprovalOperator(
            task_id="approve",
            subject="test_to_prod: promote version v7",
            body="Approver 1 of 2",
            assigned_users=[{"id": "alice", "name": "alice"}, {"id": "bob", "name": "bob"}],
            **kwargs,
        )
    return dag, op


def failure_context():
    from airflow.sdk import DAG, task

    with DAG("full_library_migration", schedule=None) as dag:

        @task(task_id="validate_footprints")
        def validate_footprints():
            """Fails."""

        op = validate_footprints().operator
    ti = runtime_ti(op, dag.dag_id, try_number=2)
    error = ValueError("Resistors.PcbLib: footprint R0603: pad 2 has no size {{ not jinja }} <Pad & co>")
    return {"ti": ti, "task_instance": ti, "task": op, "dag": dag, "exception": error, "params": {}}


def test_failure_names_task_error_and_log_link_on_every_channel(channels, webhook, smtp_server):
    config = make_config(channels)
    context = failure_context()
    outcome = notifications.notifier("error_occurred").send(context, config)
    assert outcome == {"slack": SENT, "email": SENT, "teams": SENT}

    log = (
        "http://airflow.example.com:8080/dags/full_library_migration/runs/"
        f"{RUN_ID}/tasks/validate_footprints?try_number=2"
    )
    assert log == context["ti"].log_url  # the same link Airflow's task instance gives
    (slack,) = webhook.on("/slack")
    assert "validate_footprints" in slack["text"] and f"<{log}|" in slack["text"]
    # Slack's control characters escaped, Jinja in the error left as text
    assert "pad 2 has no size {{ not jinja }} &lt;Pad &amp; co&gt;```" in slack["text"]

    (teams,) = webhook.on("/teams/webhookb2/abc")
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "Task validate_footprints failed in full_library_migration"
    assert card["body"][1]["text"].endswith("pad 2 has no size {{ not jinja }} <Pad & co>")
    assert card["actions"][0]["url"] == log

    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["alice@example.com"]  # error_occurred -> library_manager -> alice
    assert mail.mail_from == "airflow@example.com"
    assert (
        mail.message["Subject"] == "[altium2kicad] Task validate_footprints failed in full_library_migration"
    )
    assert (
        f'href="{log}"' in mail.html and "has no size {{ not jinja }} &lt;Pad &amp; co&gt;</pre>" in mail.html
    )


def test_approval_required_links_the_approval_page(channels, webhook, smtp_server):
    dag, op = approval_task()
    ti = runtime_ti(op, dag.dag_id, map_index=1)
    config = make_config(channels)
    config.notifications.channels.email.from_email = "library-bot@example.com"  # over the connection's
    outcome = notifications.notifier("approval_required").send({"ti": ti, "task": op, "dag": dag}, config)
    assert outcome == {"slack": SENT, "email": SENT, "teams": SENT}

    link = op.generate_link_to_ui(task_instance=ti, base_url="http://airflow.example.com:8080")
    assert link.endswith(
        f"/dags/promote_test_to_prod/runs/{RUN_ID}/tasks/approve/required_actions?map_index=1"
    )
    (slack,) = webhook.on("/slack")
    assert f"<{link}|Open the approval in Airflow>" in slack["text"]
    assert "test_to_prod: promote version v7" in slack["text"] and "alice, bob" in slack["text"]
    (teams,) = webhook.on("/teams")
    assert teams["attachments"][0]["content"]["actions"][0]["url"] == link
    (mail,) = smtp_server.received
    assert sorted(mail.rcpt_tos) == ["alice@example.com", "bob@example.com"]  # the task's approvers
    assert mail.mail_from == "library-bot@example.com"
    assert mail.message["Subject"] == "[altium2kicad] Approval required: test_to_prod: promote version v7"
    assert f'href="{link}"' in mail.html


def test_a_rejection_is_sent_as_approval_rejected_with_the_reason(channels, webhook, smtp_server):
    dag, op = approval_task()
    op.hitl_summary_extra.update(
        chosen_options=["Reject"],
        params_input={"comment": "footprints of U3 are mirrored"},
        responded_by_user={"id": "bob", "name": "bob"},
    )
    ti = runtime_ti(op, dag.dag_id)
    outcome = notifications.notifier(notifications.ANSWER).send({"ti": ti, "task": op}, make_config(channels))
    assert outcome == {"slack": SENT, "email": SENT}  # approval_rejected's channels
    (slack,) = webhook.on("/slack")
    assert "*Rejected* by bob" in slack["text"] and "footprints of U3 are mirrored" in slack["text"]
    (mail,) = smtp_server.received
    assert sorted(mail.rcpt_tos) == ["alice@example.com", "bob@example.com"]  # approvers + library_manager

    op.hitl_summary_extra.update(chosen_options=["Approve"], params_input={})
    outcome = notifications.notifier(notifications.ANSWER).send({"ti": ti, "task": op}, make_config(channels))
    assert outcome == {"slack": SENT}
    assert "*Approved* by bob" in webhook.on("/slack")[-1]["text"]


def test_unreachable_channels_are_retried_then_logged_and_never_raise(
    monkeypatch, caplog, smtp_server, tmp_path
):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv(
        "AIRFLOW_CONN_DEAD_SLACK", f'{{"conn_type": "slackwebhook", "host": "{dead}", "password": "x"}}'
    )
    monkeypatch.setenv("AIRFLOW_CONN_DEAD_TEAMS", f'{{"conn_type": "http", "host": "{dead}/teams"}}')
    monkeypatch.setenv(
        "AIRFLOW_CONN_DEAD_SMTP", f'{{"conn_type": "smtp", "host": "127.0.0.1", "port": {free_port()}}}'
    )
    config = make_config({"slack": "dead_slack", "email": "dead_smtp", "teams": "dead_teams"})
    caplog.set_level(logging.INFO, logger="include.notifications")
    started = time.monotonic()
    outcome = notifications.notifier("error_occurred").send(failure_context(), config)
    assert outcome == {"slack": FAILED, "email": FAILED, "teams": FAILED}
    assert time.monotonic() - started >= 3 * (0.05 + 0.1)  # two backoffs per channel
    retried = [r for r in caplog.records if "attempt" in r.getMessage() and r.levelno == logging.WARNING]
    given_up = [r for r in caplog.records if "not sent after 3 attempt(s)" in r.getMessage()]
    assert len(retried) == 6 and len(given_up) == 3
    assert smtp_server.received == []

    # the DAG's callback path: the same failure, and the callback returns normally
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(write_config(tmp_path / "config.yaml", config)))
    notifications.send("error_occurred", failure_context())


def test_a_peer_that_never_answers_fails_the_try_after_the_timeout(monkeypatch, caplog):
    """Connected, then silence (no SMTP greeting, no HTTP answer): every try of every channel gives
    up after retry.timeout_seconds (not the libraries' 30 s, not never), and a try is one
    connection (the SMTP hook's own reconnects would multiply the attempts)."""
    with silent_server() as server:
        url = f"http://127.0.0.1:{server.port}"
        monkeypatch.setenv(
            "AIRFLOW_CONN_MUTE_SLACK", f'{{"conn_type": "slackwebhook", "host": "{url}", "password": "x"}}'
        )
        monkeypatch.setenv("AIRFLOW_CONN_MUTE_TEAMS", f'{{"conn_type": "http", "host": "{url}/teams"}}')
        smtp = {"disable_ssl": True, "disable_tls": True, "from_email": "a@example.com"}
        monkeypatch.setenv(
            "AIRFLOW_CONN_MUTE_SMTP",
            json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": server.port, "extra": smtp}),
        )
        config = make_config({"slack": "mute_slack", "email": "mute_smtp", "teams": "mute_teams"})
        config.notifications.retry.attempts = 2
        config.notifications.retry.timeout_seconds = 0.5
        caplog.set_level(logging.WARNING, logger="include.notifications")
        started = time.monotonic()
        outcome = notifications.notifier("error_occurred").send(failure_context(), config)
        took = time.monotonic() - started
        tries = server.connections()
    assert outcome == {"slack": FAILED, "email": FAILED, "teams": FAILED}
    assert tries == 3 * 2, tries
    # 3 channels x 2 tries x 0.5 s plus the backoffs; one 30 s default alone would take longer
    assert 3 <= took < 25, took
    given_up = [r.getMessage() for r in caplog.records if "not sent after 2 attempt(s)" in r.getMessage()]
    assert len(given_up) == 3, given_up


def test_a_channel_without_a_connection_is_off(webhook, smtp_server, caplog, channels):
    caplog.set_level(logging.INFO, logger="include.notifications")
    outcome = notifications.notifier("error_occurred").send(
        failure_context(), make_config({"slack": "test_slack"})
    )
    assert outcome == {"slack": SENT, "email": OFF, "teams": OFF}
    assert len(webhook.on("/slack")) == 1 and webhook.on("/teams") == [] and smtp_server.received == []
    assert "notifications.channels.teams.conn_id is not set" in caplog.text

    # the shipped configuration: every channel off, nothing sent
    shipped = notifications.notifier("error_occurred").send(failure_context(), make_config())
    assert set(shipped.values()) == {OFF}


def test_an_event_without_a_route_is_not_sent(channels, webhook):
    config = make_config(
        channels, events={"error_occurred": {"channels": ["slack"]}, "migration_started": None}
    )
    assert notifications.notifier("migration_started").send(failure_context(), config) == {}
    assert notifications.notifier("error_occurred").send(failure_context(), config) == {"slack": SENT}
    assert len(webhook.posts) == 1


def test_edited_templates_win_and_the_rest_come_from_templates(channels, webhook, smtp_server, tmp_path):
    (tmp_path / "slack").mkdir()
    (tmp_path / "slack" / "error_occurred.txt").write_text("BROKEN {{ task_id }} -> {{ log_url }}\n")
    config = make_config(channels, templates_dir=str(tmp_path))
    notifications.notifier("error_occurred").send(failure_context(), config)
    (slack,) = webhook.on("/slack")
    assert slack["text"].startswith("BROKEN validate_footprints -> http://airflow.example.com:8080/dags/")
    assert smtp_server.received[0].message["Subject"].startswith("[altium2kicad] Task validate_footprints")


def test_a_broken_template_is_logged_not_raised(channels, webhook, tmp_path, caplog):
    (tmp_path / "slack").mkdir()
    (tmp_path / "slack" / "error_occurred.txt").write_text("{% if %}\n")
    config = make_config(channels, templates_dir=str(tmp_path))
    outcome = notifications.notifier("error_occurred").send(failure_context(), config)
    assert outcome["slack"] == FAILED and outcome["teams"] == SENT
    assert "error_occurred.txt:1:" in caplog.text


def test_links_follow_airflow_and_keep_a_path_prefix():
    dag, op = approval_task()
    ti = runtime_ti(op, dag.dag_id, map_index=0)
    base = "http://af.example.com"
    ours = links.approval_url(base, dag.dag_id, RUN_ID, "approve", 0)
    assert ours == op.generate_link_to_ui(task_instance=ti, base_url=base)
    assert links.approval_url(base + "/airflow", dag.dag_id, RUN_ID, "approve", 0).startswith(
        "http://af.example.com/airflow/dags/"
    )


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            {"error_occurred": {"channels": ["email"]}},
            "events.error_occurred: the email channel needs recipients",
        ),
        (
            {"error_occurred": {"channels": ["email"], "recipients": ["approvers"]}},
            "events.error_occurred: 'approvers' names the users of an approval task",
        ),
        (
            {"error_occurred": {"channels": ["email"], "recipients": ["accountant"]}},
            "'accountant' is neither an address",
        ),
        ({"build_broken": {"channels": ["slack"]}}, "notifications.events.build_broken"),
        ({"error_occurred": {"channels": ["pager"]}}, "notifications.events.error_occurred.channels.0"),
    ],
)
def test_the_configuration_refuses_routes_it_cannot_act_on(events, message):
    import yaml

    data = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    data["notifications"]["events"] = events
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config(yaml.safe_dump(data), REPO / "config" / "altium2kicad.yaml")


@pytest.mark.parametrize("channel", ["slack", "email", "teams"])
def test_every_shipped_template_renders_with_and_without_a_task(channel):
    """A DAG-level context has no task, no error and no approval: every value may be None."""
    from include.notifications.facts import from_context
    from include.notifications.settings import EVENTS
    from include.notifications.templates import render

    config = make_config()
    full = failure_context()
    for event in EVENTS:
        for context in (full, {"params": {}}):
            message = render(config, channel, event, from_context(event, context, stage="validation"))
            assert message.text or message.card, (channel, event)
            if channel == "email":
                assert message.subject.startswith("[altium2kicad] ")
