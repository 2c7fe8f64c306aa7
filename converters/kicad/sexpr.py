"""KiCad's s-expression text: build nested lists, print them as KiCad does.

Writers build trees of `SExpr` lists whose first element is the token name, with `Symbol` for
bare atoms (`yes`, `solid`, layer-free keywords) and `str` for quoted strings. Numbers are printed
the way KiCad prints millimetres: at most 6 decimals, no trailing zeros, never `-0`.
"""

from __future__ import annotations

from collections.abc import Iterable


class Symbol(str):
    """A bare atom, printed without quotes."""


Atom = str | Symbol | int | float | bool
SExpr = list  # [Symbol(token), *children]


def format_number(value: float) -> str:
    if isinstance(value, bool):
        raise TypeError("booleans are written as yes/no symbols")
    if isinstance(value, int):
        return str(value)
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    escaped = escaped.replace("\t", "\\t")
    return f'"{escaped}"'


def yes_no(flag: bool) -> Symbol:
    return Symbol("yes" if flag else "no")


def node(token: str, *children) -> SExpr:
    """A token with its children; None children are left out so optional parts read naturally."""
    return [Symbol(token), *(c for c in children if c is not None)]


def _atom(value: Atom) -> str:
    if isinstance(value, Symbol):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format_number(value)


# Tokens KiCad writes on one line, whatever they hold (keeps files compact and diff-friendly).
_INLINE = {
    "at",
    "xy",
    "start",
    "end",
    "mid",
    "center",
    "size",
    "width",
    "length",
    "color",
    "type",
    "layer",
    "layers",
    "offset",
    "scale",
    "rotate",
    "thickness",
    "drill",
    "roundrect_rratio",
    "version",
    "generator",
    "generator_version",
    "uuid",
    "hide",
    "justify",
    "pin_numbers",
    "pin_names",
    "exclude_from_sim",
    "in_bom",
    "on_board",
    "unit_name",
    "radius",
    "angle",
    "fill",
    "bold",
    "italic",
    "face",
    "chamfer_ratio",
    "chamfer",
    "solder_mask_margin",
    "solder_paste_margin",
    "solder_paste_margin_ratio",
    "clearance",
    "thermal_bridge_width",
    "attr",
    "property_hide",
    "embedded_fonts",
    "tstamp",
    "descr",
    "tags",
    "extends",
    "body_styles",
    "duplicate_pad_numbers_are_jumpers",
}


def render(expr: SExpr, indent: int = 0) -> str:
    """The text of one expression, indented with tabs as KiCad 9 writes it."""
    out: list[str] = []
    _render(expr, indent, out)
    return "".join(out)


def _render(expr: SExpr, indent: int, out: list[str]) -> None:
    head = str(expr[0])
    children = expr[1:]
    lists = [c for c in children if isinstance(c, list)]
    if not lists or head in _INLINE:
        out.append("\t" * indent + "(" + " ".join([head] + [_inline(c) for c in children]) + ")")
        return
    atoms = [c for c in children if not isinstance(c, list)]
    out.append("\t" * indent + "(" + " ".join([head] + [_atom(a) for a in atoms]) + "\n")
    for child in lists:
        _render(child, indent + 1, out)
        out.append("\n")
    out.append("\t" * indent + ")")


def _inline(value) -> str:
    if isinstance(value, list):
        return "(" + " ".join([str(value[0])] + [_inline(c) for c in value[1:]]) + ")"
    return _atom(value)


def render_all(exprs: Iterable[SExpr]) -> str:
    return "\n".join(render(e) for e in exprs)
