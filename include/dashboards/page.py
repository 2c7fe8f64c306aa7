"""A dashboard as an HTML page: templates/dashboards/<name>.html (Jinja, autoescaped; users may
edit the templates, or put edited copies under notifications.templates_dir/dashboards/; the facts
stay in include/dashboards/facts.py)."""

from __future__ import annotations

from pathlib import Path

from .facts import Dashboard

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "dashboards"
METRIC_LABELS = {
    "migrated": "components migrated",
    "quality": "migration quality",
    "time_spent": "time spent",
}


def metric_text(name: str, value) -> str:
    """A metric as the page shows it (the browser test reads these back)."""
    if value is None:
        return "–"
    if name == "quality":
        return f"{value:.1%}"
    if name == "time_spent":
        return f"{value:.0f} s"
    return f"{value:.0f}"


def folders(config) -> list[Path]:
    """Where the pages' templates are looked up, first match wins: `dashboards/` of
    notifications.templates_dir (a team's edited copies), then the shipped ones."""
    from include.notifications.templates import folders as template_folders

    return [f / "dashboards" for f in template_folders(config)]


def render(dashboard: Dashboard, looked_up: list[Path] | None = None) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in looked_up or [TEMPLATES]]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a typo in an edited template fails loudly
    )
    env.filters["metric"] = lambda value, name: metric_text(name, value)
    return env.get_template(f"{dashboard.spec.name}.html").render(
        d=dashboard, labels=METRIC_LABELS, metrics=dashboard.spec.metrics
    )
