"""The monitoring DAG's check: CPU, memory and the api-server's response time against
`monitoring.alerting.thresholds`; a breach notifies through the configured channels and fails.

CPU and memory are the machine the check runs on (a worker: where conversions load the system);
response time is one GET of Airflow's health endpoint, which also reports whether the metadata
database, scheduler, triggerer and dag-processor are healthy.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field

from ..config import PipelineConfig

log = logging.getLogger(__name__)
HEALTH_PATH = "/api/v2/monitor/health"


class ThresholdExceeded(Exception):
    """A monitored value is over its threshold (message names each value and its limit)."""


@dataclass
class Reading:
    cpu_percent: float
    memory_percent: float
    response_seconds: float | None  # None: the endpoint did not answer
    health_url: str
    unhealthy: list[str] = field(default_factory=list)  # components the health endpoint reports
    error: str = ""


def health_url(config: PipelineConfig) -> str:
    """The configured URL, else the api-server as this worker reaches it: the execution API's
    address (nginx in the compose stack, the control plane from a worker host), since the public
    AIRFLOW__API__BASE_URL (http://localhost:8080 by default) names the worker itself inside a
    container; the base URL only when no execution API address is set."""
    configured = config.monitoring.alerting.health_url
    if configured:
        return configured
    execution = os.environ.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "")
    if "/execution" in execution:
        base = execution.split("/execution", 1)[0]
    else:
        base = os.environ.get("AIRFLOW__API__BASE_URL", "http://localhost:8080")
    return base.rstrip("/") + HEALTH_PATH


def probe(url: str, timeout: float) -> tuple[float | None, list[str], str]:
    """(seconds to answer, unhealthy components, error) for one GET of the health endpoint."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
    except (urllib.error.URLError, OSError) as exc:
        return None, [], f"{url}: {getattr(exc, 'reason', exc)}"
    seconds = time.perf_counter() - started
    try:
        health = json.loads(body)
    except ValueError:
        return seconds, [], f"{url}: not a health answer"
    unhealthy = sorted(
        name
        for name, part in health.items()
        if isinstance(part, dict) and part.get("status") not in (None, "healthy")
    )
    return seconds, unhealthy, ""


def read(config: PipelineConfig) -> Reading:
    import psutil

    limit = config.monitoring.alerting.thresholds.response_time
    url = health_url(config)
    seconds, unhealthy, error = probe(url, timeout=max(limit * 5, 5.0))
    return Reading(
        psutil.cpu_percent(interval=1.0), psutil.virtual_memory().percent, seconds, url, unhealthy, error
    )


def breaches(reading: Reading, config: PipelineConfig) -> list[str]:
    limits = config.monitoring.alerting.thresholds
    found = []
    if reading.cpu_percent > limits.cpu:
        found.append(f"cpu {reading.cpu_percent:.1f} % > {limits.cpu:g} %")
    if reading.memory_percent > limits.memory:
        found.append(f"memory {reading.memory_percent:.1f} % > {limits.memory:g} %")
    if reading.response_seconds is None:
        found.append(f"api-server health endpoint did not answer ({reading.error})")
    elif reading.response_seconds > limits.response_time:
        found.append(
            f"response_time {reading.response_seconds:.3f} s > {limits.response_time:g} s ({reading.health_url})"
        )
    if reading.unhealthy:
        found.append(f"unhealthy: {', '.join(reading.unhealthy)} ({reading.health_url})")
    return found


def notify(config: PipelineConfig, text: str) -> bool:
    """Sends the alert through notifications.slack_conn_id when failures are to be notified."""
    channel = config.notifications.slack_conn_id
    if not channel or "failure" not in config.notifications.notify_on:
        log.warning("alert not sent (no notification channel for failures): %s", text)
        return False
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

    SlackWebhookHook(slack_webhook_conn_id=channel).send(text=text)
    return True


def check(config: PipelineConfig) -> dict:
    """One monitoring pass; raises ThresholdExceeded (after notifying) when a value is over."""
    reading = read(config)
    found = breaches(reading, config)
    result = {**asdict(reading), "breaches": found}
    if found:
        message = "altium2kicad monitoring: " + "; ".join(found)
        result["notified"] = notify(config, message)
        raise ThresholdExceeded(message)
    log.info("monitoring: all within thresholds: %s", result)
    return result
