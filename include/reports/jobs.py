"""The two report jobs: gather the facts, render, store under the report folder, send by e-mail
through the SMTP connection of notifications.channels.email (Airflow's SMTP provider)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from include import training
from include.config import PipelineConfig

from . import facts as report_facts
from . import render


def recipients(config: PipelineConfig, names: list[str]) -> list[str]:
    """Addresses as they are, user ids through the address book (the configuration refuses an id
    it does not hold: include.config)."""
    book = config.notifications.channels.email.addresses
    return [n if "@" in n else book[n] for n in names]


def send(
    config: PipelineConfig, to: list[str], subject: str, html: str, files: list[Path] | None = None
) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    channel = config.notifications.channels.email
    if not channel.conn_id:
        raise ValueError("notifications.channels.email.conn_id is not set: reports cannot be sent")
    with SmtpHook(smtp_conn_id=channel.conn_id) as hook:
        hook.send_email_smtp(
            to=to,
            subject=subject,
            html_content=html,
            from_email=channel.from_email,
            files=[str(f) for f in files or []],
        )


def weekly_progress(config: PipelineConfig, now: datetime | None = None) -> dict:
    """The weekly PDF from the library database: rendered, stored under report_dir/weekly, mailed to management_team."""
    now = now or datetime.now(UTC)
    facts = report_facts.gather(config.library_db_url(), config)
    target = config.progress_tracking.quality_target
    pdf = render.weekly_pdf(
        facts, target, config.report_dir / "weekly" / f"weekly_progress_{now:%Y-%m-%d}.pdf"
    )
    to = recipients(config, config.progress_tracking.management_team)
    if to:
        html = render.email_body(
            config, "weekly_progress.html", pdf_name=pdf.name, training=training.modules(config), **facts
        )
        send(config, to, f"altium2kicad weekly progress {now:%Y-%m-%d}", html, [pdf])
    return {"pdf": str(pdf), "recipients": to, "runs": len(facts["runs"])}


def daily_status(config: PipelineConfig, now: datetime | None = None) -> dict:
    """Today's runs, failures and open approvals, mailed to project_team."""
    now = now or datetime.now(UTC)
    start, end = report_facts.day_window(now)
    every = report_facts.gather(config.library_db_url(), config)
    today = [r for r in every["runs"] if r["started_at"] and start <= r["started_at"] < end]
    failed = [r for r in today if r["status"] == "failed"]
    html = render.email_body(
        config,
        "daily_status.html",
        day=f"{now:%Y-%m-%d}",
        runs=today,
        failed=failed,
        open_approvals=every["open_approvals"],
    )
    to = recipients(config, config.progress_tracking.project_team)
    if to:
        send(config, to, f"altium2kicad daily status {now:%Y-%m-%d}", html)
    return {"recipients": to, "runs": len(today), "failed": len(failed)}
