"""Our metrics reach a real StatsD listener through Airflow's own Stats client."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from include.config import parse_config
from include.operations.metrics import emit_conversion, emit_run

REPO = Path(__file__).resolve().parents[3]


def _config(statsd: bool):
    text = (REPO / "config" / "altium2kicad.yaml").read_text()
    return parse_config(text.replace("statsd: false", f"statsd: {str(statsd).lower()}"), Path("c.yaml"))


@pytest.fixture
def statsd(monkeypatch):
    """A UDP socket as the StatsD server; Airflow's Stats client initialised to send to it."""
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics import stats_utils

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(sock.getsockname()[1]))
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PREFIX", "airflow")
    stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=False)

    def received() -> list[str]:
        lines = []
        try:
            while True:
                lines += sock.recv(65535).decode().splitlines()
                sock.settimeout(0.3)
        except TimeoutError:
            return lines

    yield received
    from airflow.sdk._shared.observability.metrics.stats import NoStatsLogger

    stats.initialize(factory=NoStatsLogger, export_legacy_names=False)
    sock.close()


def test_conversion_and_run_metrics_are_sent(statsd):
    config = _config(True)
    emit_conversion(config, {"ok": 12, "warning": 1, "failed": 2}, 1.5)
    emit_run(
        config,
        {
            "components_migrated": (13.0, "items"),
            "migration_quality": (0.8667, "ratio"),
            "time_spent": (42.0, "seconds"),
        },
    )
    lines = statsd()
    assert "airflow.altium2kicad.items_converted.ok:12|c" in lines
    assert "airflow.altium2kicad.items_converted.failed:2|c" in lines
    assert "airflow.altium2kicad.conversion_duration:1500.000000|ms" in lines
    assert "airflow.altium2kicad.migration_quality:0.8667|g" in lines
    assert "airflow.altium2kicad.components_migrated:13.0|g" in lines
    assert "airflow.altium2kicad.time_spent:42000.000000|ms" in lines


def test_nothing_sent_when_the_configuration_says_no(statsd):
    emit_conversion(_config(False), {"ok": 3}, 0.1)
    assert statsd() == []
