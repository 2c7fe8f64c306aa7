"""The notification peers (tests/notification_peers.py) as fixtures."""

from __future__ import annotations

import pytest

from tests.notification_peers import CONN_IDS, Webhook, connections, mail_server


@pytest.fixture
def webhook():
    server = Webhook()
    yield server
    server.close()


@pytest.fixture
def smtp_server():
    with mail_server() as box:
        yield box


@pytest.fixture
def channels(webhook, smtp_server, monkeypatch):
    """Airflow connections for the three channels, pointing at the local servers."""
    for key, value in connections(webhook, smtp_server).items():
        monkeypatch.setenv(key, value)
    return dict(CONN_IDS)
