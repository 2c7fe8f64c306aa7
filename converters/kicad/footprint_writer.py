"""Writes one model Footprint as KiCad `.kicad_mod` text (KiCad 9, or KiCad 8 on request).

Decisions that follow KiCad's own importer (so libraries converted either way agree): copper fills
and regions on the outer copper layers become unnumbered SMD pads (rectangular or custom), vias
become unnumbered through-hole pads, an unnumbered pad touching a numbered one takes its number,
keep-outs become rule areas. Where KiCad's importer loses or bends things this writer keeps them:
slots at any angle, rule-based mask/paste expansion made explicit, per-layer pad stacks,
courtyard/assembly layers, region holes, 3D models of every body. Every approximation is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.footprint import (
    AltiumLayer,
    Arc,
    ComponentBody,
    CopperShape,
    ExpansionMode,
    Fill,
    Footprint,
    HoleShape,
    Line,
    Pad,
    PadShape,
    Point,
    Region,
    Text,
    Via,
)
from .courtyard import Piece, chain, generated_rectangle
from .footprint_fields import (
    FIELD_SIZE,
    FIELD_THICKNESS,
    Extent,
    auto_field_positions,
    fab_text_size,
    generated_uuid,
    text_corners,
)
from .footprint_geometry import (
    arc_point,
    circle_polygon,
    fracture,
    polygons_overlap,
    r6,
    rotate,
    stroke_arc,
    stroke_segment,
)
from .layers import LayerMap
from .sexpr import SExpr, Symbol, format_number, node, render
from .silk_trim import MaskOpenings, arc_polyline, trim_polyline

FORMAT_VERSION = {9: 20241229, 8: 20240108}
GENERATOR = "altium2kicad"
TOP, BOTTOM, MULTI, KEEP_OUT = (
    AltiumLayer.TOP,
    AltiumLayer.BOTTOM,
    AltiumLayer.MULTI_LAYER,
    AltiumLayer.KEEP_OUT,
)
COURTYARD_LAYERS = {"F.CrtYd": "F.Fab", "B.CrtYd": "B.Fab"}  # courtyard -> where stray drawings go


@dataclass
class ModelLink:
    """Where a body's 3D model lives for KiCad: a path, or a kicad-embed:// link to a file the
    footprint carries (passed to `write` as `embedded_files`). A file built from the footprint's
    generic bodies already holds them where they sit (`in_footprint_frame`): KiCad must not move it."""

    path: str
    in_footprint_frame: bool = False


@dataclass
class WrittenFootprint:
    text: str
    warnings: list[str] = field(default_factory=list)
    shape_pads: int = 0  # pads made from vias and copper fills/regions (beyond the source's pads)


def _half_sum_nm(a: float, b: float) -> float:
    """a/2 + b/2 in integer nanometres truncated as KiCad's VECTOR2I division does."""
    na, nb = round(a * 1e6), round(b * 1e6)
    return (int(na / 2) + int(nb / 2)) / 1e6


def xy(p) -> list:
    return [r6(p[0]), r6(p[1])]


def _stroke(width: float, style: str = "solid") -> list:
    return node("stroke", node("width", r6(width)), node("type", Symbol(style)))


def _glyph_size(text: Text) -> float:
    """KiCad glyph size for an Altium text height: TrueType fonts are drawn smaller by KiCad, so its
    importer scales them (0.63 for Arial, 0.5 for others); the stroke font keeps the height."""
    if text.truetype:
        return text.height * (0.63 if "arial" in text.font_name.lower() else 0.5)
    return text.height


class FootprintWriter:
    def __init__(self, layer_map: LayerMap, kicad_version: int = 9) -> None:
        self.layer_map = layer_map
        self.version = kicad_version

    # -- entry ----------------------------------------------------------------------------
    def write(
        self,
        fp: Footprint,
        name: str,
        models: list[ModelLink | None] | None = None,
        embedded_files: list | None = None,
    ) -> WrittenFootprint:
        self.warnings: list[str] = []
        self.name = name
        self.extent = Extent()  # everything but texts, as KiCad's GetBoundingBox(false)
        self.mask_extent = Extent()  # pads' solder mask openings
        self.mask_openings = {"F": MaskOpenings(), "B": MaskOpenings()}
        self.trimmed = 0  # silk strokes cut back at mask openings
        self.courtyard_pieces: dict[str, list[Piece]] = {k: [] for k in COURTYARD_LAYERS}
        items: list[list] = []
        pads: list[tuple[list, list, set[str]]] = []  # (pad expr, outline polygon, copper layers)
        for pad in fp.pads:
            self._pad(pad, items, pads)
        from_source_pads = len(pads)
        for via in fp.vias:
            self._via(via, pads)
        for line in fp.lines:
            self._line(line, items)
        for arc in fp.arcs:
            self._arc(arc, items)
        for fill in fp.fills:
            self._fill(fill, items, pads)
        for region in fp.regions:
            self._region(region, items, pads)
        pad_extent = Extent()
        for _, outline, _ in pads:
            pad_extent.add_all(outline)
        self.extent.merge(pad_extent)
        self._courtyards(items, pad_extent, fp)
        self.extent.merge(self.mask_extent)
        fields = self._texts(fp.texts, items, name)
        self._number_touching_pads(pads)
        if self.trimmed:
            self.warnings.append(
                f"{self.trimmed} silkscreen strokes trimmed where they crossed a pad's solder-mask "
                "opening (a board house clips them there; KiCad's DRC flags them)"
            )
        head = [
            Symbol("footprint"),
            name,
            node("version", FORMAT_VERSION.get(self.version, FORMAT_VERSION[9])),
            node("generator", GENERATOR),
            node("generator_version", f"{self.version}.0"),
            node("layer", "F.Cu"),
        ]
        if fp.description:
            head.append(node("descr", fp.description))
        head += fields
        if fp.height is not None:
            head.append(self._property("Height", f"{format_number(r6(fp.height))} mm", (0, 0), hidden=True))
        head.append(node("attr", Symbol("through_hole" if any(p.hole for p in fp.pads) else "smd")))
        body = head + items + [p[0] for p in pads]
        for link, bdy in zip(models or [], fp.bodies, strict=False):
            if link is not None:
                body.append(self._model(bdy, link))
        if self.version >= 9:
            if embedded_files:
                body.append(node("embedded_files", *embedded_files))
            body.append(node("embedded_fonts", Symbol("no")))
        return WrittenFootprint(render(body) + "\n", self.warnings, len(pads) - from_source_pads)

    # -- layers ---------------------------------------------------------------------------
    def _layer(self, layer, what: str) -> str | None:
        target, message = self.layer_map.lookup(layer)
        if message:
            self.warnings.append(f"{what}: {message}")
        return target

    def _graphic_layers(self, layer, what: str) -> list[str]:
        if layer.number == MULTI:  # all copper layers, as KiCad's importer does
            self.warnings.append(f"{what} on Multi-Layer written to every copper layer")
            return ["F.Cu", "B.Cu"] + [f"In{i}.Cu" for i in range(1, 31)]
        target = self._layer(layer, what)
        return [target] if target else []

    # -- pads -----------------------------------------------------------------------------
    def _pad(self, pad: Pad, items: list, pads: list) -> None:
        what = f"pad '{pad.number}'"
        on_copper = (
            pad.layer.number in (TOP, BOTTOM, MULTI)
            or AltiumLayer.MID_FIRST <= pad.layer.number <= AltiumLayer.MID_LAST
        )
        if not on_copper:
            self._pad_as_graphic(pad, items, what)
            return
        top = pad.copper["top"]
        layers: list[str]
        if pad.hole is not None:
            kind = "thru_hole" if pad.hole.plated else "np_thru_hole"
            if pad.layer.number != MULTI:
                self.warnings.append(f"{what} has a hole but is not on Multi-Layer: written as through-hole")
            layers = ["*.Cu", "*.Mask"] if pad.hole.plated else ["F&B.Cu", "*.Mask"]
        else:
            kind = "smd"
            if pad.layer.number == TOP:
                layers = ["F.Cu", "F.Mask", "F.Paste"]
            elif pad.layer.number == BOTTOM:
                layers = ["B.Cu", "B.Mask", "B.Paste"]
            elif pad.layer.number == MULTI:  # every copper layer and both masks, as KiCad's importer
                layers = ["*.Cu", "*.Mask"]
            else:
                layers = [f"In{pad.layer.number - AltiumLayer.MID_FIRST + 1}.Cu"]
        if pad.tented_top:
            layers = self._without_mask(layers, "F.Mask")
        if pad.tented_bottom:
            layers = self._without_mask(layers, "B.Mask")

        rotation = pad.rotation
        shape_expr = self._shape_exprs(top, pad)
        drill = None
        size = top.size
        if pad.hole is not None:
            drill, rotation, extra_shape = self._drill(pad, top)
            if extra_shape is not None:
                shape_expr = extra_shape
            if not pad.hole.plated:  # KiCad wants NPTH pads shaped like their hole
                d = pad.hole.diameter
                if pad.hole.shape == HoleShape.SLOT and pad.hole.slot_length > d:
                    shape_expr = [Symbol("oval")]
                    size = (pad.hole.slot_length, d)
                else:
                    shape_expr = [Symbol("circle")]
                    size = (d, d)
        expr = [
            Symbol("pad"),
            pad.number or "",  # no designator: KiCad's unnumbered pad, never a Python None
            Symbol(kind),
            shape_expr[0],
            node("at", *xy(pad.position), *([r6(rotation % 360)] if rotation % 360 else [])),
            node("size", r6(size[0]), r6(size[1])),
        ]
        if drill is not None:
            expr.append(drill)
        expr.append(node("layers", *layers))
        if pad.hole is not None and pad.hole.plated:
            expr.append(node("remove_unused_layers", Symbol("no")))
        expr += shape_expr[1:]
        expr += self._margins(pad)
        expr.append(node("thermal_bridge_angle", 90))
        stack = self._padstack(pad)
        if stack is not None:
            expr.append(stack)
        polygon = self._pad_polygon(
            pad.position, rotation if drill is not None else pad.rotation, size, shape_expr[0]
        )
        copper = {"F.Cu", "B.Cu"} if pad.hole is not None or pad.layer.number == MULTI else {layers[0]}
        pads.append((expr, polygon, copper))
        self.mask_extent.add_all(polygon, max(pad.mask_expansion, 0.0))
        grow = pad.mask_expansion if pad.mask_mode != ExpansionMode.NONE else 0.0
        for side in ("F", "B"):
            if f"{side}.Mask" in layers or "*.Mask" in layers:
                self.mask_openings[side].add(polygon, grow)

    @staticmethod
    def _without_mask(layers: list[str], mask: str) -> list[str]:
        if "*.Mask" in layers:
            other = "B.Mask" if mask == "F.Mask" else "F.Mask"
            layers = [name for name in layers if name != "*.Mask"] + [other]
        return [name for name in layers if name != mask]

    def _shape_exprs(self, shape: CopperShape, pad: Pad) -> list:
        """[shape symbol, extra tokens...] for one copper shape."""
        w, h = shape.size
        if shape.shape == PadShape.RECT:
            return [Symbol("rect")]
        if shape.shape == PadShape.ROUNDRECT:
            ratio = min(max(shape.corner_ratio, 0.0), 0.5)
            return [Symbol("roundrect"), node("roundrect_rratio", r6(ratio))]
        if shape.shape == PadShape.OCTAGONAL:
            return [
                Symbol("roundrect"),
                node("roundrect_rratio", 0.25),
                node("chamfer_ratio", 0.25),
                node(
                    "chamfer",
                    Symbol("top_left"),
                    Symbol("top_right"),
                    Symbol("bottom_left"),
                    Symbol("bottom_right"),
                ),
            ]
        if shape.shape == PadShape.UNKNOWN:
            self.warnings.append(f"pad '{pad.number}': unknown pad shape written as round")
        return [Symbol("circle" if abs(w - h) < 1e-9 else "oval")]

    def _drill(self, pad: Pad, top: CopperShape):
        """(drill expression, pad rotation, replacement shape or None)."""
        hole = pad.hole
        assert hole is not None  # called for pads with a hole only
        offset = top.offset
        extra = [node("offset", *xy(offset))] if offset != (0.0, 0.0) else []
        rotation, shape = pad.rotation, None
        if hole.shape == HoleShape.SQUARE:
            self.warnings.append(
                f"pad '{pad.number}': square hole {r6(hole.diameter)} mm approximated by a "
                f"round hole (KiCad has no square drills)"
            )
        if hole.shape == HoleShape.SLOT and hole.slot_length > 0:
            angle = hole.slot_rotation % 180
            length, width = max(hole.slot_length, hole.diameter), hole.diameter
            if abs(angle) < 1e-6 or abs(angle - 180) < 1e-6:
                return node("drill", Symbol("oval"), r6(length), r6(width), *extra), rotation, None
            if abs(angle - 90) < 1e-6:
                return node("drill", Symbol("oval"), r6(width), r6(length), *extra), rotation, None
            # any other angle: turn the pad so the slot lies along its X axis and keep the copper
            # where it was (a circle needs nothing, other shapes become a custom polygon)
            rotation = pad.rotation + angle
            drill = node("drill", Symbol("oval"), r6(length), r6(width), *extra)
            if top.shape == PadShape.ROUND and abs(top.size[0] - top.size[1]) < 1e-9:
                return drill, rotation, None
            poly = self._pad_polygon((0.0, 0.0), -angle, top.size, self._shape_exprs(top, pad)[0])
            anchor = min(top.size) * 0.5
            self.warnings.append(
                f"pad '{pad.number}': slot at {r6(angle)} degrees to the pad; pad turned by "
                f"that angle with its copper kept as a custom shape"
            )
            top.size = (anchor, anchor)
            shape = [
                Symbol("custom"),
                node("options", node("clearance", Symbol("outline")), node("anchor", Symbol("circle"))),
                node(
                    "primitives",
                    node(
                        "gr_poly",
                        node("pts", *[node("xy", *xy(p)) for p in poly]),
                        node("width", 0),
                        node("fill", Symbol("yes")),
                    ),
                ),
            ]
            return drill, rotation, shape
        return node("drill", r6(hole.diameter), *extra), rotation, None

    def _margins(self, pad: Pad) -> list:
        out = []
        if pad.mask_mode != ExpansionMode.NONE and (
            pad.mask_expansion or pad.mask_mode == ExpansionMode.MANUAL
        ):
            out.append(node("solder_mask_margin", r6(pad.mask_expansion)))
        if pad.paste_mode != ExpansionMode.NONE and pad.paste_expansion:
            out.append(node("solder_paste_margin", r6(pad.paste_expansion)))
        return out

    def _padstack(self, pad: Pad) -> list | None:
        if pad.stack_mode == "simple":
            return None
        top = pad.copper["top"]
        if pad.stack_mode == "top_mid_bottom":
            layers = [("Inner", pad.copper["mid"]), ("B.Cu", pad.copper["bottom"])]
            mode = "front_inner_back"
        else:
            layers = [("In1.Cu", pad.copper["mid"])]
            layers += [
                (f"In{i}.Cu", pad.copper[f"inner{i}"]) for i in range(2, 31) if f"inner{i}" in pad.copper
            ]
            layers.append(("B.Cu", pad.copper["bottom"]))
            mode = "custom"
        if all(
            s.shape == top.shape and s.size == top.size and s.corner_ratio == top.corner_ratio
            for _, s in layers
        ):
            return None
        if self.version < 9:
            self.warnings.append(
                f"pad '{pad.number}': per-layer pad stack written with its top-layer shape only "
                f"(KiCad 8 has no pad stacks)"
            )
            return None
        entries = []
        for layer_name, shape in layers:
            exprs = self._shape_exprs(shape, pad)
            entries.append(
                node(
                    "layer",
                    layer_name,
                    node("shape", exprs[0]),
                    node("size", r6(shape.size[0]), r6(shape.size[1])),
                    *exprs[1:],
                )
            )
        return node("padstack", node("mode", Symbol(mode)), *entries)

    @staticmethod
    def _pad_polygon(center, rotation: float, size, shape) -> list:
        w, h = size
        if str(shape) in ("circle",):
            return circle_polygon(center, w / 2, 16)
        if str(shape) == "oval":
            r = min(w, h) / 2
            a, b = (
                ((center[0] - (w / 2 - r), center[1]), (center[0] + (w / 2 - r), center[1]))
                if w >= h
                else ((center[0], center[1] - (h / 2 - r)), (center[0], center[1] + (h / 2 - r)))
            )
            pts = stroke_segment(a, b, 2 * r, 6) if a != b else circle_polygon(center, r, 16)
        else:
            pts = [
                (center[0] - w / 2, center[1] - h / 2),
                (center[0] + w / 2, center[1] - h / 2),
                (center[0] + w / 2, center[1] + h / 2),
                (center[0] - w / 2, center[1] + h / 2),
            ]
        return [rotate(p, center, rotation) for p in pts] if rotation % 360 else pts

    def _pad_as_graphic(self, pad: Pad, items: list, what: str) -> None:
        layer = self._layer(pad.layer, f"{what} (non-copper pad)")
        if layer is None:
            return
        top = pad.copper["top"]
        shape = self._shape_exprs(top, pad)[0]
        poly = self._pad_polygon(pad.position, pad.rotation, top.size, shape)
        items.append(
            node(
                "fp_poly",
                node("pts", *[node("xy", *xy(p)) for p in poly]),
                _stroke(0),
                node("fill", Symbol("yes")),
                node("layer", layer),
            )
        )
        self.warnings.append(f"{what} on non-copper layer '{pad.layer.name}' written as a filled shape")

    def _via(self, via: Via, pads: list) -> None:
        layers = ["*.Cu"]
        if not via.tented_top:
            layers.append("F.Mask")
        if not via.tented_bottom:
            layers.append("B.Mask")
        if layers[1:] == ["F.Mask", "B.Mask"]:
            layers = ["*.Cu", "*.Mask"]
        if (via.start_layer.number, via.end_layer.number) not in ((TOP, BOTTOM), (BOTTOM, TOP)):
            self.warnings.append(
                f"via at {xy(via.position)} spans {via.start_layer.name}-{via.end_layer.name}: "
                f"written as a through-hole pad (footprints hold no blind/buried vias)"
            )
        expr = [
            Symbol("pad"),
            "",
            Symbol("thru_hole"),
            Symbol("circle"),
            node("at", *xy(via.position)),
            node("size", r6(via.diameter), r6(via.diameter)),
            node("drill", r6(via.hole)),
            node("layers", *layers),
            node("remove_unused_layers", Symbol("no")),
        ]
        pads.append((expr, circle_polygon(via.position, via.diameter / 2, 16), {"F.Cu", "B.Cu"}))

    def _number_touching_pads(self, pads: list) -> None:
        """An unnumbered pad that touches a numbered one on a shared copper layer takes its number."""
        changed = True
        while changed:
            changed = False
            for i, (a, pa, la) in enumerate(pads):
                for b, pb, lb in pads[i + 1 :]:
                    if (a[1] == "") == (b[1] == "") or not (la & lb):
                        continue
                    if polygons_overlap(pa, pb):
                        if a[1] == "":
                            a[1] = b[1]
                        else:
                            b[1] = a[1]
                        changed = True

    # -- graphics -------------------------------------------------------------------------
    def _line(self, line: Line, items: list) -> None:
        if line.keepout or line.layer.number == KEEP_OUT:
            self._keepout(
                stroke_segment(line.start, line.end, line.width), line.layer, line.keepout_restrictions, items
            )
            return
        self.extent.add_all((line.start, line.end), line.width / 2)
        for layer in self._graphic_layers(line.layer, "track"):
            if layer in COURTYARD_LAYERS:
                self.courtyard_pieces[layer].append(Piece(line.start, line.end, width=line.width))
                continue
            if self._trimmed_silk([line.start, line.end], line.width, layer, items):
                continue
            items.append(
                node(
                    "fp_line",
                    node("start", *xy(line.start)),
                    node("end", *xy(line.end)),
                    _stroke(line.width),
                    node("layer", layer),
                )
            )

    def _arc(self, arc: Arc, items: list) -> None:
        sweep = (arc.end_angle - arc.start_angle) % 360
        if arc.is_circle or (sweep == 0 and arc.start_angle == 0 and arc.end_angle == 360):
            sweep = 360.0
        if arc.keepout or arc.layer.number == KEEP_OUT:
            outline = (
                circle_polygon(arc.center, arc.radius + arc.width / 2)
                if sweep == 360.0
                else stroke_arc(arc.center, arc.radius, arc.start_angle, sweep, arc.width)
            )
            self._keepout(outline, arc.layer, arc.keepout_restrictions, items)
            return
        cx, cy = arc.center
        grow = arc.width / 2
        if sweep == 360.0:
            self.extent.add_all(
                ((cx - arc.radius, cy - arc.radius), (cx + arc.radius, cy + arc.radius)), grow
            )
        elif sweep:
            self.extent.add_all(
                arc_point(arc.center, arc.radius, arc.start_angle + sweep * k / 16) for k in range(17)
            )
        for layer in self._graphic_layers(arc.layer, "arc"):
            if layer in COURTYARD_LAYERS and sweep:
                start = arc_point(arc.center, arc.radius, arc.start_angle)
                piece = (
                    Piece(arc.center, (cx, cy - arc.radius), circle=True, width=arc.width)
                    if sweep == 360.0
                    else Piece(
                        start,
                        arc_point(arc.center, arc.radius, arc.start_angle + sweep),
                        mid=arc_point(arc.center, arc.radius, arc.start_angle + sweep / 2),
                        width=arc.width,
                    )
                )
                self.courtyard_pieces[layer].append(piece)
                continue
            if sweep and self._trimmed_silk(
                arc_polyline(arc.center, arc.radius, arc.start_angle, sweep), arc.width, layer, items
            ):
                continue
            if sweep == 360.0:
                items.append(
                    node(
                        "fp_circle",
                        node("center", *xy(arc.center)),
                        node("end", *xy((arc.center[0], arc.center[1] - arc.radius))),
                        _stroke(arc.width),
                        node("fill", Symbol("no")),
                        node("layer", layer),
                    )
                )
            elif sweep == 0:
                self.warnings.append(f"arc at {xy(arc.center)} has no sweep: left out")
            else:
                items.append(
                    node(
                        "fp_arc",
                        node("start", *xy(arc_point(arc.center, arc.radius, arc.start_angle))),
                        node("mid", *xy(arc_point(arc.center, arc.radius, arc.start_angle + sweep / 2))),
                        node("end", *xy(arc_point(arc.center, arc.radius, arc.start_angle + sweep))),
                        _stroke(arc.width),
                        node("layer", layer),
                    )
                )

    def _fill_corners(self, fill: Fill) -> list:
        (x1, y1), (x2, y2) = fill.corner1, fill.corner2
        center = ((x1 + x2) / 2, (y1 + y2) / 2)
        pts = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
        return [rotate(p, center, fill.rotation) for p in pts] if fill.rotation % 360 else pts

    def _fill(self, fill: Fill, items: list, pads: list) -> None:
        corners = self._fill_corners(fill)
        self.extent.add_all(corners)
        if fill.keepout or fill.layer.number == KEEP_OUT:
            self._keepout(corners, fill.layer, fill.keepout_restrictions, items)
            return
        cardinal = abs(fill.rotation / 90 - round(fill.rotation / 90)) < 1e-9
        for layer in self._graphic_layers(fill.layer, "fill"):
            if layer in ("F.Cu", "B.Cu"):
                (x1, y1), (x2, y2) = fill.corner1, fill.corner2
                center = (_half_sum_nm(x1, x2), _half_sum_nm(y1, y2))
                paste_mask: list[SExpr] = []
                if cardinal:
                    w, h = abs(x2 - x1), abs(y2 - y1)
                    if round(fill.rotation / 90) % 2:
                        w, h = h, w
                    expr = [
                        Symbol("pad"),
                        "",
                        Symbol("smd"),
                        Symbol("rect"),
                        node("at", *xy(center)),
                        node("size", r6(w), r6(h)),
                        node("layers", layer, *paste_mask),
                        node("thermal_bridge_angle", 90),
                    ]
                    pads.append((expr, corners, {layer}))
                else:
                    pads.append((self._custom_pad(corners, layer, []), corners, {layer}))
            elif cardinal:
                items.append(
                    node(
                        "fp_rect",
                        node("start", *xy(corners[0])),
                        node("end", *xy(corners[2])),
                        _stroke(0),
                        node("fill", Symbol("yes")),
                        node("layer", layer),
                    )
                )
            else:
                items.append(
                    node(
                        "fp_poly",
                        node("pts", *[node("xy", *xy(p)) for p in corners]),
                        _stroke(0),
                        node("fill", Symbol("yes")),
                        node("layer", layer),
                    )
                )

    def _custom_pad(
        self, polygon: list, layer: str, extra_layers: list[str], margins: list | None = None
    ) -> list:
        anchor = polygon[0]
        rel = [(p[0] - anchor[0], p[1] - anchor[1]) for p in polygon]
        return [
            Symbol("pad"),
            "",
            Symbol("smd"),
            Symbol("custom"),
            node("at", *xy(anchor)),
            node("size", 0.000001, 0.000001),
            node("layers", layer, *extra_layers),
            *(margins or []),
            node("thermal_bridge_angle", 90),
            node("options", node("clearance", Symbol("outline")), node("anchor", Symbol("circle"))),
            node(
                "primitives",
                node(
                    "gr_poly",
                    node("pts", *[node("xy", *xy(p)) for p in rel]),
                    node("width", 0),
                    node("fill", Symbol("yes")),
                ),
            ),
        ]

    def _region(self, region: Region, items: list, pads: list) -> None:
        if len(region.outline) < 3:
            self.warnings.append(f"region with {len(region.outline)} vertices left out (not a polygon)")
            return
        self.extent.add_all(region.outline)
        if region.keepout or region.kind == "cutout":
            self._keepout(
                region.outline,
                region.layer,
                region.keepout_restrictions if region.keepout else 0x04,
                items,
                pour_only=region.kind == "cutout" and not region.keepout,
            )
            return
        polygon = fracture(region.outline, [h for h in region.holes if len(h) >= 3])
        if region.kind in ("dashed", "board_cutout", "cavity", "unknown"):
            layer = (
                "Edge.Cuts"
                if region.kind == "board_cutout"
                else self._layer(region.layer, f"{region.kind} region")
            )
            if layer is None:
                return
            if region.kind in ("cavity", "unknown"):
                self.warnings.append(f"{region.kind} region on '{region.layer.name}' written as an outline")
            items.append(
                node(
                    "fp_poly",
                    node("pts", *[node("xy", *xy(p)) for p in region.outline]),
                    _stroke(0.1, "dash" if region.kind == "dashed" else "solid"),
                    node("fill", Symbol("no")),
                    node("layer", layer),
                )
            )
            return
        for layer in self._graphic_layers(region.layer, "region"):
            if layer in ("F.Cu", "B.Cu"):
                side = layer[0]
                extra, margins = [], []
                if region.paste_mode is not None and region.paste_mode != ExpansionMode.NONE:
                    extra.append(f"{side}.Paste")
                    if region.paste_mode == ExpansionMode.MANUAL:
                        margins.append(node("solder_paste_margin", r6(region.paste_expansion)))
                if region.mask_mode is not None and region.mask_mode != ExpansionMode.NONE:
                    extra.append(f"{side}.Mask")
                    if region.mask_mode == ExpansionMode.MANUAL:
                        margins.append(node("solder_mask_margin", r6(region.mask_expansion)))
                pads.append((self._custom_pad(polygon, layer, extra, margins), region.outline, {layer}))
            else:
                items.append(
                    node(
                        "fp_poly",
                        node("pts", *[node("xy", *xy(p)) for p in polygon]),
                        _stroke(0),
                        node("fill", Symbol("yes")),
                        node("layer", layer),
                    )
                )

    def _keepout(self, outline: list, layer, restrictions: int, items: list, pour_only: bool = False) -> None:
        if layer.number == KEEP_OUT and not restrictions:
            restrictions = 0x1F  # the keep-out layer itself keeps everything out
        if layer.number in (KEEP_OUT, MULTI):
            layers = ["*.Cu"]
        else:
            target = self._layer(layer, "keep-out")
            if target is None:
                return
            layers = [target]

        def allowed(bit):
            return Symbol("not_allowed" if restrictions & bit else "allowed")

        keepout = node(
            "keepout",
            node("tracks", allowed(0x02)),
            node("vias", allowed(0x01)),
            node("pads", Symbol("not_allowed" if (restrictions & 0x18) == 0x18 else "allowed")),
            node("copperpour", allowed(0x04)),
            node("footprints", Symbol("allowed")),
        )
        if pour_only:
            keepout = node(
                "keepout",
                node("tracks", Symbol("allowed")),
                node("vias", Symbol("allowed")),
                node("pads", Symbol("allowed")),
                node("copperpour", Symbol("not_allowed")),
                node("footprints", Symbol("allowed")),
            )
        items.append(
            node(
                "zone",
                node("net", 0),
                node("net_name", ""),
                node("layers", *layers),
                node("hatch", Symbol("edge"), 0.5),
                node("connect_pads", node("clearance", 0)),
                node("min_thickness", 0.25),
                node("filled_areas_thickness", Symbol("no")),
                keepout,
                node("fill", node("thermal_gap", 0.5), node("thermal_bridge_width", 0.5)),
                node("polygon", node("pts", *[node("xy", *xy(p)) for p in outline])),
            )
        )

    def _trimmed_silk(self, points: list, width: float, layer: str, items: list) -> bool:
        """Writes what is left of a silkscreen stroke that enters a mask opening; False when the
        stroke is clear (the caller writes it whole)."""
        if layer not in ("F.SilkS", "B.SilkS"):
            return False
        parts = trim_polyline(points, width, self.mask_openings[layer[0]])
        if parts is None:
            return False
        self.trimmed += 1
        for part in parts:
            for a, b in zip(part, part[1:], strict=False):
                items.append(
                    node(
                        "fp_line",
                        node("start", *xy(a)),
                        node("end", *xy(b)),
                        _stroke(width),
                        node("layer", layer),
                    )
                )
        return True

    # -- courtyard ------------------------------------------------------------------------
    def _courtyards(self, items: list, pad_extent: Extent, fp: Footprint) -> None:
        """Closed courtyard outlines on F/B.CrtYd; open pieces go to the fab layer, and a side whose
        Altium courtyard does not close at all gets a generated one (reported)."""
        for layer, pieces in self.courtyard_pieces.items():
            if not pieces:
                continue
            joined = chain(pieces)
            for loop in joined.loops:
                items += [self._piece(piece, layer) for piece in loop]
            fab = COURTYARD_LAYERS[layer]
            items += [self._piece(piece, fab) for piece in joined.open_pieces]
            if joined.open_pieces:
                what = f"{len(joined.open_pieces)} of {len(pieces)} courtyard pieces on {layer} do not close"
                if joined.loops:
                    self.warnings.append(f"{what}: moved to {fab}")
                else:
                    self.warnings.append(
                        f"{what}: moved to {fab}; courtyard generated from pads and body + 0.25 mm"
                    )
                    self._generated_courtyard(items, pad_extent, fp, layer)

    def _generated_courtyard(self, items: list, pad_extent: Extent, fp: Footprint, layer: str) -> None:
        body = Extent()
        body.merge(pad_extent)
        for b in fp.bodies:
            body.add_all(b.outline)
        (x1, y1), (x2, y2) = generated_rectangle(body.box())
        items.append(
            node(
                "fp_rect",
                node("start", r6(x1), r6(y1)),
                node("end", r6(x2), r6(y2)),
                _stroke(0.05),
                node("fill", Symbol("no")),
                node("layer", layer),
                node("uuid", generated_uuid(self.name, f"courtyard-{layer}")),
            )
        )

    @staticmethod
    def _piece(piece: Piece, layer: str) -> list:
        if piece.circle:
            return node(
                "fp_circle",
                node("center", *xy(piece.start)),
                node("end", *xy(piece.end)),
                _stroke(piece.width),
                node("fill", Symbol("no")),
                node("layer", layer),
            )
        if piece.mid is not None:
            return node(
                "fp_arc",
                node("start", *xy(piece.start)),
                node("mid", *xy(piece.mid)),
                node("end", *xy(piece.end)),
                _stroke(piece.width),
                node("layer", layer),
            )
        return node(
            "fp_line",
            node("start", *xy(piece.start)),
            node("end", *xy(piece.end)),
            _stroke(piece.width),
            node("layer", layer),
        )

    # -- texts ----------------------------------------------------------------------------
    def _property(
        self,
        key: str,
        value: str,
        at,
        layer: str = "F.Fab",
        hidden: bool = False,
        effects=None,
        uuid: str | None = None,
    ) -> list:
        return node(
            "property",
            key,
            value,
            node("at", *xy(at), 0),
            node("layer", layer),
            node("hide", Symbol("yes")) if hidden else None,
            node("uuid", uuid) if uuid else None,
            effects or node("effects", node("font", node("size", 1, 1), node("thickness", 0.15))),
        )

    def _auto_fields(self, reference, value, name: str, items: list, texts: list[Text]) -> tuple[list, list]:
        """Fields Altium gave no text for, placed as KiCad's AutoPositionFields does; a footprint
        without a designator text also gets the fab-layer `${REFERENCE}` of KiCad's libraries."""
        around = Extent()
        around.merge(self.extent)
        for text in texts:  # Altium's silkscreen texts too, so the fields never overlap them
            if self.layer_map.lookup(text.layer)[0] in ("F.SilkS", "B.SilkS"):
                around.add_all(text_corners(text, _glyph_size(text)))
        ref_at, value_at = auto_field_positions(around)
        if reference is None:
            reference = self._property(
                "Reference", "REF**", ref_at, "F.SilkS", uuid=generated_uuid(name, "reference")
            )
            size = fab_text_size(self.extent)
            thickness = r6(max(0.02, FIELD_THICKNESS * size / FIELD_SIZE))
            items.append(
                node(
                    "fp_text",
                    Symbol("user"),
                    "${REFERENCE}",
                    node("at", *xy(self.extent.center), 0),
                    node("layer", "F.Fab"),
                    node("uuid", generated_uuid(name, "fab-reference")),
                    node("effects", node("font", node("size", size, size), node("thickness", thickness))),
                )
            )
        if value is None:
            value = self._property("Value", name, value_at, "F.Fab", uuid=generated_uuid(name, "value"))
        return reference, value

    def _texts(self, texts: list[Text], items: list, name: str) -> list:
        reference = value = None
        for text in texts:
            if text.barcode:
                self.warnings.append(
                    f"barcode text '{text.text}' left out (KiCad footprints have no barcodes)"
                )
                continue
            layers = self._graphic_layers(text.layer, f"text '{text.text}'")
            if not layers:
                continue
            layer = layers[0]
            if layer in COURTYARD_LAYERS:  # only outlines belong on a courtyard
                self.warnings.append(f"text '{text.text}' on {layer} moved to {COURTYARD_LAYERS[layer]}")
                layer = COURTYARD_LAYERS[layer]
            content = text.text.replace(".Designator", "${REFERENCE}").replace(".Comment", "${VALUE}")
            if text.frame is not None and not text.inverted:
                items.append(self._text_box(text, text.frame, content, layer))
                continue
            effects = self._effects(text)
            at = node("at", *xy(self._baseline(text)), r6(text.rotation % 360))
            if text.role == "designator" and reference is None:
                reference = node("property", "Reference", "REF**", at, node("layer", layer), effects)
                continue
            if text.role == "comment" and value is None:
                value = node("property", "Value", name, at, node("layer", layer), effects)
                continue
            layer_expr = node("layer", layer, Symbol("knockout")) if text.inverted else node("layer", layer)
            items.append(node("fp_text", Symbol("user"), content, at, layer_expr, effects))
        reference, value = self._auto_fields(reference, value, name, items, texts)
        fields = [
            reference,
            value,
            self._property("Datasheet", "", (0, 0), hidden=True),
            self._property("Description", "", (0, 0), hidden=True),
        ]
        return fields

    @staticmethod
    def _baseline(text: Text):
        """Where KiCad's left-bottom anchor goes for an Altium text position.

        Altium's position is the bottom of the text's box, below the descenders; KiCad's importer
        moves the anchor "down" the text (perpendicular to its baseline, turned with the text) by a
        fixed share of the KiCad glyph size: 0.1225 for the stroke font, 0.17 for TrueType fonts
        (measured on every text of KiCad's own conversions in reference/, mirrored ones alike)."""
        drop = _glyph_size(text) * (0.17 if text.truetype else 0.1225)
        return rotate((text.position[0], text.position[1] + drop), text.position, text.rotation)

    def _text_box(self, text: Text, frame: Point, content: str, layer: str) -> list:
        """An Altium text frame: its position is the frame's lower-left corner, which it turns about.
        KiCad's importer writes frames top-left justified without a border; rotated frames become
        KiCad's rotated text box (four corners and the angle)."""
        w, h = frame
        x, y = text.position
        corners = [(x, y - h), (x + w, y - h), (x + w, y), (x, y)]
        angle = text.rotation % 360
        if angle:
            shape = [
                node("pts", *[node("xy", *xy(rotate(c, text.position, angle))) for c in corners]),
                node("margins", 0, 0, 0, 0),
                node("angle", r6(angle)),
            ]
        else:
            shape = [
                node("start", *xy(corners[0])),
                node("end", *xy(corners[2])),
                node("margins", 0, 0, 0, 0),
            ]
        effects = self._effects(text, (Symbol("left"), Symbol("top")))
        return node(
            "fp_text_box",
            content,
            *shape,
            node("layer", layer),
            effects,
            node("border", Symbol("no")),
            _stroke(0.1, "default"),
        )

    def _effects(self, text: Text, justify: tuple = (Symbol("left"), Symbol("bottom"))) -> list:
        size = _glyph_size(text)
        font = [node("face", text.font_name)] if text.truetype and text.font_name else []
        font += [node("size", r6(size), r6(size)), node("thickness", r6(max(text.stroke_width, 0.0)))]
        if text.bold:
            font.append(node("bold", Symbol("yes")))
        if text.italic:
            font.append(node("italic", Symbol("yes")))
        marks = [*justify, Symbol("mirror")] if text.mirrored else list(justify)
        return node("effects", node("font", *font), node("justify", *marks))

    # -- 3D -------------------------------------------------------------------------------
    @staticmethod
    def _model(body: ComponentBody, link: ModelLink) -> list:
        def norm(a: float) -> float:
            a = (a + 180.0) % 360.0 - 180.0
            return r6(a)

        x, y, z = (0.0, 0.0, 0.0) if link.in_footprint_frame else body.offset
        rotation = (
            (0.0, 0.0, 0.0)
            if link.in_footprint_frame
            else (-body.rotation[0], -body.rotation[1], -body.rotation[2] + body.body_rotation)
        )
        return node(
            "model",
            link.path,
            node("offset", node("xyz", r6(x), r6(-y), r6(z))),
            node("scale", node("xyz", 1, 1, 1)),
            node("rotate", node("xyz", *(norm(a) for a in rotation))),
        )
