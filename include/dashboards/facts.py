"""What a dashboard shows, built from the report facts (include/reports/facts.py), the latest
stored reports and Airflow's waiting approvals.

Two dashboards, one layout: each names the metrics it puts first (management: components migrated
and migration quality; team: components migrated and time spent), its charts and its refresh
interval (`dashboards.*_refresh_seconds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from include.config import PipelineConfig, folder_name
from include.reports import facts as report_facts
from include.reports import render

from .approvals import PendingApproval

RECENT_RUNS = 20  # rows of the runs table
LATEST_REPORTS = 5  # run reports linked under "Latest reports"
WEEKLY = "weekly"  # report_dir/weekly: the weekly PDFs and their charts (include/reports/jobs.py)


@dataclass(frozen=True)
class DashboardSpec:
    name: str  # also the template's name and the UI's url_route
    title: str
    metrics: tuple[str, ...]  # run-row keys shown per environment and per run
    charts: tuple[str, ...]  # include.reports.render.CHARTS


DASHBOARDS = {
    "management_dashboard": DashboardSpec(
        "management_dashboard", "Management dashboard", ("migrated", "quality"), ("components", "quality")
    ),
    "team_dashboard": DashboardSpec(
        "team_dashboard", "Team dashboard", ("migrated", "time_spent"), ("components", "time")
    ),
}


def refresh_seconds(config: PipelineConfig, name: str) -> int:
    settings = config.dashboards
    return {
        "management_dashboard": settings.management_refresh_seconds,
        "team_dashboard": settings.team_refresh_seconds,
    }[name]


@dataclass(frozen=True)
class EnvironmentProgress:
    """An environment's latest run with metrics, and how many runs it has had."""

    environment: str
    runs: int
    latest: dict


@dataclass(frozen=True)
class StoredReport:
    title: str
    url: str
    pictures: list[str] = field(default_factory=list)  # URLs of its images


@dataclass(frozen=True)
class Dashboard:
    spec: DashboardSpec
    refresh_seconds: int
    generated_at: datetime
    quality_target: float
    environments: list[EnvironmentProgress]
    runs: list[dict]  # newest first, at most RECENT_RUNS
    reports: list[StoredReport]
    approvals: list[PendingApproval]
    failure_causes: list[dict]
    failing_libraries: list[dict]
    charts: dict[str, str]  # name -> inline <svg>


def progress_by_environment(runs: list[dict]) -> list[EnvironmentProgress]:
    """Per environment (by name), its run count and its latest run that has recorded metrics."""
    out = []
    for env in sorted({r["environment"] for r in runs}):
        mine = [r for r in runs if r["environment"] == env]
        measured = [r for r in mine if r["migrated"] is not None] or mine
        out.append(EnvironmentProgress(env, len(mine), measured[-1]))
    return out


def stored_reports(
    runs: list[dict], report_dir: Path, file_url: Callable[[str, str], str]
) -> list[StoredReport]:
    """The latest weekly PDF with its chart pictures, then the newest run reports.

    `file_url(folder, path)` is where the plugin serves report_dir/folder/path."""
    out = []
    weekly = sorted((report_dir / WEEKLY).glob("weekly_progress_*.pdf"))
    if weekly:
        charts = sorted((report_dir / WEEKLY / "charts").glob("*.png"))
        out.append(
            StoredReport(
                f"Weekly progress {weekly[-1].stem.removeprefix('weekly_progress_')}",
                file_url(WEEKLY, weekly[-1].name),
                [file_url(WEEKLY, f"charts/{c.name}") for c in charts],
            )
        )
    with_report = [r for r in runs if r.get("report_path")][-LATEST_REPORTS:]
    for r in reversed(with_report):
        out.append(
            StoredReport(
                f"{r['run_id']} ({r['environment']}, {r['status']})",
                file_url(folder_name(r["run_id"]), "index.html"),
            )
        )
    return out


def build(
    config: PipelineConfig,
    name: str,
    approvals: list[PendingApproval],
    file_url: Callable[[str, str], str],
    now: datetime | None = None,
) -> Dashboard:
    """One dashboard's content; the library database is read once (report_facts.gather)."""
    spec = DASHBOARDS[name]
    facts = report_facts.gather(config.library_db_url())
    runs = facts["runs"]
    target = config.progress_tracking.quality_target
    return Dashboard(
        spec=spec,
        refresh_seconds=refresh_seconds(config, name),
        generated_at=now or datetime.now(UTC),
        quality_target=target,
        environments=progress_by_environment(runs),
        runs=list(reversed(runs))[:RECENT_RUNS],
        reports=stored_reports(runs, config.report_dir, file_url),
        approvals=approvals,
        failure_causes=facts["failure_causes"],
        failing_libraries=facts["failing_libraries"],
        charts=render.inline_svgs(facts, target, spec.charts) if runs else {},
    )
