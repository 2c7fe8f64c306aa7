"""The message of an event on a channel, rendered from the Jinja2 files users edit.

templates/<channel>/<event>.<ext>: slack `.txt` (Slack mrkdwn, every value escaped), email `.html` (its first line is
`Subject: ...`), teams `.json` (the webhook's JSON body, an Adaptive Card). With
`notifications.templates_dir` set, a file found there wins over the shipped one of the same name,
so a team copies and edits only the messages it wants different.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import PROJECT_ROOT, PipelineConfig

SHIPPED = PROJECT_ROOT / "templates"
EXTENSIONS = {"slack": "txt", "email": "html", "teams": "json"}


class TemplateProblem(Exception):
    """A template is missing or does not render into a message (names the file and the reason)."""


@dataclass
class Message:
    channel: str
    template: str
    text: str = ""  # slack: the message; email: the HTML body
    subject: str = ""  # email only
    card: dict[str, Any] = field(default_factory=dict)  # teams only


def folders(config: PipelineConfig) -> list[Path]:
    """Where templates are looked up, first match wins."""
    edited = config.notifications.templates_dir
    return ([config.path(edited)] if edited else []) + [SHIPPED]


def slack_escape(value: Any) -> Any:
    """Slack mrkdwn's three control characters in a value (an error's `<Pad 2>` would otherwise
    be read as a link); Slack shows them as typed, URLs included."""
    if not isinstance(value, str):
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _environment(config: PipelineConfig, channel: str):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders(config)]),
        autoescape=channel == "email",  # HTML; Teams values go through tojson in the templates
        finalize=slack_escape if channel == "slack" else None,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(config: PipelineConfig, channel: str, event: str, facts: dict[str, Any]) -> Message:
    import jinja2

    name = f"{channel}/{event}.{EXTENSIONS[channel]}"
    env = _environment(config, channel)
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        raise TemplateProblem(
            f"{name}: template not found in {', '.join(str(f) for f in folders(config))}"
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from None
    try:
        text = template.render(**facts).strip()
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"{template.filename}: {exc}") from None
    message = Message(channel, template.filename or name)
    if channel == "email":
        first, _, rest = text.partition("\n")
        if not first.startswith("Subject:"):
            raise TemplateProblem(f"{message.template}: the first line must be 'Subject: ...'")
        # the subject is a mail header, not HTML: undo the escaping autoescape gave it
        message.subject, message.text = html.unescape(first.removeprefix("Subject:").strip()), rest.strip()
    elif channel == "teams":
        try:
            message.card = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateProblem(f"{message.template}: does not render to JSON ({exc})") from None
    else:
        message.text = text
    return message
