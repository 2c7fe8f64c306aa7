"""The catalogue as one PDF (ReportLab): a summary, then each library with every item's picture
and facts. Pictures are the HTML pages' SVGs rasterized by CairoSVG (already a dependency) since
ReportLab draws no SVG itself."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from xml.sax.saxutils import escape  # ReportLab paragraphs are XML markup

from .facts import CatalogueItem, VersionFacts

log = logging.getLogger(__name__)
PICTURE_PT = 130.0  # widest picture in the PDF, points
_SIZE = re.compile(r'<svg[^>]*?\swidth="([0-9.]+)"[^>]*?\sheight="([0-9.]+)"', re.S)


def _png(svg: str, rasterized: dict[str, bytes | None]) -> bytes | None:
    """The SVG as PNG, once per distinct picture: CairoSVG takes about 40 ms a picture, and the
    same drawing recurs across libraries (a SchLib and the IntLib built from it)."""
    if svg not in rasterized:
        import cairosvg  # type: ignore[import-untyped]

        try:
            rasterized[svg] = cairosvg.svg2png(
                bytestring=svg.split("<br>")[0].encode(), scale=2.0, background_color="white"
            )
        except Exception as exc:  # a picture that cannot be drawn costs only itself
            log.warning("picture not rasterized: %s", exc)
            rasterized[svg] = None
    return rasterized[svg]


def _picture(svg: str, rasterized: dict[str, bytes | None]):
    """A ReportLab Image of an SVG picture, at most PICTURE_PT wide (None when it cannot be drawn)."""
    if not svg:
        return None
    from reportlab.platypus import Image  # type: ignore[import-untyped]

    png = _png(svg, rasterized)
    if png is None:
        return None
    size = _SIZE.search(svg)
    width, height = (float(size.group(1)), float(size.group(2))) if size else (200.0, 200.0)
    scale = min(1.0, PICTURE_PT / max(width, height)) * 0.75  # px to pt, then the limit
    return Image(io.BytesIO(png), width=width * scale, height=height * scale)


def _facts_text(item: CatalogueItem) -> str:
    lines = [f"<b>{escape(item.name)}</b>" + (f"  {escape(item.value)}" if item.value != item.name else "")]
    lines += [f"{escape(k)}: {escape(v)}" for k, v in item.fields.items() if v and k != "Value"]
    lines.append(f"{'Pins' if item.kind == 'symbol' else 'Pads'}: {item.pins}")
    if item.kind == "footprint":
        model = "none" if not item.models else ("missing" if item.missing_models else "present")
        lines.append(f"3D model: {model}")
    origin = item.origin
    if origin.source_file:
        lines.append(f"From Altium: {escape(origin.source_item)} in {escape(origin.source_file)}")
    lines.append(f"Conversion: {escape(origin.status)}")
    lines += [f"Approximated: {escape(m)}" for m in origin.approximations]
    return "<br/>".join(lines)


def write_pdf(facts: VersionFacts, path: Path, pictures_up_to: int | None = None) -> Path:
    """The PDF; with more items than `pictures_up_to`, every item is listed without its picture
    (rasterizing costs about 40 ms a picture: a large library would outlast the deploy task)."""
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    story: list = [
        Paragraph("KiCad library catalogue", styles["Title"]),
        Paragraph(
            f"Environment {escape(facts.environment)}, version {escape(facts.version)}, "
            f"generated {escape(facts.generated_at)}",
            styles["Normal"],
        ),
        Spacer(1, 8),
        Table([[k.replace("_", " "), str(n)] for k, n in facts.counts().items()], hAlign="LEFT"),
        Spacer(1, 8),
        Table(
            [["library", "kind", "items", "approximated"]]
            + [[lib.name, lib.kind, str(len(lib.items)), str(lib.approximated)] for lib in facts.libraries],
            hAlign="LEFT",
            repeatRows=1,
        ),
    ]
    items = len(facts.items())
    pictures = pictures_up_to is None or items <= pictures_up_to
    if not pictures:
        story += [
            Spacer(1, 8),
            Paragraph(
                f"Pictures left out: {items} items, more than documentation.pdf_pictures_up_to "
                f"({pictures_up_to}). The HTML catalogue shows every picture.",
                styles["Normal"],
            ),
        ]
    grid = TableStyle(
        [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]
    )
    rasterized: dict[str, bytes | None] = {}
    for lib in facts.libraries:
        story += [PageBreak(), Paragraph(f"{escape(lib.name)} ({lib.kind} library)", styles["Heading1"])]
        rows = [
            [
                (_picture(item.picture, rasterized) if pictures else None) or "",
                Paragraph(_facts_text(item), small),
            ]
            for item in lib.items
        ]
        if rows:
            widths = [PICTURE_PT + 12 if pictures else 0, None]
            story.append(Table(rows, colWidths=widths, style=grid, hAlign="LEFT"))
        else:
            story.append(Paragraph("(no items)", styles["Normal"]))

    def footer(canvas, doc) -> None:
        canvas.setFont("Helvetica", 7)
        canvas.drawString(40, 20, f"{facts.environment} {facts.version}  -  page {doc.page}")

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=f"KiCad library catalogue {facts.version}")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return path
