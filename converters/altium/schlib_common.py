"""Shared pieces of the SchLib record parsers: units, colours, strokes, fills, fonts, owners.

Units are converted here and only here: Altium schematic coordinates are integers in 10-mil
units plus `_FRAC` parts of 1/100000 unit; KiCad symbol files take millimetres with Y up, as
Altium's Y, so nothing is flipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..model.symbol import Color, Fill, Owner, Point, Stroke, TextStyle
from .records import Properties

UNIT_MM = 0.254  # one Altium schematic unit (10 mil)
FRAC = 100000  # _FRAC parts per unit

# Altium's defaults for new objects: left to KiCad's theme rather than pinned as explicit colours.
ALTIUM_BLUE = 0xFF0000  # BGR: lines, arcs, polygons...
ALTIUM_DARK_RED = 0x000080  # rectangle and component border
ALTIUM_BODY_YELLOW = 11599871  # #FFFFB0, the default body fill: KiCad's "background" fill
ALTIUM_NAVY = 0x800000  # text, designators, parameters
DEFAULT_STROKE_COLORS = {ALTIUM_BLUE, ALTIUM_DARK_RED}
DEFAULT_TEXT_COLORS = {0, ALTIUM_NAVY, ALTIUM_DARK_RED, ALTIUM_BLUE}

# LINEWIDTH is an enumeration (smallest, small, medium, large); widths per python-altium's
# format.md: 4, 10, 20, 40 mil. Small (10 mil) is also the fixed width Altium draws pins with;
# KiCad draws pins at its default line width (0), so small lines get that default too and keep
# the weight of the pins beside them, as KiCad's importer does.
LINE_WIDTHS_MM = (0.1016, 0.0, 0.508, 1.016)
LINE_STYLES = {0: "solid", 1: "dash", 2: "dot", 3: "dash_dot"}

# Altium's font sizes are points on a sheet where a 10 pt font takes 100 mil of line spacing and
# has an em of about 87.5 mil (python-altium's format.md); KiCad's text size is about the cap
# height, ~0.66 em. So 1 pt -> 8.75 mil * 0.66 ~ 0.147 mm.
POINT_TO_KICAD_MM = 8.75 * 0.0254 * 0.66
DEFAULT_TEXT_MM = 1.27


def to_mm(value: int | float, frac: int | float = 0) -> float:
    return (value + frac / FRAC) * UNIT_MM


def length(props: Properties, key: str) -> float:
    """A coordinate or size stored as KEY plus KEY_FRAC."""
    return to_mm(props.integer(key), props.integer(key + "_FRAC"))


def point(props: Properties, x_key: str, y_key: str) -> Point:
    return (length(props, x_key), length(props, y_key))


def location(props: Properties) -> Point:
    return point(props, "LOCATION.X", "LOCATION.Y")


def corner(props: Properties) -> Point:
    return point(props, "CORNER.X", "CORNER.Y")


def points(props: Properties) -> list[Point]:
    """X1/Y1... points, including Altium's EXTRALOCATIONCOUNT continuation (EX51/EY51...)."""
    count = props.integer("LOCATIONCOUNT")
    out = [point(props, f"X{i}", f"Y{i}") for i in range(1, count + 1)]
    extra = props.integer("EXTRALOCATIONCOUNT")
    out += [point(props, f"EX{i}", f"EY{i}") for i in range(count + 1, count + extra + 1)]
    return out


def color(bgr: int) -> Color:
    """Altium's Delphi TColor (0x00BBGGRR) as KiCad RGBA."""
    return (bgr & 0xFF, (bgr >> 8) & 0xFF, (bgr >> 16) & 0xFF, 1.0)


def stroke(props: Properties, default_width: int = 0) -> Stroke:
    width_index = props.integer("LINEWIDTH", default_width)
    width = LINE_WIDTHS_MM[min(max(width_index, 0), 3)]
    style = LINE_STYLES.get(props.integer("LINESTYLE", props.integer("LINESTYLEEXT")), "solid")
    raw = props.integer("COLOR")
    return Stroke(
        width=width,
        style="default" if style == "solid" else style,
        color=None if raw in DEFAULT_STROKE_COLORS else color(raw),
    )


def fill(props: Properties) -> Fill:
    """ISSOLID decides whether it is filled; the colour decides which KiCad fill it is."""
    if not props.boolean("ISSOLID"):
        return Fill("none")
    area = props.integer("AREACOLOR")
    if area == props.integer("COLOR") and "COLOR" in props:
        return Fill("outline")
    if area == ALTIUM_BODY_YELLOW:
        return Fill("background")
    r, g, b, _ = color(area)
    return Fill("color", (r, g, b, 0.5 if props.boolean("TRANSPARENT") else 1.0))


@dataclass
class Font:
    size: float = DEFAULT_TEXT_MM
    bold: bool = False
    italic: bool = False
    name: str = ""
    points: float = 10.0  # Altium's size; pin text is scaled from it (schlib_pins.pin_text_size)


@dataclass
class SymbolContext:
    """What the record parsers of one symbol need besides the record: fonts and mode mapping."""

    fonts: list[Font] = field(default_factory=list)
    display_modes: int = 1
    warnings: list[str] = field(default_factory=list)

    def font(self, font_id: int) -> Font:
        if 1 <= font_id <= len(self.fonts):
            return self.fonts[font_id - 1]
        return Font()

    def owner(self, props: Properties) -> Owner | None:
        """The KiCad unit and body style of a record, or None when its display mode is dropped."""
        part = props.integer("OWNERPARTID", -1)
        mode = props.integer("OWNERPARTDISPLAYMODE", 0)
        if self.display_modes <= 1 and mode == 0:
            style = 0
        elif mode in (0, 1):
            style = mode + 1
        else:
            return None
        return Owner(unit=max(part, 0), body_style=style)

    def text_style(self, props: Properties, h: str = "left", v: str = "bottom") -> TextStyle:
        font = self.font(props.integer("FONTID", 1))
        raw = props.integer("COLOR")
        return TextStyle(
            size=font.size,
            bold=font.bold,
            italic=font.italic,
            h_justify=h,
            v_justify=v,
            color=None if raw in DEFAULT_TEXT_COLORS or "COLOR" not in props else color(raw),
        )


def arc_point(center: Point, rx: float, ry: float, degrees: float) -> Point:
    a = math.radians(degrees)
    return (center[0] + rx * math.cos(a), center[1] + ry * math.sin(a))
