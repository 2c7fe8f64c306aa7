"""Charts (matplotlib, Agg), the weekly PDF (ReportLab) and the e-mail bodies (Jinja templates)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape  # ReportLab paragraphs are XML markup

CHARTS = ("components", "quality", "time")


def _figures(facts: dict, quality_target: float, names: tuple[str, ...] = CHARTS):
    """(name, matplotlib figure) over the runs with metrics: migrated against total, quality against
    target, time spent; the caller saves and closes each figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in facts["runs"] if r["migrated"] is not None]
    x = list(range(len(runs)))
    labels = [
        f"{r['environment']}\n{r['started_at']:%m-%d}" if r["started_at"] else r["environment"] for r in runs
    ]
    drawings = {
        "components": lambda ax: (
            ax.plot(x, [r["migrated"] for r in runs], "o-", label="migrated"),
            ax.plot(x, [r["total"] for r in runs], "s--", label="total to migrate"),
        ),
        "quality": lambda ax: (
            ax.plot(x, [r["quality"] or 0 for r in runs], "o-", label="migration quality"),
            ax.axhline(quality_target, color="red", ls="--", label=f"target {quality_target:.0%}"),
        ),
        "time": lambda ax: ax.bar(x, [r["time_spent"] or 0 for r in runs], label="time spent (s)"),
    }
    for name in names:
        fig, ax = plt.subplots(figsize=(7, 3))
        drawings[name](ax)
        ax.set_xticks(x, labels, fontsize=7)
        ax.legend(fontsize=7)
        ax.set_title(name)
        fig.tight_layout()
        yield name, fig
        plt.close(fig)


def charts(facts: dict, quality_target: float, folder: Path) -> list[Path]:
    """Three PNG charts over the runs: migrated against total, quality against target, time spent."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, fig in _figures(facts, quality_target):
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=100)
        out.append(path)
    return out


def inline_svgs(facts: dict, quality_target: float, names: tuple[str, ...]) -> dict[str, str]:
    """The same charts as <svg> markup to embed in a page (the dashboards), by name."""
    import io

    out = {}
    for name, fig in _figures(facts, quality_target, names):
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        text = buf.getvalue()
        out[name] = text[text.index("<svg") :]  # without the XML prolog and doctype
    return out


def weekly_pdf(facts: dict, quality_target: float, path: Path) -> Path:
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table  # type: ignore[import-untyped]

    styles = getSampleStyleSheet()
    path.parent.mkdir(parents=True, exist_ok=True)
    story: list = [Paragraph("altium2kicad: weekly progress", styles["Title"])]
    runs = facts["runs"]
    story.append(Paragraph(f"{len(runs)} run(s), quality target {quality_target:.0%}", styles["Normal"]))
    rows = [["run", "environment", "status", "migrated", "total", "quality", "time (s)"]]
    for r in runs:
        q = "" if r["quality"] is None else f"{r['quality']:.2%}"
        rows.append(
            [
                r["run_id"][:40],
                r["environment"],
                r["status"],
                _n(r["migrated"]),
                str(r["total"]),
                q,
                _n(r["time_spent"]),
            ]
        )
    story += [Spacer(1, 8), Table(rows, repeatRows=1, hAlign="LEFT"), Spacer(1, 8)]
    for png in charts(facts, quality_target, path.parent / "charts"):
        story.append(Image(str(png), width=480, height=206))
    story.append(Paragraph("Open approvals", styles["Heading2"]))
    for r in facts["open_approvals"]:
        whom = ", ".join(r["waiting_for"]) or "anyone with access"
        line = f"{r['dag_id']} {r['run_id']} ({r['environment']}) waits at {r['task']} for {whom}"
        story.append(Paragraph(escape(line), styles["Normal"]))
    if not facts["open_approvals"]:
        story.append(Paragraph("none", styles["Normal"]))
    story.append(Paragraph("Libraries with the most failures", styles["Heading2"]))
    for lib in facts["failing_libraries"]:
        why = "; ".join(lib["reasons"])
        story.append(
            Paragraph(f"{lib['library']}: {lib['failures']} failed ({escape(why)})", styles["Normal"])
        )
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def _n(v) -> str:
    return "" if v is None else f"{v:g}"


def email_body(config, template: str, **facts) -> str:
    """templates/reports/<template>, looked up as the notifications' templates are: a copy in
    notifications.templates_dir wins over the shipped one."""
    import jinja2

    from include.notifications.templates import folders

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders(config)]), autoescape=True
    )
    return env.get_template(f"reports/{template}").render(**facts)
