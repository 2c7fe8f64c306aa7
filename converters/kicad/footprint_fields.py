"""Where a footprint's Reference and Value go when Altium gives no designator or comment text.

KiCad places such fields outside the part (`FOOTPRINT::AutoPositionFields`): the footprint's
bounding box without texts, grown by 0.2 mm, with the Reference centred above it and the Value
centred below it. Fixed positions such as (0, -2) land on the pads of any part larger than a few
millimetres, which is silkscreen over copper on every board that uses the footprint.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

Point = tuple[float, float]

FIELD_GAP = 0.2  # mm between the graphics and the text, as KiCad's AutoPositionFields
FIELD_SIZE = 1.0  # mm: KiCad's default footprint text size (thickness 0.15)
FIELD_THICKNESS = 0.15

# Items this converter makes up (not in the Altium footprint) carry a uuid derived from this
# namespace, the footprint's name and the item's role, so a DRC report can tell our additions
# from what the Altium original already had (include/footprint_drc.py).
GENERATED_NAMESPACE = uuid.UUID("5d3c0a53-2b7e-4d1c-9a4f-a1c2d0e0f001")
GENERATED_ROLES = ("reference", "value", "fab-reference", "courtyard-F.CrtYd", "courtyard-B.CrtYd")


def generated_uuid(footprint_name: str, role: str) -> str:
    return str(uuid.uuid5(GENERATED_NAMESPACE, f"{footprint_name}\n{role}"))


@dataclass
class Extent:
    """A growing axis-aligned bounding box (mm, KiCad's y-down footprint coordinates)."""

    x1: float = float("inf")
    y1: float = float("inf")
    x2: float = float("-inf")
    y2: float = float("-inf")

    @property
    def empty(self) -> bool:
        return self.x1 > self.x2

    def add(self, p: Point, grow: float = 0.0) -> None:
        self.x1, self.y1 = min(self.x1, p[0] - grow), min(self.y1, p[1] - grow)
        self.x2, self.y2 = max(self.x2, p[0] + grow), max(self.y2, p[1] + grow)

    def add_all(self, points, grow: float = 0.0) -> None:
        for p in points:
            self.add(p, grow)

    def merge(self, other: Extent) -> None:
        if not other.empty:
            self.add((other.x1, other.y1))
            self.add((other.x2, other.y2))

    def box(self) -> tuple[float, float, float, float]:
        return (0.0, 0.0, 0.0, 0.0) if self.empty else (self.x1, self.y1, self.x2, self.y2)

    @property
    def center(self) -> Point:
        x1, y1, x2, y2 = self.box()
        return ((x1 + x2) / 2, (y1 + y2) / 2)


def text_corners(text, size: float) -> list[Point]:
    """A generous box around an Altium text (its frame, or lines of about 0.8 x size per
    character above its anchor), turned with the text: enough to keep our fields off it."""
    import math

    if text.frame is not None:
        w, h = text.frame
    else:
        lines = text.text.splitlines() or [""]
        w, h = max(len(line) for line in lines) * size * 0.8, len(lines) * size * 1.6
    x, y = text.position
    a = math.radians(-text.rotation)
    corners = [(0.0, 0.0), (w, 0.0), (w, -h), (0.0, -h)]
    if text.mirrored:
        corners = [(-cx, cy) for cx, cy in corners]
    return [
        (x + cx * math.cos(a) - cy * math.sin(a), y + cx * math.sin(a) + cy * math.cos(a))
        for cx, cy in corners
    ]


def auto_field_positions(extent: Extent, size: float = FIELD_SIZE) -> tuple[Point, Point]:
    """(Reference, Value) anchors, centre-justified: above and below the grown bounding box."""
    if extent.empty:
        return (0.0, -(FIELD_GAP + size / 2)), (0.0, FIELD_GAP + size / 2)
    x1, y1, x2, y2 = extent.box()
    cx = round((x1 + x2) / 2, 6)
    return (cx, round(y1 - FIELD_GAP - size / 2, 6)), (cx, round(y2 + FIELD_GAP + size / 2, 6))


def fab_text_size(extent: Extent) -> float:
    """The `${REFERENCE}` text on the fab layer fits the part, as in KiCad's own libraries
    (about a third of the smaller side, between 0.25 and 1 mm)."""
    if extent.empty:
        return FIELD_SIZE
    x1, y1, x2, y2 = extent.box()
    return round(min(FIELD_SIZE, max(0.25, min(x2 - x1, y2 - y1) / 3)), 2)
