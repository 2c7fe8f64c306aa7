"""The neutral symbol model between the Altium reader and the KiCad writer.

Everything is already in KiCad's terms of measurement: millimetres, Y pointing up (as in
.kicad_sym files), angles in degrees counter-clockwise. The reader converts Altium's units once;
the writer only formats. Each item says which unit (part) and body style it belongs to:
0 means "all units" / "all body styles", as in KiCad.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..problems import ItemFailure

Point = tuple[float, float]
Color = tuple[int, int, int, float]  # red, green, blue 0-255, alpha 0-1


@dataclass
class Stroke:
    width: float = 0.0  # 0: KiCad's default line width
    style: str = "default"  # default, solid, dash, dot, dash_dot
    color: Color | None = None  # None: the theme's colour


@dataclass
class Fill:
    kind: str = "none"  # none, outline (stroke colour), background (body colour), color
    color: Color | None = None  # only for kind "color"


@dataclass
class TextStyle:
    size: float = 1.27  # glyph height and width, mm
    bold: bool = False
    italic: bool = False
    angle: int = 0  # 0 or 90 (KiCad symbol text is never upside down)
    h_justify: str = "left"  # left, center, right
    v_justify: str = "bottom"  # bottom, center, top
    color: Color | None = None


@dataclass
class Owner:
    """Which unit and body style an item belongs to (0: shared by all)."""

    unit: int = 0
    body_style: int = 0


@dataclass
class Rectangle:
    start: Point
    end: Point
    stroke: Stroke = field(default_factory=Stroke)
    fill: Fill = field(default_factory=Fill)
    owner: Owner = field(default_factory=Owner)


@dataclass
class Polyline:
    points: list[Point]
    stroke: Stroke = field(default_factory=Stroke)
    fill: Fill = field(default_factory=Fill)
    owner: Owner = field(default_factory=Owner)


@dataclass
class Arc:
    """A circular arc through start, mid and end (counter-clockwise from start to end)."""

    start: Point
    mid: Point
    end: Point
    stroke: Stroke = field(default_factory=Stroke)
    fill: Fill = field(default_factory=Fill)
    owner: Owner = field(default_factory=Owner)


@dataclass
class Circle:
    center: Point
    radius: float
    stroke: Stroke = field(default_factory=Stroke)
    fill: Fill = field(default_factory=Fill)
    owner: Owner = field(default_factory=Owner)


@dataclass
class Bezier:
    """One cubic Bezier segment: start, two control points, end."""

    points: list[Point]
    stroke: Stroke = field(default_factory=Stroke)
    fill: Fill = field(default_factory=Fill)
    owner: Owner = field(default_factory=Owner)


@dataclass
class Text:
    text: str
    position: Point
    style: TextStyle = field(default_factory=TextStyle)
    owner: Owner = field(default_factory=Owner)


@dataclass
class TextBox:
    text: str
    top_left: Point
    size: Point  # width, height (positive)
    margin: float = 0.0
    stroke: Stroke | None = None  # None: no border
    fill: Fill = field(default_factory=Fill)
    style: TextStyle = field(default_factory=TextStyle)
    owner: Owner = field(default_factory=Owner)


Graphic = Union[Rectangle, Polyline, Arc, Circle, Bezier, Text, TextBox]

ELECTRICAL_TYPES = (
    "input",
    "output",
    "bidirectional",
    "tri_state",
    "passive",
    "free",
    "unspecified",
    "power_in",
    "power_out",
    "open_collector",
    "open_emitter",
    "no_connect",
)
PIN_SHAPES = (
    "line",
    "inverted",
    "clock",
    "inverted_clock",
    "input_low",
    "clock_low",
    "output_low",
    "edge_clock_high",
    "non_logic",
)


@dataclass
class Pin:
    number: str
    name: str
    position: Point  # the connection point (KiCad's pin "at")
    angle: int  # 0, 90, 180, 270: direction from the connection point to the body
    length: float
    electrical: str = "passive"
    shape: str = "line"
    hidden: bool = False
    name_visible: bool = True
    number_visible: bool = True
    name_size: float = 1.27
    number_size: float = 1.27
    owner: Owner = field(default_factory=Owner)


@dataclass
class Field:
    """A symbol property: Reference, Value, Footprint, Datasheet, Description or a user field."""

    name: str
    value: str
    position: Point = (0.0, 0.0)
    style: TextStyle = field(default_factory=TextStyle)
    hidden: bool = False


@dataclass
class Implementation:
    """A model linked to the symbol (Altium implementation): footprint, simulation, 3D, signal integrity."""

    kind: str  # Altium MODELTYPE: PCBLIB, SIM, PCB3DLIB, SI
    name: str  # model name (for PCBLIB: the footprint name)
    library: str = ""  # library file named by the link, if any
    description: str = ""
    current: bool = False  # the default footprint among several
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class Symbol:
    name: str  # Altium LibReference
    description: str = ""
    unit_count: int = 1
    body_styles: int = 1  # 2: a De Morgan alternate exists
    fields: list[Field] = field(default_factory=list)
    pins: list[Pin] = field(default_factory=list)
    graphics: list[Graphic] = field(default_factory=list)
    implementations: list[Implementation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def get_field(self, name: str) -> Field | None:
        folded = name.casefold()
        return next((f for f in self.fields if f.name.casefold() == folded), None)

    @property
    def footprints(self) -> list[Implementation]:
        """Footprint links, the current one first."""
        links = [i for i in self.implementations if i.kind.upper() == "PCBLIB"]
        return sorted(links, key=lambda i: not i.current)

    @property
    def footprint_model(self) -> str:
        """Altium's name of the default footprint ('' when none is linked)."""
        links = self.footprints
        return links[0].name if links else ""


@dataclass
class SymbolLibrary:
    name: str
    source: str
    symbols: list[Symbol] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)
    # what the file's own header or directory says it holds but no item accounts for (a damaged
    # file): each becomes a failed library row, so a library never vanishes silently
    losses: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
