"""Silkscreen trimmed where it would print on a pad's solder-mask opening.

Board houses clip silkscreen at mask openings, and KiCad's DRC reports every silk stroke that
enters one ("silk_over_copper") on each board that uses the footprint. Altium libraries often
draw outlines that touch the pads once the (rule-based) mask expansion is made explicit, so the
strokes are cut back to what would really be printed. Geometry by shapely (GEOS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Point = tuple[float, float]
MIN_PIECE = 0.01  # mm: shorter leftovers are dropped
ARC_STEP = 5.0  # degrees per segment when an arc has to be cut


@dataclass
class MaskOpenings:
    """Solder-mask openings of one side, as polygons (mm)."""

    polygons: list = field(default_factory=list)
    _union: object = None

    def add(self, outline: list[Point], expansion: float) -> None:
        from shapely.geometry import Polygon

        if len(outline) >= 3:
            shape = Polygon(outline).buffer(0)
            self.polygons.append(shape.buffer(expansion) if expansion > 0 else shape)
            self._union = None

    def union(self):
        if self._union is None and self.polygons:
            from shapely.ops import unary_union

            self._union = unary_union(self.polygons)
        return self._union


def trim_polyline(points: list[Point], width: float, openings: MaskOpenings) -> list[list[Point]] | None:
    """The polyline's parts that stay clear of every opening (stroke width included), or None when
    it is already clear."""
    union = openings.union()
    if union is None:
        return None
    from shapely.geometry import LineString

    line = LineString(points)
    keep_out = union.buffer(width / 2, quad_segs=8)
    if not line.intersects(keep_out):
        return None
    rest = line.difference(keep_out)
    parts = getattr(rest, "geoms", [rest])
    return [
        [(round(x, 6), round(y, 6)) for x, y in part.coords]
        for part in parts
        if not part.is_empty and part.length >= max(MIN_PIECE, width / 2)
    ]


def arc_polyline(center: Point, radius: float, start_angle: float, sweep: float) -> list[Point]:
    """The arc as a polyline (y down, Altium's counter-clockwise angles)."""
    steps = max(2, math.ceil(abs(sweep) / ARC_STEP))
    return [
        (
            center[0] + radius * math.cos(math.radians(start_angle + sweep * k / steps)),
            center[1] - radius * math.sin(math.radians(start_angle + sweep * k / steps)),
        )
        for k in range(steps + 1)
    ]
