"""`notifications` in the configuration: the channels (each an Airflow connection) and which events
go where, to whom.

Pydantic sections like the rest of include/config.py (which embeds `Notifications`). A channel
whose `conn_id` is null is off: events routed to it are skipped, and the skip is logged. Webhook
URLs and SMTP passwords live in the connections, never in the file.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from include.config_base import Section

Event = Literal[
    "migration_started",
    "migration_completed",
    "stage_complete",
    "approval_required",
    "approval_granted",
    "approval_rejected",
    "error_occurred",
    "workflow_complete",
    "maintenance_announced",  # a maintenance window ahead (maintenance.notification.lead_hours)
    "part_edited",  # a part or the mapping rules edited (concurrency.notify_on_change)
]
EVENTS: tuple[str, ...] = get_args(Event)
Channel = Literal["slack", "email", "teams"]
# Recipients that are not a role or an address: the users asked by the approval task, and the team.
APPROVERS, PARTICIPANTS = "approvers", "participants"
APPROVAL_EVENTS = ("approval_required", "approval_granted", "approval_rejected")


class SlackChannel(Section):
    conn_id: str | None = None  # Slack incoming-webhook connection (conn_type slackwebhook)


class EmailChannel(Section):
    conn_id: str | None = None  # SMTP connection (conn_type smtp)
    from_email: str | None = None  # None: the connection's `from_email` extra
    addresses: dict[str, str] = {}  # Airflow user id -> e-mail address (role recipients)


class TeamsChannel(Section):
    conn_id: str | None = None  # HTTP connection whose host is the incoming-webhook URL


class Channels(Section):
    slack: SlackChannel = SlackChannel()
    email: EmailChannel = EmailChannel()
    teams: TeamsChannel = TeamsChannel()

    def conn_id(self, channel: Channel) -> str | None:
        return getattr(self, channel).conn_id


class Route(Section):
    channels: list[Channel] = []
    # e-mail only: addresses, role names (task_assignment.roles), `approvers` or `participants`
    recipients: list[str] = []


class Retry(Section):
    attempts: int = Field(3, ge=1)  # tries per channel and message
    backoff_seconds: float = Field(2.0, ge=0)  # wait before the 2nd try, doubled after each failure
    # longest wait for the peer in one try (connect, answer), replacing the connection's `timeout`
    # extra and the client libraries' defaults: a peer that never answers costs a run
    # attempts x timeout_seconds per channel at most, never a hang
    timeout_seconds: float = Field(10.0, gt=0)


class Notifications(Section):
    channels: Channels = Channels()
    events: dict[Event, Route] = {}
    retry: Retry = Retry()
    templates_dir: str | None = None  # edited templates; a file missing there comes from templates/

    @model_validator(mode="after")
    def _routes(self) -> Notifications:
        for event, route in self.events.items():
            if "email" in route.channels and not route.recipients:
                raise ValueError(f"events.{event}: the email channel needs recipients")
            if APPROVERS in route.recipients and event not in APPROVAL_EVENTS:
                raise ValueError(
                    f"events.{event}: '{APPROVERS}' names the users of an approval task, "
                    f"so only {', '.join(APPROVAL_EVENTS)} can send to them"
                )
        return self
