"""The neutral footprint model: what a PcbLib holds, in millimetres, KiCad's axes (Y down).

Readers fill it (units converted once, at their edge); writers turn it into KiCad text. Layers stay
Altium's own (`LayerRef`: number, name, mechanical kind) because which KiCad layer they become is the
writer's decision (default map, overridden by the user's mapping file). Angles are degrees,
counter-clockwise as seen on the board, as Altium stores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum

from ..problems import ItemFailure

Point = tuple[float, float]


@dataclass(frozen=True)
class LayerRef:
    """An Altium layer: its number (1 Top ... 32 Bottom, 33 Top Overlay ... 57-72 Mechanical 1-16,
    74 Multi-Layer; mechanical layers above 16 are numbered 1000 + n), its name and its mechanical
    kind ("CourtyardTop", "AssemblyBottom"...) as the library declares them."""

    number: int
    name: str = ""
    kind: str = ""


class PadShape(str, Enum):
    ROUND = "round"  # circle, or oval when the size is not square
    RECT = "rect"
    OCTAGONAL = "octagonal"
    ROUNDRECT = "roundrect"
    UNKNOWN = "unknown"


class HoleShape(str, Enum):
    ROUND = "round"
    SQUARE = "square"
    SLOT = "slot"


class ExpansionMode(str, Enum):
    NONE = "none"  # no opening at all
    RULE = "rule"  # from the design rule (the library's default made explicit by the reader)
    MANUAL = "manual"


@dataclass
class CopperShape:
    """Pad copper on one layer (or layer group)."""

    shape: PadShape
    size: Point
    corner_ratio: float = 0.0  # roundrect: radius / min(size)
    offset: Point = (0.0, 0.0)  # hole offset relative to the pad centre


@dataclass
class Hole:
    diameter: float
    shape: HoleShape = HoleShape.ROUND
    slot_length: float = 0.0
    slot_rotation: float = 0.0  # degrees relative to the pad
    plated: bool = True


@dataclass
class Pad:
    number: str
    position: Point
    rotation: float
    layer: LayerRef  # Top / Bottom / Multi-Layer / other
    copper: dict[str, CopperShape]  # "top", "mid", "bottom", or "inner1".."inner30"
    stack_mode: str = "simple"  # simple | top_mid_bottom | full_stack
    hole: Hole | None = None
    mask_mode: ExpansionMode = ExpansionMode.RULE
    mask_expansion: float = 0.0
    paste_mode: ExpansionMode = ExpansionMode.RULE
    paste_expansion: float = 0.0
    tented_top: bool = False
    tented_bottom: bool = False
    custom_outline: list[Point] | None = None  # copper polygon (absolute) of a custom pad
    custom_holes: list[list[Point]] = field(default_factory=list)
    from_layer: LayerRef | None = None
    to_layer: LayerRef | None = None


@dataclass
class Via:
    position: Point
    diameter: float
    hole: float
    start_layer: LayerRef
    end_layer: LayerRef
    tented_top: bool = False
    tented_bottom: bool = False


@dataclass
class Line:
    start: Point
    end: Point
    width: float
    layer: LayerRef
    keepout: bool = False
    keepout_restrictions: int = 0


@dataclass
class Arc:
    center: Point
    radius: float
    start_angle: float
    end_angle: float
    width: float
    layer: LayerRef
    keepout: bool = False
    keepout_restrictions: int = 0

    @property
    def is_circle(self) -> bool:
        return (self.end_angle - self.start_angle) % 360 == 0 and self.end_angle != self.start_angle


@dataclass
class Text:
    text: str
    position: Point
    height: float
    rotation: float
    stroke_width: float
    layer: LayerRef
    role: str = "text"  # text | designator | comment
    mirrored: bool = False
    bold: bool = False
    italic: bool = False
    truetype: bool = False
    font_name: str = ""
    barcode: bool = False
    inverted: bool = False
    frame: Point | None = None  # text frame size (width, height)
    justification: int = 3  # Altium position code: 1..9, 3 = left bottom


@dataclass
class Fill:
    corner1: Point
    corner2: Point
    rotation: float
    layer: LayerRef
    keepout: bool = False
    keepout_restrictions: int = 0


@dataclass
class Region:
    outline: list[Point]
    holes: list[list[Point]]
    layer: LayerRef
    kind: str = "copper"  # copper | cutout | dashed | cavity | board_cutout | unknown
    keepout: bool = False
    keepout_restrictions: int = 0x1F
    mask_mode: ExpansionMode | None = None  # from ExtendedPrimitiveInformation
    mask_expansion: float = 0.0
    paste_mode: ExpansionMode | None = None
    paste_expansion: float = 0.0


STEP_MAGIC = b"ISO-10303-21"


def looks_like_step(head: bytes) -> bool:
    """Whether a file's first bytes are a STEP (ISO 10303-21) header."""
    return head.lstrip()[: len(STEP_MAGIC)].upper() == STEP_MAGIC


@dataclass
class EmbeddedModel:
    """A 3D model stored in the library (`Library/Models/<n>`), already decompressed."""

    id: str
    name: str
    data: bytes
    rotation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    dz: float = 0.0

    @property
    def is_step(self) -> bool:
        return looks_like_step(self.data)


class BodyModelType(IntEnum):
    """MODEL.MODELTYPE of a 3D body: a shape Altium describes itself, or a 3D file."""

    EXTRUDED = 0  # the outline, extruded from the standoff to the overall height
    FILE = 1  # a STEP (or other) file, embedded or linked
    CYLINDER = 2
    SPHERE = 3


# bodies that carry their own geometry (no file): the converter builds their solid
GENERIC_BODY_TYPES = frozenset({BodyModelType.EXTRUDED, BodyModelType.CYLINDER, BodyModelType.SPHERE})


@dataclass
class ComponentBody:
    """A 3D body: an embedded model, a linked file, or a generic shape (extruded outline, cylinder,
    sphere) whose geometry is all here: outline, heights, radii, origin (`offset`) and rotation."""

    layer: LayerRef
    model_id: str = ""
    model_name: str = ""
    embedded: bool = False
    model_type: int = BodyModelType.EXTRUDED  # a BodyModelType value (unknown ones kept as read)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)  # mm, Y flipped
    rotation: tuple[float, float, float] = (0.0, 0.0, 0.0)  # model rotation about X, Y, Z
    body_rotation: float = 0.0  # the body's 2D rotation on the board
    opacity: float = 1.0
    outline: list[Point] = field(default_factory=list)
    overall_height: float = 0.0
    standoff_height: float = 0.0
    identifier: str = ""
    bottom: bool = False  # on the board's bottom side (heights measured downward from it)
    color: tuple[int, int, int] = (128, 128, 128)  # RGB 0-255
    cylinder_radius: float = 0.0
    cylinder_height: float = 0.0  # along the body's own Z axis, from its origin
    sphere_radius: float = 0.0  # centred on the body's origin


@dataclass
class Footprint:
    name: str
    description: str = ""
    height: float | None = None
    storage: str = ""
    pads: list[Pad] = field(default_factory=list)
    vias: list[Via] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    arcs: list[Arc] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    bodies: list[ComponentBody] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class FootprintLibrary:
    name: str
    source: str
    footprints: list[Footprint] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)
    # what the file's own header or directory says it holds but no item accounts for (a damaged
    # file): each becomes a failed library row, so a library never vanishes silently
    losses: list[str] = field(default_factory=list)
    models: dict[str, EmbeddedModel] = field(default_factory=dict)  # by model id (GUID)
    layers: dict[int, LayerRef] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def layer(self, number: int) -> LayerRef:
        return self.layers.get(number) or LayerRef(number)
