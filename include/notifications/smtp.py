"""The SMTP provider's notifier with the socket timeout from the configuration.

SmtpHook takes its timeout only from the connection's `timeout` extra (30 s when unset) and
reconnects up to its `retry_limit` extra (5) times; this hook takes
`notifications.retry.timeout_seconds` and connects once per try, so every channel waits and
retries as the configuration says.
"""

from __future__ import annotations

from functools import cached_property

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.providers.smtp.notifications.smtp import SmtpNotifier


class TimedSmtpHook(SmtpHook):
    """SmtpHook whose SMTP client gives up on a silent server after `seconds`, and connects once
    per try: the hook's own reconnects (`retry_limit` extra, 5) would multiply
    `notifications.retry.attempts`, which does the retrying."""

    def __init__(self, seconds: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seconds = seconds

    @property
    def timeout(self) -> int:
        return self.seconds  # type: ignore[return-value]  # smtplib takes float seconds

    @property
    def smtp_retry_limit(self) -> int:
        return 0


class TimedSmtpNotifier(SmtpNotifier):
    """SmtpNotifier sending through TimedSmtpHook."""

    def __init__(self, *, timeout: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout

    @cached_property
    def hook(self) -> SmtpHook:
        return TimedSmtpHook(self.timeout, smtp_conn_id=self.smtp_conn_id, auth_type=self.auth_type)
