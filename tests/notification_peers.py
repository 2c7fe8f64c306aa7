"""Real notification peers on this machine: an HTTP server taking the Slack and Teams webhooks, an
SMTP server (aiosmtpd) taking the mail, Airflow connections (AIRFLOW_CONN_*) pointing at them, and
the shipped configuration with its channels set to those connections."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from include.config import PipelineConfig

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Post:
    path: str
    body: dict


class Webhook:
    """Records every POST (path and JSON body) and answers 200 "ok", like Slack and Teams do."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                owner.posts.append(Post(self.path, json.loads(raw)))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, path_prefix: str) -> list[dict]:
        return [p.body for p in self.posts if p.path.startswith(path_prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""


@dataclass
class MailServer:
    port: int
    received: list[Mail] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SilentServer:
    """A port that takes connections (the kernel's backlog) and never says or answers anything: an
    SMTP server that sends no greeting, a webhook that never responds."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)  # not accept()ed while the clients wait: connect() works, reads wait
        self.port = self.sock.getsockname()[1]

    def connections(self) -> int:
        """How many connections were made so far (each try is one), drained from the backlog."""
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@contextmanager
def silent_server():
    server = SilentServer()
    try:
        yield server
    finally:
        server.sock.close()


@contextmanager
def mail_server():
    """aiosmtpd on a free port; what it receives lands in `.received`."""
    from aiosmtpd.controller import Controller

    box = MailServer(free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            box.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), msg))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


ADDRESSES = {"alice": "alice@example.com", "bob": "bob@example.com", "carol": "carol@example.com"}


def connections(webhook: Webhook, mail: MailServer) -> dict[str, str]:
    """AIRFLOW_CONN_* values of the three channels at the local servers, and their conn ids."""
    env = {
        "AIRFLOW_CONN_TEST_SLACK": json.dumps(
            {"conn_type": "slackwebhook", "host": webhook.url + "/slack", "password": "T0/B0/X0"}
        ),
        "AIRFLOW_CONN_TEST_TEAMS": json.dumps(
            {"conn_type": "http", "host": webhook.url + "/teams/webhookb2/abc"}
        ),
        "AIRFLOW_CONN_TEST_SMTP": json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": mail.port,
                "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"},
            }
        ),
        "AIRFLOW__API__BASE_URL": "http://airflow.example.com:8080",
    }
    return env


CONN_IDS = {"slack": "test_slack", "email": "test_smtp", "teams": "test_teams"}


def make_config(conns: dict[str, str] | None = None, **notifications) -> PipelineConfig:
    """The shipped configuration with its channels set to `conns`, fast retries, team members;
    `events` entries replace the shipped route of that event."""
    data = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    section = data["notifications"]
    for name, conn_id in (conns or {}).items():
        section["channels"][name]["conn_id"] = conn_id
    section["channels"]["email"]["addresses"] = ADDRESSES
    section["retry"] = {"attempts": 3, "backoff_seconds": 0.05}
    for event, route in notifications.pop("events", {}).items():  # None: the event is not routed
        section["events"].pop(event) if route is None else section["events"].update({event: route})
    section.update(notifications)
    data["task_assignment"]["roles"] = {"library_manager": ["alice"], "qa_engineer": ["carol"]}
    return PipelineConfig.model_validate(data)


def write_config(path: Path, config: PipelineConfig) -> Path:
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return path


RUN_ID = "manual__2026-12-02T10_00_00"


def runtime_ti(task, dag_id: str, map_index: int = -1, try_number: int = 1):
    """Airflow's own RuntimeTaskInstance for `task` (what a callback's context holds as `ti`)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    return RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task.task_id,
        dag_id=dag_id,
        run_id=RUN_ID,
        try_number=try_number,
        dag_version_id=uuid.uuid4(),
        map_index=map_index,
        task=task,
        start_date=datetime.now(UTC),
    )
