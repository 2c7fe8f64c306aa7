"""A lag over the threshold reaches the configured channel (a real local webhook), and a channel
that is down does not fail the sync."""

from __future__ import annotations

from include.library_db.database import engine as library_engine
from include.sync.run import lag_exceeded
from tests.notification_peers import CONN_IDS, Webhook, connections, mail_server, make_config


def test_lag_alert_arrives_on_slack(tmp_path, monkeypatch):
    webhook = Webhook()
    try:
        with mail_server() as mail:
            for key, value in connections(webhook, mail).items():
                monkeypatch.setenv(key, value)
            cfg = make_config(
                {"slack": CONN_IDS["slack"]}, events={"error_occurred": {"channels": ["slack"]}}
            )
            hub = library_engine(f"sqlite:///{tmp_path}/hub.db")
            lag_exceeded(cfg, hub, "asia", "component_libraries", 7 * 3600)
        texts = [str(p) for p in webhook.on("/slack")]
        assert texts and "asia: component_libraries is 420 min behind" in texts[0]
        assert "sync_to_asia" in texts[0]
    finally:
        webhook.close()
        library_engine.cache_clear()


def test_a_dead_channel_does_not_fail_the_sync(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TEST_SLACK",
        '{"conn_type": "slackwebhook", "host": "http://127.0.0.1:1/slack", "password": "x"}',
    )
    cfg = make_config({"slack": CONN_IDS["slack"]}, events={"error_occurred": {"channels": ["slack"]}})
    hub = library_engine(f"sqlite:///{tmp_path}/hub.db")
    try:
        lag_exceeded(cfg, hub, "asia", "audit_logs", 9999)  # logged, retried, no exception
    finally:
        library_engine.cache_clear()
