"""One parser per PcbLib primitive type: subrecord bytes to model objects (millimetres, Y down).

Byte layouts follow KiCad's altium_parser_pcb.cpp and AltiumSharp; each parser reads only the
fields it needs and raises PrimitiveError when the bytes are too short, so one bad primitive costs
only itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from ..model.footprint import (
    Arc,
    ComponentBody,
    CopperShape,
    ExpansionMode,
    Fill,
    Hole,
    HoleShape,
    LayerRef,
    Line,
    Pad,
    PadShape,
    Point,
    Region,
    Text,
    Via,
    mechanical_layer_number,
)
from .codes import PcbPrimitive
from .pcblib_binary import Cursor, PrimitiveError, mil_text_to_mm, to_mm
from .records import parse_properties

LayerOf = Callable[[int], LayerRef]

# primitive type byte -> number of subrecords that follow it
SUBRECORDS: dict[int, int] = {
    PcbPrimitive.ARC: 1,
    PcbPrimitive.PAD: 6,
    PcbPrimitive.VIA: 1,
    PcbPrimitive.TRACK: 1,
    PcbPrimitive.TEXT: 2,
    PcbPrimitive.FILL: 1,
    PcbPrimitive.REGION: 1,
    PcbPrimitive.COMPONENT_BODY: 1,
}
TYPE_NAMES: dict[int, str] = {kind: kind.name.lower().replace("_", " ") for kind in PcbPrimitive}

_PAD_SHAPES = {1: PadShape.ROUND, 2: PadShape.RECT, 3: PadShape.OCTAGONAL}
_MODES = {0: ExpansionMode.NONE, 1: ExpansionMode.RULE, 2: ExpansionMode.MANUAL}
_HOLES = {0: HoleShape.ROUND, 1: HoleShape.SQUARE, 2: HoleShape.SLOT}
_REGION_KINDS = {0: "copper", 1: "cutout", 2: "dashed", 3: "unknown", 4: "cavity"}


def _common_header(c: Cursor) -> tuple[int, bool]:
    """Layer and keep-out flag that open arcs, tracks and fills (then net/component/unused ids)."""
    layer = c.u8()
    c.skip(1)
    keepout = c.u8() == 2
    c.skip(10)
    return layer, keepout


def _restrictions(sub: bytes, offset: int, keepout: bool) -> int:
    """The keep-out restriction bits newer files store at `offset`; older keep-outs restrict all."""
    if len(sub) > offset:
        return sub[offset]
    return 0x1F if keepout else 0


def parse_arc(sub: bytes, layer_of: LayerOf) -> Arc:
    c = Cursor(sub)
    layer, keepout = _common_header(c)
    center = c.point()
    radius = c.length()
    start, end = c.f64(), c.f64()
    width = c.length()
    return Arc(center, radius, start, end, width, layer_of(layer), keepout, _restrictions(sub, 56, keepout))


def parse_track(sub: bytes, layer_of: LayerOf) -> Line:
    c = Cursor(sub)
    layer, keepout = _common_header(c)
    start, end = c.point(), c.point()
    width = c.length()
    return Line(start, end, width, layer_of(layer), keepout, _restrictions(sub, 45, keepout))


def parse_fill(sub: bytes, layer_of: LayerOf) -> Fill:
    c = Cursor(sub)
    layer, keepout = _common_header(c)
    p1, p2 = c.point(), c.point()
    rotation = c.f64()
    return Fill(p1, p2, rotation, layer_of(layer), keepout, _restrictions(sub, 46, keepout))


def parse_via(sub: bytes, layer_of: LayerOf) -> Via:
    c = Cursor(sub)
    c.skip(1)
    flags1 = c.u8()
    c.skip(11)
    position = c.point()
    diameter, hole = c.length(), c.length()
    start, end = c.u8(), c.u8()
    return Via(
        position,
        diameter,
        hole,
        layer_of(start),
        layer_of(end),
        tented_top=bool(flags1 & 0x20),
        tented_bottom=bool(flags1 & 0x40),
    )


def _size(c: Cursor) -> Point:
    return (abs(c.length()), abs(c.length()))


def parse_pad(subs: list[bytes], layer_of: LayerOf, warnings: list[str]) -> Pad:
    name_sub = subs[0]
    number = name_sub[1 : 1 + name_sub[0]].decode("latin-1") if name_sub else ""
    main = subs[4]
    if len(main) < 110:
        raise PrimitiveError(
            f"pad '{number}': geometry subrecord has {len(main)} bytes (at least 110 expected)"
        )
    c = Cursor(main)
    layer = c.u8()
    flags1 = c.u8()
    c.skip(11)
    position = c.point()
    top, mid, bottom = _size(c), _size(c), _size(c)
    hole_size = c.length()
    shapes = [c.u8(), c.u8(), c.u8()]
    rotation = c.f64()
    plated = c.u8() != 0
    c.skip(1)
    mode = c.u8()
    c.skip(23)
    paste_manual, mask_manual = c.length(), c.length()
    c.skip(7)
    paste_mode, mask_mode = c.u8(), c.u8()
    c.skip(3)
    hole_rotation = 0.0 if len(main) < 114 else c.f64()
    to_layer = from_layer = None
    if len(main) >= 118:
        to_layer = c.u8()
        c.skip(2)
        from_layer = c.u8()

    stack_mode = {0: "simple", 1: "top_mid_bottom", 2: "full_stack"}.get(mode, "simple")
    copper = {
        "top": CopperShape(_PAD_SHAPES.get(shapes[0], PadShape.UNKNOWN), top),
        "mid": CopperShape(_PAD_SHAPES.get(shapes[1], PadShape.UNKNOWN), mid),
        "bottom": CopperShape(_PAD_SHAPES.get(shapes[2], PadShape.UNKNOWN), bottom),
    }
    hole_shape, slot_length, slot_rotation = HoleShape.ROUND, 0.0, 0.0
    extra = subs[5]
    if len(extra) >= 596:
        e = Cursor(extra)
        xs = [e.length() for _ in range(29)]
        ys = [e.length() for _ in range(29)]
        inner_shapes = [e.u8() for _ in range(29)]
        e.skip(1)
        hole_code = e.u8()
        slot_length = e.length()
        slot_rotation = e.f64()
        off_x = [e.length() for _ in range(32)]
        off_y = [-e.length() for _ in range(32)]
        e.skip(1)
        alt_shapes = [e.u8() for _ in range(32)]
        radii = [e.u8() for _ in range(32)]
        hole_shape = _HOLES.get(hole_code, HoleShape.ROUND)
        if hole_code not in _HOLES:
            warnings.append(f"pad '{number}': unknown hole shape {hole_code}, written as round")
        for i in range(29):
            copper[f"inner{i + 2}"] = CopperShape(
                _PAD_SHAPES.get(inner_shapes[i], PadShape.UNKNOWN), (abs(xs[i]), abs(ys[i]))
            )
        # alt shapes/corner radii/hole offsets are indexed by copper layer: 0 top, 1..30 inner, 31 bottom
        order = ["top", "mid"] + [f"inner{i}" for i in range(2, 31)] + ["bottom"]
        for index, key in enumerate(order):
            shape = copper.get(key)
            if shape is None:
                continue
            if alt_shapes[index] == 9 and shape.shape == PadShape.ROUND:
                shape.shape = PadShape.ROUNDRECT
                shape.corner_ratio = radii[index] / 200.0
            shape.offset = (off_x[index], off_y[index] + 0.0)
        if slot_rotation == 0.0 and hole_rotation:
            slot_rotation = hole_rotation

    hole = None
    if hole_size > 0:
        hole = Hole(hole_size, hole_shape, slot_length, slot_rotation, plated)
    return Pad(
        number=number,
        position=position,
        rotation=rotation,
        layer=layer_of(layer),
        copper=copper,
        stack_mode=stack_mode,
        hole=hole,
        mask_mode=_MODES.get(mask_mode, ExpansionMode.RULE),
        mask_expansion=mask_manual,
        paste_mode=_MODES.get(paste_mode, ExpansionMode.RULE),
        paste_expansion=paste_manual,
        tented_top=bool(flags1 & 0x20),
        tented_bottom=bool(flags1 & 0x40),
        from_layer=layer_of(from_layer) if from_layer else None,
        to_layer=layer_of(to_layer) if to_layer else None,
    )


def parse_text(subs: list[bytes], layer_of: LayerOf, wide_strings: dict[int, str]) -> Text:
    main = subs[0]
    c = Cursor(main)
    layer = c.u8()
    c.skip(12)
    position = c.point()
    height = c.length()
    c.skip(2)
    rotation = c.f64()
    mirrored = c.u8() != 0
    stroke = c.length()
    role, truetype, bold, italic, font, inverted, barcode = "text", False, False, False, "", False, False
    frame = None
    justification = 3
    wide_index = None
    if len(main) >= 123:
        is_comment, is_designator = c.u8() != 0, c.u8() != 0
        c.skip(1)
        font_type = c.u8()
        bold, italic = c.u8() != 0, c.u8() != 0
        font = c.raw(64).decode("utf-16-le", errors="replace").split("\0", 1)[0]
        inverted = c.u8() != 0
        c.skip(4)
        wide_index = c.u32()
        c.skip(4)
        c.skip(1)
        box_w, box_h = c.length(), c.length()
        box_just = c.u8()
        c.skip(4)
        remaining = c.remaining
        is_frame = box_w != 0 and box_h != 0
        valid_just = False
        if remaining >= 103:
            c.skip(93)
            is_frame = c.u8() != 0
            c.skip(9)
        if remaining >= 115:
            valid_just = c.u8() != 0
        role = "designator" if is_designator else "comment" if is_comment else "text"
        truetype, barcode = font_type == 1, font_type == 2
        if not truetype:
            inverted = False
        if is_frame and box_w and box_h:
            frame = (abs(box_w), abs(box_h))
        if valid_just:
            justification = box_just
    text = ""
    if wide_index is not None and wide_index in wide_strings:
        text = wide_strings[wide_index]
    elif len(subs) > 1 and subs[1]:
        text = subs[1][1 : 1 + subs[1][0]].decode("latin-1")
    text = text.replace("\r\n", "\n")
    return Text(
        text,
        position,
        height,
        rotation,
        stroke,
        layer_of(layer),
        role,
        mirrored,
        bold,
        italic,
        truetype,
        font,
        barcode,
        inverted,
        frame,
        justification,
    )


def _double_points(c: Cursor, count: int) -> list[Point]:
    points = []
    for _ in range(count):
        x, y = c.f64(), c.f64()
        points.append((to_mm(x), -to_mm(y) + 0.0))
    return points


def parse_region(sub: bytes, layer_of: LayerOf) -> Region:
    c = Cursor(sub)
    layer = c.u8()
    c.skip(1)
    keepout = c.u8() == 2
    c.skip(11)
    hole_count = c.u16()
    c.skip(2)
    props = parse_properties(c.properties_block())
    kind = _REGION_KINDS.get(props.integer("KIND", 0), "unknown")
    if kind == "copper" and props.boolean("ISBOARDCUTOUT"):
        kind = "board_cutout"
    count = c.u32()
    if count > 1_000_000:
        raise PrimitiveError(f"region claims {count} vertices")
    outline = _double_points(c, count)
    holes = []
    for _ in range(hole_count):
        n = c.u32()
        if n > 1_000_000:
            raise PrimitiveError(f"region hole claims {n} vertices")
        holes.append(_double_points(c, n))
    return Region(outline, holes, layer_of(layer), kind, keepout, props.integer("KEEPOUTRESTRIC", 0x1F))


def parse_body(sub: bytes, layer_of: LayerOf) -> ComponentBody:
    c = Cursor(sub)
    layer = c.u8()
    c.skip(17)
    props = parse_properties(c.properties_block())
    outline: list[Point] = []
    if c.remaining >= 4:
        n = c.u32()
        if n <= 100_000 and c.remaining >= n * 16:
            outline = _double_points(c, n)
    v7 = props.text("V7_LAYER")
    layer_ref = layer_of(layer)
    if v7.upper().startswith("MECHANICAL"):
        try:
            mech = int(v7[10:])
            layer_ref = layer_of(mechanical_layer_number(mech))
        except ValueError:
            pass
    return ComponentBody(
        layer=layer_ref,
        model_id=props.text("MODELID"),
        model_name=props.text("MODEL.NAME").strip(),
        embedded=props.boolean("MODEL.EMBED"),
        model_type=props.integer("MODEL.MODELTYPE", 0),
        offset=(
            mil_text_to_mm(props.text("MODEL.2D.X")),
            -mil_text_to_mm(props.text("MODEL.2D.Y")) + 0.0,
            mil_text_to_mm(props.text("MODEL.3D.DZ")),
        ),
        rotation=(
            props.number("MODEL.3D.ROTX"),
            props.number("MODEL.3D.ROTY"),
            props.number("MODEL.3D.ROTZ"),
        ),
        body_rotation=props.number("MODEL.2D.ROTATION"),
        opacity=props.number("BODYOPACITY3D", 1.0),
        outline=outline,
        overall_height=mil_text_to_mm(props.text("OVERALLHEIGHT")),
        standoff_height=mil_text_to_mm(props.text("STANDOFFHEIGHT")),
        identifier=_codepoints(props.text("IDENTIFIER").strip()),
        bottom=props.integer("BODYPROJECTION", 0) == 1,
        color=_colorref(props.integer("BODYCOLOR3D", 0x808080)),
        cylinder_radius=mil_text_to_mm(props.text("MODEL.CYLINDER.RADIUS")),
        cylinder_height=mil_text_to_mm(props.text("MODEL.CYLINDER.HEIGHT")),
        sphere_radius=mil_text_to_mm(props.text("MODEL.SPHERE.RADIUS")),
    )


def _colorref(value: int) -> tuple[int, int, int]:
    """A Windows COLORREF (0x00BBGGRR) as (red, green, blue)."""
    return value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF


def _codepoints(text: str) -> str:
    """Body identifiers are stored as comma-separated code points ('85,115,...')."""
    parts = text.split(",")
    if len(parts) > 1 and all(p.strip().isdigit() for p in parts):
        try:
            return "".join(chr(int(p)) for p in parts)
        except (ValueError, OverflowError):
            return text
    return text


def parse_extended_info(stream: bytes) -> dict[tuple[str, int], dict[str, str]]:
    """ExtendedPrimitiveInformation: (object kind, primitive index) -> mask/paste settings."""
    from .records import text_records

    out: dict[tuple[str, int], dict[str, str]] = {}
    records, _ = text_records(stream)
    for _raw, props in records:
        if not props:
            continue
        out[(props.text("PRIMITIVEOBJECTID").lower(), props.integer("PRIMITIVEINDEX", -1))] = props
    return out


def parse_wide_strings(stream: bytes) -> dict[int, str]:
    """A footprint's WideStrings stream: `|ENCODEDTEXT<n>=code,points|`."""
    out: dict[int, str] = {}
    if len(stream) < 4:
        return out
    (n,) = struct.unpack_from("<I", stream, 0)
    props = parse_properties(stream[4 : 4 + (n & 0xFFFFFF)])
    for key, value in props.items():
        if key.startswith("ENCODEDTEXT"):
            try:
                index = int(key[11:])
                out[index] = "".join(chr(int(p)) for p in value.split(",") if p.strip())
            except ValueError:
                continue
    return out
