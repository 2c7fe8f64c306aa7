"""Maintenance windows are announced once at each lead time (72 h, 24 h), recorded in the library DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.config import DEFAULT_CONFIG, MaintenanceWindow, load_config
from include.operations.announcements import announce, next_opening
from include.operations.records import announcements

OPENS = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)  # a Sunday


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", f"sqlite:///{tmp_path / 'library.db'}")
    base = load_config(DEFAULT_CONFIG)
    assert [w.window for w in base.maintenance.windows] == ["Sun 02:00-04:00"]
    assert base.maintenance.notification.lead_hours == [72, 24]
    return base


def test_weekly_window_announced_once_per_lead_time(cfg):
    url = cfg.library_db_url()
    assert announce(cfg, OPENS - timedelta(hours=80)) == []  # not yet within 72 h
    sent = announce(cfg, OPENS - timedelta(hours=71))
    assert [(a.window, a.lead_hours, a.opens_at) for a in sent] == [("database_optimization", 72, OPENS)]
    assert announce(cfg, OPENS - timedelta(hours=70)) == []  # the next hourly run: already announced
    sent = announce(cfg, OPENS - timedelta(hours=23, minutes=30))
    assert [a.lead_hours for a in sent] == [24]
    assert announce(cfg, OPENS - timedelta(hours=1)) == []
    rows = announcements(url)
    assert [(r.window_name, r.lead_hours) for r in rows] == [
        ("database_optimization", 72),
        ("database_optimization", 24),
    ]
    assert "opens 2026-12-06 02:00 UTC" in rows[1].message and "closes 04:00 UTC" in rows[1].message
    assert not rows[0].delivered  # no channel configured: recorded as not delivered, said in the log
    # the week after is a new opening, announced again
    assert [a.opens_at for a in announce(cfg, OPENS + timedelta(days=7, hours=-70))] == [
        OPENS + timedelta(days=7)
    ]


def test_late_start_sends_only_the_nearest_lead_time(cfg):
    assert [a.lead_hours for a in announce(cfg, OPENS - timedelta(hours=10))] == [24]
    assert announce(cfg, OPENS - timedelta(hours=9)) == []  # the missed 72 h one never follows


def test_one_off_window_in_its_time_zone():
    w = MaintenanceWindow(name="upgrade", start=datetime(2027, 1, 15, 3, 0), timezone="Europe/Berlin")
    assert next_opening(w, datetime(2027, 1, 10, tzinfo=UTC)) == datetime(2027, 1, 15, 2, 0, tzinfo=UTC)
    assert next_opening(w, datetime(2027, 1, 16, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="either 'window'"):
        MaintenanceWindow(name="x")


def test_announcement_arrives_on_the_configured_channel(tmp_path, monkeypatch):
    """Through the notification channels (a real local webhook and SMTP server), recorded as delivered."""
    from tests.notification_peers import CONN_IDS, Webhook, connections, mail_server, make_config

    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", f"sqlite:///{tmp_path / 'library.db'}")
    webhook = Webhook()
    try:
        with mail_server() as mail:
            for key, value in connections(webhook, mail).items():
                monkeypatch.setenv(key, value)
            cfg = make_config({"slack": CONN_IDS["slack"], "email": CONN_IDS["email"]})
            sent = announce(cfg, OPENS - timedelta(hours=71))
            assert [a.lead_hours for a in sent] == [72]
            mails = list(mail.received)
        slack = [str(p) for p in webhook.on("/slack")]
        assert (
            len(slack) == 1
            and "Maintenance window 'database_optimization' opens 2026-12-06 02:00 UTC" in slack[0]
        )
        assert mails and "Maintenance ahead: database_optimization" in str(mails[0].message["Subject"])
        assert {"alice@example.com", "carol@example.com"} <= set(mails[0].rcpt_tos)  # the participants
        assert announcements(cfg.library_db_url())[0].delivered
    finally:
        webhook.close()
