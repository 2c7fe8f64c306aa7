r"""Text records: labels (4), text frames (28), designator (34) and parameters (41), plus overbars.

Altium marks an overlined character by a backslash after it (`R\S\T\`), or a whole name by one
leading backslash; KiCad writes `~{RST}`. Text rotated by 180 or 270 degrees in Altium becomes
KiCad text at 0 or 90 degrees with its anchor side swapped, which draws the same.
"""

from __future__ import annotations

from ..model.symbol import Field, Fill, Owner, Text, TextBox, TextStyle
from .records import Properties
from .schlib_common import SymbolContext, color, corner, fill, length, location, stroke

H_JUSTIFY = ("left", "center", "right")
V_JUSTIFY = ("bottom", "center", "top")
_FLIP = {"left": "right", "right": "left", "center": "center", "bottom": "top", "top": "bottom"}


def overbar_to_kicad(text: str) -> str:
    """Altium's backslash overbars as KiCad's ~{...} markup."""
    if not text or "\\" not in text:
        return text
    if text.startswith("\\") and "\\" not in text[1:]:
        return "~{" + text[1:] + "}" if text[1:] else ""
    chars: list[tuple[str, bool]] = []
    for ch in text:
        if ch == "\\":
            if chars:
                chars[-1] = (chars[-1][0], True)
            continue
        chars.append((ch, False))
    out, run = [], []
    for ch, bar in chars:
        if bar:
            run.append(ch)
            continue
        if run:
            out.append("~{" + "".join(run) + "}")
            run = []
        out.append(ch)
    if run:
        out.append("~{" + "".join(run) + "}")
    return "".join(out)


def placed_style(ctx: SymbolContext, props: Properties, justification: int | None = None) -> TextStyle:
    """Font, angle and justification of a text anchored at LOCATION, as KiCad can draw it."""
    j = props.integer("JUSTIFICATION") if justification is None else justification
    j = j if 0 <= j <= 8 else 0
    h, v = H_JUSTIFY[j % 3], V_JUSTIFY[j // 3]
    orientation = props.integer("ORIENTATION") % 4
    if orientation >= 2:
        h, v = _FLIP[h], _FLIP[v]
    style = ctx.text_style(props, h, v)
    style.angle = 90 if orientation % 2 else 0
    return style


def parse_label(props: Properties, owner: Owner, ctx: SymbolContext) -> Text:
    return Text(
        text=props.text("TEXT"), position=location(props), style=placed_style(ctx, props), owner=owner
    )


def parse_text_frame(props: Properties, owner: Owner, ctx: SymbolContext) -> TextBox:
    (x1, y1), (x2, y2) = location(props), corner(props)
    alignment = props.integer("ALIGNMENT", 1)
    style = ctx.text_style(props, {2: "center", 3: "right"}.get(alignment, "left"), "top")
    if "TEXTCOLOR" in props:
        style.color = color(props.integer("TEXTCOLOR"))
    border = stroke(props) if props.boolean("SHOWBORDER") else None
    area = fill(props) if props.boolean("ISSOLID") else Fill("none")
    if area.kind in ("outline", "background"):
        area = Fill("color", color(props.integer("AREACOLOR")))
    text = props.text("TEXT").replace("~1", "\n")
    return TextBox(
        text=text,
        top_left=(min(x1, x2), max(y1, y2)),
        size=(abs(x2 - x1), abs(y2 - y1)),
        margin=length(props, "TEXTMARGIN"),
        stroke=border,
        fill=area,
        style=style,
        owner=owner,
    )


def parse_field(props: Properties, ctx: SymbolContext) -> Field:
    """A designator or parameter record as a field (its name decided by the symbol builder)."""
    return Field(
        name=props.text("NAME"),
        value=props.text("TEXT"),
        position=location(props),
        style=placed_style(ctx, props),
        hidden=props.boolean("ISHIDDEN"),
    )
