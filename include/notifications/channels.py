"""One rendered message to one channel, through that channel's Airflow notifier.

Slack: the Slack provider's SlackWebhookNotifier; e-mail: the SMTP provider's SmtpNotifier (its
hook given the configured timeout, .smtp); Teams: our TeamsWebhookNotifier. Each waits for its
peer at most `notifications.retry.timeout_seconds` per try. Their `notify` is called directly with
the finished text, not through `__call__`, because `__call__` would render the text once more as
Jinja (and an error message holding `{{` would then break the notification).
"""

from __future__ import annotations

from ..config import PipelineConfig
from .templates import Message


def _conn_id(channel, name: str) -> str:
    """The channel's connection id (a channel without one is off and never gets here)."""
    if not channel.conn_id:
        raise ValueError(f"notifications.channels.{name}.conn_id is not set")
    return channel.conn_id


def provider_notifier(config: PipelineConfig, message: Message, recipients: list[str]):
    """The Airflow notifier that delivers `message` on its channel, waiting for the peer at most
    `notifications.retry.timeout_seconds` per try."""
    channels = config.notifications.channels
    timeout = config.notifications.retry.timeout_seconds
    if message.channel == "slack":
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        return SlackWebhookNotifier(
            slack_webhook_conn_id=_conn_id(channels.slack, "slack"),
            text=message.text,
            timeout=timeout,  # type: ignore[arg-type]  # urllib takes float seconds
        )
    if message.channel == "email":
        from .smtp import TimedSmtpNotifier

        return TimedSmtpNotifier(
            timeout=timeout,
            smtp_conn_id=channels.email.conn_id,
            from_email=channels.email.from_email,
            to=recipients,
            subject=message.subject,
            html_content=message.text,
        )
    if message.channel == "teams":
        from .teams import TeamsWebhookNotifier

        return TeamsWebhookNotifier(
            teams_conn_id=_conn_id(channels.teams, "teams"), card=message.card, timeout=timeout
        )
    raise ValueError(f"unknown notification channel '{message.channel}'")
