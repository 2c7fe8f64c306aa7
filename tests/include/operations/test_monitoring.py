"""The monitoring check against crafted thresholds: real psutil readings, a real HTTP health
endpoint, and the alert delivered to a real HTTP server standing in for the Slack webhook."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from include.config import DEFAULT_CONFIG, PipelineConfig, load_config
from include.operations import monitoring

REPO = Path(__file__).resolve().parents[3]


class Endpoint:
    """Serves a health answer (optionally slowly) and records what is POSTed (the webhook)."""

    def __init__(self, delay: float = 0.0, health: dict | None = None) -> None:
        self.delay = delay
        self.health = health or {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "healthy"}}
        self.posts: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                time.sleep(owner.delay)
                body = json.dumps(owner.health).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                owner.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def endpoint():
    made = []

    def make(**kwargs) -> Endpoint:
        made.append(Endpoint(**kwargs))
        return made[-1]

    yield make
    for e in made:
        e.close()


def _config(url: str, slack: str | None = None, **thresholds) -> PipelineConfig:
    import yaml

    data = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    data["monitoring"]["alerting"]["health_url"] = url + monitoring.HEALTH_PATH
    data["monitoring"]["alerting"]["thresholds"] = {
        "cpu": 100,
        "memory": 100,
        "response_time": 5,
        **thresholds,
    }
    data["notifications"]["slack_conn_id"] = slack
    return PipelineConfig.model_validate(data)


def test_within_thresholds(endpoint):
    result = monitoring.check(_config(endpoint().url))
    assert result["breaches"] == [] and 0 <= result["cpu_percent"] <= 100
    assert 0 < result["memory_percent"] < 100 and result["response_seconds"] < 5


def test_memory_and_cpu_over_crafted_thresholds(endpoint):
    import psutil

    used = psutil.virtual_memory().percent
    with pytest.raises(monitoring.ThresholdExceeded, match=r"memory [\d.]+ % > ") as exc:
        monitoring.check(_config(endpoint().url, memory=max(used / 2, 0.1), cpu=0.001))
    assert "cpu" in str(exc.value) or psutil.cpu_percent(interval=0.5) == 0


def test_slow_api_server_breaches_response_time_and_notifies(endpoint, monkeypatch):
    api, webhook = endpoint(delay=0.5), endpoint()
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALERTS",
        json.dumps({"conn_type": "slackwebhook", "host": webhook.url, "password": "T0/B0/X0"}),
    )
    with pytest.raises(monitoring.ThresholdExceeded, match=r"response_time 0\.5\d* s > 0\.2 s"):
        monitoring.check(_config(api.url, slack="alerts", response_time=0.2))
    assert len(webhook.posts) == 1 and "response_time" in webhook.posts[0]["text"]


def test_unreachable_or_unhealthy_api_server(endpoint):
    with pytest.raises(monitoring.ThresholdExceeded, match="did not answer"):
        monitoring.check(_config("http://127.0.0.1:9"))
    sick = endpoint(health={"metadatabase": {"status": "healthy"}, "scheduler": {"status": "unhealthy"}})
    with pytest.raises(monitoring.ThresholdExceeded, match="unhealthy: scheduler"):
        monitoring.check(_config(sick.url))


def test_default_health_url_is_the_api_server_as_workers_reach_it(monkeypatch):
    """In the compose stack the public base URL is localhost (the worker itself): the execution
    API's address (nginx) is used, as docker-compose.yaml and worker-host.yaml set it."""
    config = load_config(DEFAULT_CONFIG)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://localhost:8080")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "http://nginx:8080/execution/")
    assert monitoring.health_url(config) == "http://nginx:8080" + monitoring.HEALTH_PATH
    monkeypatch.delenv("AIRFLOW__CORE__EXECUTION_API_SERVER_URL")
    assert monitoring.health_url(config) == "http://localhost:8080" + monitoring.HEALTH_PATH
