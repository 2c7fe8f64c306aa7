"""The callback that sends one event to each of its configured channels, and never fails the run.

An Airflow BaseNotifier: attached to a DAG or task as a callback (or to a HITL task's
`notifiers`), it reads the configuration when called, renders the event's template per channel,
and hands the text to that channel's provider notifier. A channel that fails is tried
`notifications.retry.attempts` times with a doubling backoff, then the failure is logged; nothing
here raises into the task, so a Slack outage never fails a migration (HITL notifiers run inside
the task's `execute`, where an exception would).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from airflow.sdk import Context
from airflow.sdk.bases.notifier import BaseNotifier

from .settings import EVENTS

log = logging.getLogger(__name__)
SENT, OFF, FAILED, NOBODY = "sent", "off", "failed", "no recipients"
# a skipped task (after a rejection) leaves its stage incomplete
DONE = ("success",)


class EventNotifier(BaseNotifier):
    """Sends `event` (with fixed facts for its templates) to the channels configured for it."""

    template_fields = ()

    def __init__(self, event: str, *, first_try: bool = False, **facts: Any) -> None:
        if event not in EVENTS:
            raise ValueError(f"notification event '{event}' is not one of {', '.join(EVENTS)}")
        super().__init__()
        self.event = event
        self.first_try = first_try
        self.facts = facts

    def event_for(self, context: dict) -> str | None:
        """The event this call sends (None: nothing to send this time)."""
        tries = getattr(context.get("ti"), "try_number", 1) or 1
        if self.first_try and tries > 1:
            log.info("notification %s: sent at the first try only (this is try %d)", self.event, tries)
            return None
        return self.event

    def notify(self, context: Context) -> None:
        self.send(dict(context))

    def send(self, context: dict, config=None) -> dict[str, str]:
        """channel -> outcome (sent, off, failed, no recipients); logs every one, never raises."""
        try:
            from ..config import load_config

            config = config or load_config()
            event = self.event_for(context)
            if event is None:
                return {}
            return send_event(config, event, context, self.extra_facts(context, config))
        except Exception:
            log.exception("notification %s: could not be prepared; the run goes on", self.event)
            return {}

    def extra_facts(self, context: dict, config) -> dict[str, Any]:
        return dict(self.facts)


class AnswerNotifier(EventNotifier):
    """An approval task's success callback: approval_granted or approval_rejected, by its answer."""

    def __init__(self) -> None:
        super().__init__("approval_granted")

    def event_for(self, context: dict) -> str | None:
        from .facts import answer_of

        chosen = answer_of(context).get("chosen_options") or []
        if not chosen:
            log.info("approval task finished without an answer; no approval notification")
            return None
        self.event = "approval_rejected" if "Reject" in chosen else "approval_granted"
        return self.event


class StageNotifier(EventNotifier):
    """A stage task's success callback: stage_complete when its whole task group is done.

    Every task of the group carries it; each one asks Airflow for the states of the group's task
    instances in this run (its own is already recorded), so the last task to finish sends it.
    Two tasks finishing in the same instant may both see the group done: then it is sent twice,
    never not at all.
    """

    def __init__(self) -> None:
        super().__init__("stage_complete")

    def _stage(self, context: dict) -> str | None:
        group = getattr(context.get("task"), "task_group", None)
        return getattr(group, "group_id", None)

    def event_for(self, context: dict) -> str | None:
        stage, ti = self._stage(context), context.get("ti")
        if not stage or ti is None:
            return None
        states = ti.get_task_states(dag_id=ti.dag_id, task_group_id=stage, run_ids=[ti.run_id])
        pending = {t: s for t, s in (states.get(ti.run_id) or {}).items() if s not in DONE}
        pending.pop(ti.task_id if ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}", None)
        if pending:
            log.debug("stage %s not complete yet: %s", stage, pending)
            return None
        return self.event

    def extra_facts(self, context: dict, config) -> dict[str, Any]:
        stage = self._stage(context)
        dag_id = getattr(context.get("ti"), "dag_id", None)
        names = [s.name for s in getattr(config.project_templates.get(dag_id), "stages", [])]
        after = names[names.index(stage) + 1 :] if stage in names else []
        return {**self.facts, "stage": stage, "next_stage": after[0] if after else None}


def send_event(config, event: str, context: dict, fixed: dict[str, Any] | None = None) -> dict[str, str]:
    """Renders and sends `event` on each of its channels; channel -> outcome."""
    from .facts import from_context

    route = config.notifications.events.get(event)
    if route is None or not route.channels:
        log.info("notification %s: no channels configured (notifications.events)", event)
        return {}
    facts = from_context(event, context, **(fixed or {}))
    return {channel: _send_on(config, channel, event, facts, context) for channel in route.channels}


def _send_on(config, channel: str, event: str, facts: dict, context: dict) -> str:
    from .channels import provider_notifier
    from .recipients import addresses
    from .templates import TemplateProblem, render

    if not config.notifications.channels.conn_id(channel):
        log.info(
            "notification %s: channel %s is off (notifications.channels.%s.conn_id is not set)",
            event,
            channel,
            channel,
        )
        return OFF
    try:
        message = render(config, channel, event, facts)
    except TemplateProblem as exc:
        log.error("notification %s on %s not sent: %s", event, channel, exc)
        return FAILED
    except Exception:  # a filter that raised on an unexpected value: this channel only
        log.exception("notification %s on %s not sent: its template failed", event, channel)
        return FAILED
    recipients = addresses(config, event, facts) if channel == "email" else []
    if channel == "email" and not recipients:
        log.warning("notification %s: no e-mail address for its recipients; not mailed", event)
        return NOBODY
    retry = config.notifications.retry
    for attempt in range(1, retry.attempts + 1):
        try:
            provider_notifier(config, message, recipients).notify(context)
            log.info(
                "notification %s sent on %s%s",
                event,
                channel,
                f" to {', '.join(recipients)}" if recipients else "",
            )
            return SENT
        except Exception as exc:  # any failure of the peer: retried, then logged
            if attempt == retry.attempts:
                log.error(
                    "notification %s on %s not sent after %d attempt(s): %s: %s; the run goes on",
                    event,
                    channel,
                    attempt,
                    type(exc).__name__,
                    exc,
                )
                return FAILED
            wait = retry.backoff_seconds * 2 ** (attempt - 1)
            log.warning(
                "notification %s on %s: attempt %d/%d failed (%s: %s); again in %.1f s",
                event,
                channel,
                attempt,
                retry.attempts,
                type(exc).__name__,
                exc,
                wait,
            )
            time.sleep(wait)
    return FAILED
