"""Courtyard outlines KiCad accepts: Altium's pieces joined into closed loops, or a generated one.

KiCad builds a footprint's courtyard by chaining the shapes on F/B.CrtYd into closed polygons
(`FOOTPRINT::BuildCourtyardCaches`); one open end makes the whole courtyard "malformed" in DRC on
every board that uses the footprint. Altium draws courtyards as loose lines and arcs whose ends
often miss each other by a rounding step, so the pieces are chained here within a tolerance and
their ends snapped together; what still does not close is moved off the courtyard layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

Point = tuple[float, float]

JOIN_TOLERANCE = 0.05  # mm: ends closer than this are the same corner
CLEARANCE = 0.25  # mm: KiCad's library convention (KLC F5.3) around pads and body
GRID = 0.01  # mm: generated courtyards sit on KiCad's 0.01 mm courtyard grid


@dataclass(frozen=True)
class Piece:
    """One courtyard stroke: a segment (mid is None), an arc through `mid`, or a whole circle
    (`start` is its centre and `end` a point on it; always closed by itself)."""

    start: Point
    end: Point
    mid: Point | None = None
    circle: bool = False
    width: float = 0.05

    def reversed(self) -> Piece:
        return self if self.circle else replace(self, start=self.end, end=self.start)


@dataclass
class Courtyard:
    loops: list[list[Piece]]  # closed outlines, ends snapped exactly
    open_pieces: list[Piece]  # what could not be closed (to move off the courtyard layer)


def _close(a: Point, b: Point, tol: float) -> bool:
    return math.hypot(a[0] - b[0], a[1] - b[1]) <= tol


def chain(pieces: list[Piece], tol: float = JOIN_TOLERANCE) -> Courtyard:
    """Joins pieces end to end into closed loops (greedy, in input order, so output is stable)."""
    loops: list[list[Piece]] = [[p] for p in pieces if p.circle]
    remaining = [p for p in pieces if not p.circle and not _close(p.start, p.end, 1e-9)]
    open_pieces: list[Piece] = []
    while remaining:
        loop = [remaining.pop(0)]
        while not _close(loop[-1].end, loop[0].start, tol) or len(loop) == 1:
            tail = loop[-1].end
            k = next(
                (
                    i
                    for i, p in enumerate(remaining)
                    if _close(p.start, tail, tol) or _close(p.end, tail, tol)
                ),
                None,
            )
            if k is None:
                break
            nxt = remaining.pop(k)
            loop.append(nxt if _close(nxt.start, tail, tol) else nxt.reversed())
        closed = len(loop) > 1 and _close(loop[-1].end, loop[0].start, tol)
        if closed:
            loops.append(_snap(loop))
        else:
            open_pieces += loop
    return Courtyard(loops, open_pieces)


def _snap(loop: list[Piece]) -> list[Piece]:
    """Each piece starts exactly where the one before it ends (the earlier end wins)."""
    snapped = [loop[0]]
    for piece in loop[1:]:
        snapped.append(replace(piece, start=snapped[-1].end))
    snapped[-1] = replace(snapped[-1], end=snapped[0].start)
    return snapped


def generated_rectangle(bbox: tuple[float, float, float, float]) -> tuple[Point, Point]:
    """The courtyard KiCad's conventions give a part: its pads and body plus 0.25 mm, on the grid."""
    x1, y1, x2, y2 = bbox

    def out(v: float, up: bool) -> float:
        steps = v / GRID
        return round((math.ceil(steps - 1e-6) if up else math.floor(steps + 1e-6)) * GRID, 6)

    return (out(x1 - CLEARANCE, False), out(y1 - CLEARANCE, False)), (
        out(x2 + CLEARANCE, True),
        out(y2 + CLEARANCE, True),
    )
