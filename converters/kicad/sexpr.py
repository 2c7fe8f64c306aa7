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
    if (
        type(value) is float and value.is_integer()
    ):  # most coordinates: the same digits as the general case, much sooner
        return "0" if value == 0 else str(int(value))
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# One pass over the text instead of five replaces (the same result: each character maps alone).
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def quote(text: str) -> str:
    return f'"{text.translate(_ESCAPES)}"'


def yes_no(flag: bool) -> Symbol:
    return Symbol("yes" if flag else "no")


_TOKENS: dict[str, Symbol] = {}


def node(token: str, *children) -> SExpr:
    """A token with its children; None children are left out so optional parts read naturally."""
    head = _TOKENS.get(token)
    if head is None:
        head = _TOKENS[token] = Symbol(token)
    return [head, *[c for c in children if c is not None]]


def _atom(value: Atom) -> str:
    # Exact types first: this runs for every atom of every file. mypy does not narrow through
    # `kind`, and isinstance here would cost the speed this order exists for.
    kind = type(value)
    if kind is str:
        return quote(value)  # type: ignore[arg-type]  # kind is str
    if kind is float:
        return format_number(value)  # type: ignore[arg-type]  # kind is float
    if kind is Symbol:
        return value  # type: ignore[return-value]  # kind is Symbol, a str
    if kind is int:
        return str(value)
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
    if head in _INLINE or not any(type(c) is list for c in expr):
        out.append("\t" * indent + _inline(expr))
        return
    parts = [head]
    lists = []
    for child in expr[1:]:
        if type(child) is list:
            lists.append(child)
        else:
            parts.append(_atom(child))
    out.append("\t" * indent + "(" + " ".join(parts) + "\n")
    for child in lists:
        _render(child, indent + 1, out)
        out.append("\n")
    out.append("\t" * indent + ")")


def _inline(value) -> str:
    if type(value) is not list:
        return _atom(value)
    parts = [str(value[0])]
    for child in value[1:]:
        parts.append(_inline(child) if type(child) is list else _atom(child))
    return "(" + " ".join(parts) + ")"


def render_all(exprs: Iterable[SExpr]) -> str:
    return "\n".join(render(e) for e in exprs)
