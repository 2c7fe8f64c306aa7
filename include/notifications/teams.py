"""Microsoft Teams incoming webhook as an Airflow notifier (no provider ships one).

The webhook URL is the host of an Airflow HTTP connection (e.g.
AIRFLOW_CONN_TEAMS_LIBRARY='{"conn_type": "http", "host": "https://....webhook.office.com/..."}'),
so it stays out of the configuration file; the HTTP provider's hook POSTs the card and raises on a
non-2xx answer.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier


class TeamsWebhookNotifier(BaseNotifier):
    """POSTs `card` (the webhook's JSON body: a message with an Adaptive Card attachment)."""

    template_fields = ("teams_conn_id",)

    def __init__(self, *, teams_conn_id: str, card: dict[str, Any], timeout: float = 30, **kwargs):
        super().__init__(**kwargs)
        self.teams_conn_id = teams_conn_id
        self.card = card
        self.timeout = timeout

    def notify(self, context) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        hook = HttpHook(method="POST", http_conn_id=self.teams_conn_id)
        response = hook.run(
            json=self.card,
            headers={"Content-Type": "application/json"},
            extra_options={"timeout": self.timeout},
        )
        self.log.debug("Teams webhook answered %s", response.status_code)
