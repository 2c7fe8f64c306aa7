"""Notifications: pipeline events sent to Slack, e-mail and Microsoft Teams through Airflow notifiers.

DAG files attach a callback (`on_success_callback`, `on_failure_callback`, `on_execute_callback`,
a HITL task's `notifiers`) that calls `send(event, context)` when it runs; tasks never send
anything themselves. What an event says is a Jinja2 template under templates/<channel>/; where it
goes is `notifications.events` in the configuration, read at that moment (never at parse time).
Importing this package does not import Airflow (include.config embeds its settings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import EVENTS

if TYPE_CHECKING:
    from .dispatch import EventNotifier

__all__ = ["ANSWER", "EVENTS", "notifier", "send"]

# Not an event: an approval task's answer, sent as approval_granted or approval_rejected.
ANSWER = "approval_answered"


def notifier(event: str, *, first_try: bool = False, **facts: Any) -> EventNotifier:
    """The Airflow notifier of `event`. Facts are fixed values for its templates (e.g. stage=...).

    `ANSWER` picks approval_granted/approval_rejected from the approval task's answer;
    `stage_complete` without a `stage` fact is sent once the task's whole task group is done;
    `first_try`: not sent again when the task is retried (an `on_execute_callback`).
    """
    from .dispatch import AnswerNotifier, EventNotifier, StageNotifier

    if event == ANSWER:
        return AnswerNotifier()
    if event == "stage_complete" and "stage" not in facts:
        return StageNotifier()
    return EventNotifier(event, first_try=first_try, **facts)


def send(event: str, context: Any, **kwargs: Any) -> None:
    """Sends `event` for this callback context; logs and swallows every failure (a HITL task's
    notifiers run inside its execute, where an exception would fail the approval)."""
    import logging

    try:
        notifier(event, **kwargs)(context)
    except Exception:
        logging.getLogger(__name__).exception("notification %s not sent; the run goes on", event)
