"""Who receives an event's e-mail: addresses, role names, an approval's users, or the whole team.

Roles resolve through include.workflow.roles (the one role -> user lookup), users to addresses
through `notifications.channels.email.addresses`; a user id that is itself an address is used as
it is. A user without an address is logged and left out, never guessed.
"""

from __future__ import annotations

import logging

from ..config import PipelineConfig
from ..workflow.roles import users_for_role
from .settings import APPROVERS, PARTICIPANTS

log = logging.getLogger(__name__)


def _team(config: PipelineConfig) -> list[str]:
    return [u for users in config.task_assignment.roles.values() for u in users]


def addresses(config: PipelineConfig, event: str, facts: dict) -> list[str]:
    """The e-mail addresses of `event`'s recipients, each once, in configured order."""
    route = next((r for name, r in config.notifications.events.items() if name == event), None)
    book = config.notifications.channels.email.addresses
    found: list[str] = []
    for who in route.recipients if route else []:
        if "@" in who:
            users = [who]
        elif who == APPROVERS:
            users = list(facts.get("approvers") or [])
        elif who == PARTICIPANTS:
            users = _team(config)
        else:
            users = users_for_role(config, who)
        if not users:
            log.info("notifications.events.%s: recipient '%s' names nobody", event, who)
        for user in users:
            address = user if "@" in user else book.get(user)
            if not address:
                log.warning(
                    "notifications: user '%s' (%s of %s) has no address in "
                    "notifications.channels.email.addresses; left out",
                    user,
                    who,
                    event,
                )
            elif address not in found:
                found.append(address)
    return found
