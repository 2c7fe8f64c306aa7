"""A site further behind than `synchronization.lag_threshold_minutes`: tell the configured channels."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def send_lag_alert(config, site: str, item: str, message: str) -> dict[str, str]:
    """Sends `message` as an `error_occurred` event (notifications.events routes it); never raises.

    Inside a sync task the message carries that task's links; from the command line it has none."""
    from include.notifications.dispatch import send_event

    context: dict = {}
    try:
        from airflow.sdk import get_current_context

        context = dict(get_current_context())
    except Exception:  # not inside a running task
        pass
    task_id = f"sync_to_{site}"
    try:
        return send_event(
            config, "error_occurred", context, {"error": message, "task_id": task_id, "item": item}
        )
    except Exception:
        log.exception("site %s: lag notification could not be sent", site)
        return {}
