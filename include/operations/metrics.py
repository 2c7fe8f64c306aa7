"""Our metrics (items converted, migration quality, durations) through Airflow's own Stats client.

Airflow's client sends to whatever backend the deployment configured ([metrics] statsd_on or
otel_on; the compose file points StatsD at the exporter), so our figures sit beside Airflow's in
the same dashboards, prefixed `<statsd_prefix>.altium2kicad.`. Nothing is sent unless
`monitoring.statsd` is true in the configuration.
"""

from __future__ import annotations

from ..config import PipelineConfig

PREFIX = "altium2kicad"


def _stats():
    from airflow.sdk.observability import stats

    return stats


def emit_conversion(config: PipelineConfig, counts: dict[str, int], seconds: float) -> None:
    """One library converted: items by status and how long it took."""
    if not config.monitoring.statsd:
        return
    stats = _stats()
    for status in ("ok", "warning", "failed"):
        if counts.get(status):
            stats.incr(f"{PREFIX}.items_converted.{status}", counts[status])
    stats.timing(f"{PREFIX}.conversion_duration", seconds * 1000.0)


def emit_run(config: PipelineConfig, metrics: dict[str, tuple[float, str]]) -> None:
    """A run's progress metrics (include.metrics.compute): components, quality, time spent."""
    if not config.monitoring.statsd:
        return
    stats = _stats()
    stats.gauge(f"{PREFIX}.components_migrated", metrics["components_migrated"][0])
    stats.gauge(f"{PREFIX}.migration_quality", metrics["migration_quality"][0])
    stats.timing(f"{PREFIX}.time_spent", metrics["time_spent"][0] * 1000.0)
