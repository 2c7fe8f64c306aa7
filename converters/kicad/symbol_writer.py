"""The neutral symbol model -> KiCad .kicad_sym text (KiCad 9, or KiCad 8 on request).

The writer sees only the model. It makes the choices KiCad's format forces: items are grouped in
sub-symbols `Name_<unit>_<body style>`, and text angles of 180/270 never occur. KiCad hides pin
names (or numbers) only per symbol; when Altium hides some and shows others, the hidden ones are
written with zero-size text, as KiCad's own importer does, and the symbol flag is left off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ..model.symbol import (
    Arc,
    Bezier,
    Circle,
    Field,
    Fill,
    Pin,
    Polyline,
    Rectangle,
    Stroke,
    Symbol,
    Text,
    TextBox,
    TextStyle,
)
from .sexpr import Symbol as Atom
from .sexpr import node, render

FORMAT_VERSIONS = {9: 20241209, 8: 20231120}
GENERATOR = "altium2kicad"


class SymbolWriteError(ValueError):
    """The model holds something that cannot be written (a bug upstream, reported per symbol)."""


def _hide(version: int):
    """KiCad 9 writes (hide yes); KiCad 8 a bare hide atom."""
    return node("hide", Atom("yes")) if version >= 9 else Atom("hide")


def _xy(token: str, p) -> list:
    return node(token, float(p[0]), float(p[1]))


def _color(c) -> list:
    r, g, b, a = c
    return node("color", int(r), int(g), int(b), float(a))


def stroke_expr(s: Stroke) -> list:
    return node(
        "stroke",
        node("width", float(s.width)),
        node("type", Atom(s.style)),
        _color(s.color) if s.color else None,
    )


def fill_expr(f: Fill) -> list:
    return node(
        "fill", node("type", Atom(f.kind)), _color(f.color) if f.kind == "color" and f.color else None
    )


def effects_expr(style: TextStyle, hidden: bool, version: int) -> list:
    font = node(
        "font",
        node("size", float(style.size), float(style.size)),
        node("bold", Atom("yes")) if style.bold else None,
        node("italic", Atom("yes")) if style.italic else None,
        _color(style.color) if style.color else None,
    )
    justify = [Atom(j) for j in (style.h_justify, style.v_justify) if j != "center"]
    return node(
        "effects", font, node("justify", *justify) if justify else None, _hide(version) if hidden else None
    )


def field_expr(f: Field, version: int) -> list:
    return node(
        "property",
        f.name,
        f.value,
        node("at", float(f.position[0]), float(f.position[1]), int(f.style.angle)),
        effects_expr(f.style, f.hidden, version),
    )


def graphic_expr(g, version: int) -> list:
    if isinstance(g, Rectangle):
        return node(
            "rectangle", _xy("start", g.start), _xy("end", g.end), stroke_expr(g.stroke), fill_expr(g.fill)
        )
    if isinstance(g, Polyline):
        return node(
            "polyline",
            node("pts", *[_xy("xy", p) for p in g.points]),
            stroke_expr(g.stroke),
            fill_expr(g.fill),
        )
    if isinstance(g, Arc):
        return node(
            "arc",
            _xy("start", g.start),
            _xy("mid", g.mid),
            _xy("end", g.end),
            stroke_expr(g.stroke),
            fill_expr(g.fill),
        )
    if isinstance(g, Circle):
        return node(
            "circle",
            _xy("center", g.center),
            node("radius", float(g.radius)),
            stroke_expr(g.stroke),
            fill_expr(g.fill),
        )
    if isinstance(g, Bezier):
        return node(
            "bezier", node("pts", *[_xy("xy", p) for p in g.points]), stroke_expr(g.stroke), fill_expr(g.fill)
        )
    if isinstance(g, Text):
        # library text angles are written in tenths of a degree (KiCad's own quirk)
        return node(
            "text",
            g.text,
            node("at", float(g.position[0]), float(g.position[1]), int(g.style.angle * 10)),
            effects_expr(g.style, False, version),
        )
    if isinstance(g, TextBox):
        border = g.stroke or Stroke(width=-0.0001)  # KiCad's "no border" is a negative width
        m = float(g.margin)
        return node(
            "text_box",
            g.text,
            node("at", float(g.top_left[0]), float(g.top_left[1]), 0),
            node("size", float(g.size[0]), float(g.size[1])),
            node("margins", m, m, m, m),
            stroke_expr(border),
            fill_expr(g.fill),
            effects_expr(g.style, False, version),
        )
    raise SymbolWriteError(f"unknown graphic {type(g).__name__}")


def _pin_text(token: str, text: str, size: float) -> list:
    return node(token, text, node("effects", node("font", node("size", float(size), float(size)))))


def pin_expr(p: Pin, version: int, per_pin_names: bool = False, per_pin_numbers: bool = False) -> list:
    """One pin; `per_pin_*`: the symbol shows some names (numbers), so this pin's own flag decides."""
    name_size = 0.0 if per_pin_names and not p.name_visible else p.name_size
    number_size = 0.0 if per_pin_numbers and not p.number_visible else p.number_size
    return node(
        "pin",
        Atom(p.electrical),
        Atom(p.shape),
        node("at", float(p.position[0]), float(p.position[1]), int(p.angle)),
        node("length", float(p.length)),
        _hide(version) if p.hidden else None,
        _pin_text("name", p.name, name_size),
        _pin_text("number", p.number, number_size),
    )


def _visibility(pins: list[Pin], visible_attr: str, text_attr: str) -> str:
    """'all' / 'none' when every pin with text shows (hides) it, else 'mixed' (decided per pin)."""
    shown = {getattr(p, visible_attr) for p in pins if getattr(p, text_attr)}
    if shown == {False}:
        return "none"
    return "mixed" if len(shown) > 1 else "all"


def symbol_expr(symbol: Symbol, name: str, version: int = 9) -> tuple[list, list[str]]:
    """The `(symbol ...)` expression for one symbol under its KiCad name, and what the format cost."""
    notes: list[str] = []
    numbers = _visibility(symbol.pins, "number_visible", "number")
    names = _visibility(symbol.pins, "name_visible", "name")
    hide_numbers, hide_names = numbers == "none", names == "none"
    head = [
        node("pin_numbers", _hide(version)) if hide_numbers else None,
        node("pin_names", _hide(version)) if hide_names else None,
        node("exclude_from_sim", Atom("no")),
        node("in_bom", Atom("yes")),
        node("on_board", Atom("yes")),
    ]
    fields = [field_expr(f, version) for f in _mandatory_fields(symbol.fields)]
    bodies: dict[tuple[int, int], list] = defaultdict(list)
    for g in symbol.graphics:
        bodies[(g.owner.unit, g.owner.body_style)].append(graphic_expr(g, version))
    for p in symbol.pins:
        bodies[(p.owner.unit, p.owner.body_style)].append(
            pin_expr(p, version, per_pin_names=names == "mixed", per_pin_numbers=numbers == "mixed")
        )
    first_style = 1 if symbol.body_styles > 1 else 0
    for unit in range(1, symbol.unit_count + 1 if symbol.unit_count > 1 else 1):
        if not any(u == unit for u, _ in bodies):
            bodies[(unit, first_style)] = []  # an empty unit still counts as a unit in KiCad
    subs = [
        node("symbol", f"{name}_{unit}_{style}", *items) for (unit, style), items in sorted(bodies.items())
    ]
    tail = [node("embedded_fonts", Atom("no"))] if version >= 9 else []
    return node("symbol", name, *head, *fields, *subs, *tail), notes


def _mandatory_fields(fields: list[Field]) -> list[Field]:
    """KiCad expects Reference, Value, Footprint, Datasheet and Description first, once each."""
    by_name = {f.name: f for f in fields}
    out = [
        by_name.get(n) or Field(n, "", hidden=n != "Reference" and n != "Value")
        for n in ("Reference", "Value", "Footprint", "Datasheet", "Description")
    ]
    out += [
        f for f in fields if f.name not in ("Reference", "Value", "Footprint", "Datasheet", "Description")
    ]
    return out


def library_text(symbol_exprs: Iterable[list], version: int = 9) -> str:
    """The whole .kicad_sym file around already built symbol expressions."""
    if version not in FORMAT_VERSIONS:
        raise SymbolWriteError(f"KiCad version {version} is not supported (8 or 9)")
    lib = node(
        "kicad_symbol_lib",
        node("version", FORMAT_VERSIONS[version]),
        node("generator", GENERATOR),
        node("generator_version", f"{version}.0"),
        *symbol_exprs,
    )
    return render(lib) + "\n"


__all__ = ["symbol_expr", "library_text", "SymbolWriteError", "FORMAT_VERSIONS"]
