"""Graphic records of a symbol: one small parser per Altium record type.

Each gets the record's KiCad owner (unit and body style; records of a dropped display mode never
reach a parser) and returns the model graphics it became, usually one. What KiCad cannot draw exactly is approximated and said in a note:
ellipses and elliptical arcs become polylines, round rectangles polylines with rounded corners.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..model.symbol import Arc, Bezier, Circle, Fill, Graphic, Owner, Point, Polyline, Rectangle
from .codes import SchRecord
from .records import Properties
from .schlib_common import arc_point, corner, fill, length, location, points, stroke

Notes = list[str]
SEGMENTS_PER_TURN = 72  # polyline approximation of ellipses: one point every 5 degrees


def parse_rectangle(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    return [Rectangle(location(props), corner(props), stroke(props), fill(props), owner)]


def parse_round_rectangle(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    (x1, y1), (x2, y2) = location(props), corner(props)
    xmin, xmax, ymin, ymax = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    rx = min(abs(length(props, "CORNERXRADIUS")), (xmax - xmin) / 2)
    ry = min(abs(length(props, "CORNERYRADIUS")), (ymax - ymin) / 2)
    if rx <= 0 or ry <= 0:
        return [Rectangle((xmin, ymin), (xmax, ymax), stroke(props), fill(props), owner)]
    center = ((xmin + xmax) / 2, (ymin + ymax) / 2)
    if math.isclose(rx, ry) and math.isclose(rx, (xmax - xmin) / 2) and math.isclose(ry, (ymax - ymin) / 2):
        return [Circle(center, rx, stroke(props), fill(props), owner)]  # fully rounded square
    outline: list[Point] = []
    corners = (
        ((xmax - rx, ymax - ry), 0),
        ((xmin + rx, ymax - ry), 90),
        ((xmin + rx, ymin + ry), 180),
        ((xmax - rx, ymin + ry), 270),
    )
    for center, start in corners:
        outline += [arc_point(center, rx, ry, start + step * 10) for step in range(10)]
        outline.append(arc_point(center, rx, ry, start + 90))
    outline.append(outline[0])
    return [Polyline(outline, stroke(props), fill(props), owner)]


def parse_line(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    return [Polyline([location(props), corner(props)], stroke(props), Fill("none"), owner)]


LINE_SHAPES = {1: "arrow", 2: "solid arrow", 3: "tail", 4: "solid tail", 5: "circle", 6: "square"}


def parse_polyline(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    pts = points(props)
    if len(pts) < 2:
        notes.append(f"polyline with {len(pts)} point(s) skipped")
        return []
    ends = [
        LINE_SHAPES.get(props.integer(k), "shape")
        for k in ("STARTLINESHAPE", "ENDLINESHAPE")
        if props.integer(k)
    ]
    if ends:
        notes.append(f"polyline line-end {' and '.join(ends)} not drawn (KiCad lines have no end shapes)")
    return [Polyline(pts, stroke(props), Fill("none"), owner)]


def parse_polygon(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    pts = points(props)
    if len(pts) < 2:
        notes.append(f"polygon with {len(pts)} point(s) skipped")
        return []
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    return [Polyline(pts, stroke(props), fill(props), owner)]


def parse_bezier(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    pts = points(props)
    if len(pts) >= 4 and (len(pts) - 1) % 3 == 0:
        return [Bezier(pts[i : i + 4], stroke(props), Fill("none"), owner) for i in range(0, len(pts) - 1, 3)]
    if len(pts) < 2:
        notes.append(f"bezier with {len(pts)} point(s) skipped")
        return []
    notes.append(f"bezier with {len(pts)} points (not 3n+1) drawn through its points as a polyline")
    return [Polyline(pts, stroke(props), Fill("none"), owner)]


def _radii(props: Properties, elliptical: bool) -> tuple[float, float]:
    rx = length(props, "RADIUS")
    ry = length(props, "SECONDARYRADIUS") if elliptical else rx
    return abs(rx), abs(ry)


def _sweep(start: float, end: float) -> float:
    """Counter-clockwise sweep from start to end; equal angles mean a full turn."""
    sweep = (end - start) % 360.0
    return 360.0 if math.isclose(sweep, 0.0, abs_tol=1e-9) else sweep


def _ellipse_points(center: Point, rx: float, ry: float, start: float, sweep: float) -> list[Point]:
    """Points along an ellipse between two physical angles (Altium measures them on the ellipse)."""

    def parametric(angle: float) -> float:
        a = math.radians(angle)
        return math.degrees(math.atan2(rx * math.sin(a), ry * math.cos(a)))

    t0 = parametric(start)
    t1 = t0 + 360.0 if sweep >= 360.0 else t0 + (parametric(start + sweep) - t0) % 360.0
    steps = max(4, int(math.ceil(abs(t1 - t0) / (360.0 / SEGMENTS_PER_TURN))))
    return [arc_point(center, rx, ry, t0 + (t1 - t0) * i / steps) for i in range(steps + 1)]


def _ellipse_beziers(center: Point, rx: float, ry: float, start: float, sweep: float) -> list[list[Point]]:
    """Cubic Bezier segments (at most 90 degrees each) along an ellipse: the circle's standard
    approximation (error below 0.03 %) stretched to the two radii."""

    def parametric(angle: float) -> float:
        a = math.radians(angle)
        return math.degrees(math.atan2(rx * math.sin(a), ry * math.cos(a)))

    t0 = parametric(start)
    total = 360.0 if sweep >= 360.0 else (parametric(start + sweep) - t0) % 360.0
    count = max(1, int(math.ceil(total / 90.0 - 1e-9)))
    step = math.radians(total / count)
    k = 4.0 / 3.0 * math.tan(step / 4.0)
    segments = []
    for i in range(count):
        a0 = math.radians(t0) + i * step
        a1 = a0 + step
        p0 = (math.cos(a0), math.sin(a0))
        p3 = (math.cos(a1), math.sin(a1))
        p1 = (p0[0] - k * p0[1], p0[1] + k * p0[0])
        p2 = (p3[0] + k * p3[1], p3[1] - k * p3[0])
        segments.append([(center[0] + rx * x, center[1] + ry * y) for x, y in (p0, p1, p2, p3)])
    return segments


def _arc_or_circle(props: Properties, owner: Owner, notes: Notes, elliptical: bool) -> list[Graphic]:
    center = location(props)
    rx, ry = _radii(props, elliptical)
    start, end = props.number("STARTANGLE"), props.number("ENDANGLE")
    sweep = _sweep(start, end)
    if rx <= 0 or ry <= 0:
        notes.append("arc with zero radius skipped")
        return []
    if math.isclose(rx, ry, rel_tol=1e-9):
        if sweep >= 360.0:
            return [Circle(center, rx, stroke(props), Fill("none"), owner)]
        return [
            Arc(
                arc_point(center, rx, rx, start),
                arc_point(center, rx, rx, start + sweep / 2),
                arc_point(center, rx, rx, start + sweep),
                stroke(props),
                Fill("none"),
                owner,
            )
        ]
    notes.append("elliptical arc drawn as Bezier curves (KiCad has no ellipses)")
    return [
        Bezier(seg, stroke(props), Fill("none"), owner)
        for seg in _ellipse_beziers(center, rx, ry, start, sweep)
    ]


def parse_arc(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    return _arc_or_circle(props, owner, notes, elliptical=False)


def parse_elliptical_arc(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    return _arc_or_circle(props, owner, notes, elliptical=True)


def parse_ellipse(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    center = location(props)
    rx, ry = _radii(props, elliptical=True)
    if rx <= 0 and ry <= 0:
        notes.append("ellipse with zero radius skipped")
        return []
    if math.isclose(rx, ry, rel_tol=1e-9):
        return [Circle(center, rx, stroke(props), fill(props), owner)]
    area = fill(props)
    if area.kind == "none":
        notes.append("ellipse drawn as Bezier curves (KiCad has no ellipses)")
        return [
            Bezier(seg, stroke(props), area, owner) for seg in _ellipse_beziers(center, rx, ry, 0.0, 360.0)
        ]
    # a filled outline must be one shape: a fine polyline
    notes.append("filled ellipse approximated by a polyline (KiCad has no ellipses)")
    return [Polyline(_ellipse_points(center, rx, ry, 0.0, 360.0), stroke(props), area, owner)]


def parse_pie(props: Properties, owner: Owner, notes: Notes) -> list[Graphic]:
    """A pie slice: the arc closed through its centre, filled as Altium fills it."""
    center = location(props)
    r = abs(length(props, "RADIUS"))
    if r <= 0:
        notes.append("pie with zero radius skipped")
        return []
    start, sweep = props.number("STARTANGLE"), _sweep(props.number("STARTANGLE"), props.number("ENDANGLE"))
    if sweep >= 360.0:
        return [Circle(center, r, stroke(props), fill(props), owner)]
    outline = [center] + _ellipse_points(center, r, r, start, sweep) + [center]
    return [Polyline(outline, stroke(props), fill(props), owner)]


ShapeParser = Callable[[Properties, Owner, Notes], list[Graphic]]

SHAPE_PARSERS: dict[int, ShapeParser] = {
    SchRecord.BEZIER: parse_bezier,
    SchRecord.POLYLINE: parse_polyline,
    SchRecord.POLYGON: parse_polygon,
    SchRecord.ELLIPSE: parse_ellipse,
    SchRecord.PIE: parse_pie,
    SchRecord.ROUND_RECTANGLE: parse_round_rectangle,
    SchRecord.ELLIPTICAL_ARC: parse_elliptical_arc,
    SchRecord.ARC: parse_arc,
    SchRecord.LINE: parse_line,
    SchRecord.RECTANGLE: parse_rectangle,
}
