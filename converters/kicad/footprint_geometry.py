"""Plane geometry the footprint writer needs: arc points, stroked outlines, keyhole fracturing and a
small polygon overlap test (pads that touch share a number in KiCad)."""

from __future__ import annotations

import math

Point = tuple[float, float]


def r6(v: float) -> float:
    return round(v, 6) + 0.0


def arc_point(center: Point, radius: float, angle: float) -> Point:
    """Point on a circle at an Altium angle (counter-clockwise on the board), in KiCad's Y-down axes."""
    a = math.radians(angle)
    return (r6(center[0] + radius * math.cos(a)), r6(center[1] - radius * math.sin(a)))


def rotate(p: Point, about: Point, degrees: float) -> Point:
    """Rotates counter-clockwise as seen on screen (KiCad's Y-down axes, Altium's sense)."""
    a = math.radians(degrees)
    dx, dy = p[0] - about[0], p[1] - about[1]
    return (
        r6(about[0] + dx * math.cos(a) + dy * math.sin(a)),
        r6(about[1] - dx * math.sin(a) + dy * math.cos(a)),
    )


def circle_polygon(center: Point, radius: float, segments: int = 32) -> list[Point]:
    return [arc_point(center, radius, 360.0 * i / segments) for i in range(segments)]


def stroke_segment(a: Point, b: Point, width: float, segments: int = 8) -> list[Point]:
    """Outline of a round-ended stroke from a to b."""
    r = width / 2
    if r <= 0:
        return [a, b]
    angle = math.degrees(math.atan2(-(b[1] - a[1]), b[0] - a[0]))
    pts = [arc_point(b, r, angle - 90 + 180 * i / segments) for i in range(segments + 1)]
    pts += [arc_point(a, r, angle + 90 + 180 * i / segments) for i in range(segments + 1)]
    return pts


def stroke_arc(center: Point, radius: float, start: float, sweep: float, width: float) -> list[Point]:
    """Outline of a stroked arc (ring sector with round ends)."""
    steps = max(4, int(abs(sweep) / 10))
    r_out, r_in = radius + width / 2, max(radius - width / 2, 0.0)
    outer = [arc_point(center, r_out, start + sweep * i / steps) for i in range(steps + 1)]
    inner = [arc_point(center, r_in, start + sweep * i / steps) for i in range(steps, -1, -1)]
    return outer + inner


def fracture(outline: list[Point], holes: list[list[Point]]) -> list[Point]:
    """One polygon from an outline and its holes, joined by zero-width keyhole bridges."""
    result = list(outline)
    for hole in holes:
        if len(hole) < 3:
            continue
        h0 = hole[0]
        k = min(range(len(result)), key=lambda i: (result[i][0] - h0[0]) ** 2 + (result[i][1] - h0[1]) ** 2)
        result = result[: k + 1] + list(hole) + [h0, result[k]] + result[k + 1 :]
    return result


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    def orient(a, b, c):
        v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return 0 if abs(v) < 1e-12 else (1 if v > 0 else -1)

    def on(a, b, c):
        return (
            min(a[0], b[0]) - 1e-9 <= c[0] <= max(a[0], b[0]) + 1e-9
            and min(a[1], b[1]) - 1e-9 <= c[1] <= max(a[1], b[1]) + 1e-9
        )

    o1, o2, o3, o4 = orient(p1, p2, q1), orient(p1, p2, q2), orient(q1, q2, p1), orient(q1, q2, p2)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and on(p1, p2, q1))
        or (o2 == 0 and on(p1, p2, q2))
        or (o3 == 0 and on(q1, q2, p1))
        or (o4 == 0 and on(q1, q2, p2))
    )


def _inside(p: Point, poly: list[Point]) -> bool:
    inside = False
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        if (a[1] > p[1]) != (b[1] > p[1]):
            x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if x > p[0]:
                inside = not inside
    return inside


def polygons_overlap(a: list[Point], b: list[Point]) -> bool:
    if len(a) < 3 or len(b) < 3:
        return False
    ax = [p[0] for p in a]
    ay = [p[1] for p in a]
    bx = [p[0] for p in b]
    by = [p[1] for p in b]
    if max(ax) < min(bx) or max(bx) < min(ax) or max(ay) < min(by) or max(by) < min(ay):
        return False
    if _inside(a[0], b) or _inside(b[0], a):
        return True
    return any(
        _segments_cross(a[i], a[(i + 1) % len(a)], b[j], b[(j + 1) % len(b)])
        for i in range(len(a))
        for j in range(len(b))
    )
