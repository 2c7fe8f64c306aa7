"""Small SVG pictures of written symbols and footprints, drawn from the KiCad files themselves.

Not a KiCad renderer: outlines, pins with their names and numbers, texts and pads are enough for
QA to see at a glance that an item has the right shape and pinout. (`kicad_pictures` uses
kicad-cli's own rendering instead when it is configured.)
"""

from __future__ import annotations

import html
import math
import re

from converters.kicad.sexpr_reader import at, child, children, value, walk

COLORS = {
    "F.Cu": "#c83434",
    "B.Cu": "#4d7fc4",
    "F.SilkS": "#9a9a9a",
    "B.SilkS": "#e8b2a7",
    "F.CrtYd": "#ff26e2",
    "B.CrtYd": "#26e9ff",
    "F.Fab": "#afafaf",
    "B.Fab": "#5858f8",
    "Edge.Cuts": "#d0d2cd",
}
# KiCad's default schematic colours: body, body fill, pin name, pin number, field, graphic text
BODY, FILL, PIN_NAME, PIN_NUMBER, FIELD, TEXT = (
    "#840000",
    "#ffffc2",
    "#006464",
    "#a90000",
    "#006464",
    "#0000c2",
)
SYMBOL_PX_PER_MM, FOOTPRINT_PX_PER_MM, MIN_PX, MAX_PX = 9.0, 22.0, 140.0, 360.0
_MARKUP = re.compile(r"([~_^])\{([^{}]*)\}")
_MARKUP_STYLE = {
    "~": 'text-decoration="overline" style="text-decoration:overline"',
    "_": 'baseline-shift="sub" font-size="70%"',
    "^": 'baseline-shift="super" font-size="70%"',
}


def _xy(node) -> tuple[float, float]:
    return float(node[1]), float(node[2])


def _f(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def rich_text(text: str) -> str:
    """KiCad text markup as SVG: `~{RESET}` overbar, `_{x}` subscript, `^{x}` superscript."""
    out, pos = [], 0
    for m in _MARKUP.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        out.append(f"<tspan {_MARKUP_STYLE[m.group(1)]}>{html.escape(m.group(2))}</tspan>")
        pos = m.end()
    return "".join(out) + html.escape(text[pos:])


def _plain(text: str) -> str:
    return _MARKUP.sub(r"\2", text)


def _is_hidden(node) -> bool:
    """`(hide yes)` (KiCad 7+), a bare `hide` atom (older files) or `(hide)` on the node or its effects."""
    for n in (node, child(node, "effects")):
        if n is None:
            continue
        if "hide" in n[1:] or any(value(h, 1, "yes") == "yes" for h in children(n, "hide")):
            return True
    return False


class _Canvas:
    """Collects SVG elements in screen space (y down) and the extent they cover."""

    def __init__(self) -> None:
        self.body: list[str] = []
        self.points: list[tuple[float, float]] = []

    def text(
        self,
        x: float,
        y: float,
        text: str,
        size: float,
        color: str,
        anchor: str = "middle",
        baseline: str = "central",
        angle: float = 0.0,
        extra: str = "",
    ) -> None:
        """`angle` in degrees counter-clockwise as on screen; the extent is estimated from the length."""
        width = len(_plain(text)) * size * 0.62
        start = {"start": 0.0, "middle": -width / 2, "end": -width}[anchor]
        top = {"central": -size / 2, "auto": -size, "hanging": 0.0}[baseline]
        rad = math.radians(-angle)
        for dx, dy in ((start, top), (start + width, top), (start, top + size), (start + width, top + size)):
            self.points.append(
                (x + dx * math.cos(rad) - dy * math.sin(rad), y + dx * math.sin(rad) + dy * math.cos(rad))
            )
        rotate = f' transform="rotate({_f(-angle)} {_f(x)} {_f(y)})"' if angle else ""
        self.body.append(
            f'<text x="{_f(x)}" y="{_f(y)}" font-size="{_f(size)}" fill="{color}" text-anchor="{anchor}" '
            f'dominant-baseline="{baseline}"{rotate}{extra}>{rich_text(text)}</text>'
        )

    def svg(self, px_per_mm: float, caption: str = "") -> str:
        points = self.points or [(0.0, 0.0)]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        margin = 0.8 if px_per_mm < 10 else 0.3
        x0, y0 = min(xs) - margin, min(ys) - margin
        w, h = max(xs) - x0 + margin, max(ys) - y0 + margin
        scale = min(max(px_per_mm, MIN_PX / max(w, h)), MAX_PX / max(w, h))
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{_f(x0)} {_f(y0)} {_f(w)} {_f(h)}" '
            f'width="{w * scale:.0f}" height="{h * scale:.0f}" font-family="sans-serif" '
            f'style="background:#fffdf5">{"".join(self.body)}</svg>'
        )


def _arc_corners(arc) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    return _xy(child(arc, "start")), _xy(child(arc, "mid")), _xy(child(arc, "end"))


def _arc_points(
    start: tuple[float, float], mid: tuple[float, float], end: tuple[float, float], steps: int = 24
) -> list[tuple[float, float]]:
    """The circle through start, mid and end, sampled from start to end through mid."""
    (ax, ay), (bx, by), (cx, cy) = start, mid, end
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    if abs(d) < 1e-9:
        return [start, mid, end]
    ux = ((ax**2 + ay**2) * (by - cy) + (bx**2 + by**2) * (cy - ay) + (cx**2 + cy**2) * (ay - by)) / d
    uy = ((ax**2 + ay**2) * (cx - bx) + (bx**2 + by**2) * (ax - cx) + (cx**2 + cy**2) * (bx - ax)) / d
    r = math.hypot(ax - ux, ay - uy)
    a0, am, a1 = (math.atan2(p[1] - uy, p[0] - ux) for p in (start, mid, end))
    sweep = (a1 - a0) % (2 * math.pi)
    if (am - a0) % (2 * math.pi) > sweep:  # mid is on the other way round
        sweep -= 2 * math.pi
    return [
        (ux + r * math.cos(a0 + sweep * i / steps), uy + r * math.sin(a0 + sweep * i / steps))
        for i in range(steps + 1)
    ]


def _stroke(shape, default_fill: str = "none") -> str:
    fill = value(child(child(shape, "fill") or [], "type"), 1, default_fill)
    color = {"background": FILL, "outline": BODY}.get(fill, "none")
    width = float(value(child(child(shape, "stroke") or [], "width"), 1, "0") or 0) or 0.254
    return f'fill="{color}" stroke="{BODY}" stroke-width="{_f(width)}" stroke-linejoin="round"'


def _unit_and_style(parent: str, sub: str) -> tuple[int, int]:
    """`NAME_2_1` -> (2, 1): sub-symbols are named after their parent, then unit and body style."""
    parts = sub[len(parent) + 1 :].split("_") if sub.startswith(parent + "_") else sub.rsplit("_", 2)[-2:]
    try:
        return int(parts[-2]), int(parts[-1])
    except (ValueError, IndexError):
        return 0, 0


def unit_count(symbol) -> int:
    """How many units a top-level symbol has (1 when it is not split into units)."""
    name = value(symbol)
    return max([1] + [_unit_and_style(name, value(sub))[0] for sub in children(symbol, "symbol")])


def _font_size(node, default: float = 1.27) -> float:
    size = child(child(child(node, "effects") or [], "font") or [], "size")
    return float(size[1]) if size else default


def _justify(node) -> tuple[str, str]:
    words = (child(child(node, "effects") or [], "justify") or [])[1:]
    anchor = "start" if "left" in words else "end" if "right" in words else "middle"
    baseline = "auto" if "bottom" in words else "hanging" if "top" in words else "central"
    return anchor, baseline


def _draw_text(canvas: _Canvas, node, text: str, color: str, angle_scale: float = 1.0) -> None:
    x, y, angle = at(node)
    angle *= angle_scale
    anchor, baseline = _justify(node)
    canvas.text(
        x, -y, text, _font_size(node), color, anchor, baseline, angle % 180
    )  # KiCad keeps texts readable


def _draw_pin(canvas: _Canvas, pin, names_offset: float, show_names: bool, show_numbers: bool) -> None:
    x, y, angle = at(pin)
    length = float(value(child(pin, "length"), 1, "2.54"))
    dx, dy = round(math.cos(math.radians(angle)), 6), -round(math.sin(math.radians(angle)), 6)  # screen space
    sx, sy = x, -y
    ex, ey = sx + length * dx, sy + length * dy
    canvas.points += [(sx, sy), (ex, ey)]
    if _is_hidden(pin):  # drawn faintly so QA sees it exists, without its texts
        canvas.body.append(
            f'<line x1="{_f(sx)}" y1="{_f(sy)}" x2="{_f(ex)}" y2="{_f(ey)}" stroke="{BODY}" '
            f'stroke-width="0.15" stroke-dasharray="0.4 0.3" opacity="0.35"/>'
        )
        return
    shape = value(pin, 2, "line")
    line_end = (ex - 1.27 * dx, ey - 1.27 * dy) if "inverted" in shape else (ex, ey)
    canvas.body.append(
        f'<line x1="{_f(sx)}" y1="{_f(sy)}" x2="{_f(line_end[0])}" y2="{_f(line_end[1])}" '
        f'stroke="{BODY}" stroke-width="0.15"/>'
    )
    if "inverted" in shape:
        canvas.body.append(
            f'<circle cx="{_f(ex - 0.635 * dx)}" cy="{_f(ey - 0.635 * dy)}" r="0.635" fill="none" '
            f'stroke="{BODY}" stroke-width="0.15"/>'
        )
    if "clock" in shape:  # the little triangle inside the body
        px, py = -dy, dx
        tri = [
            (ex + 0.635 * px, ey + 0.635 * py),
            (ex + 1.27 * dx, ey + 1.27 * dy),
            (ex - 0.635 * px, ey - 0.635 * py),
        ]
        canvas.body.append(
            f'<polyline points="{" ".join(f"{_f(a)},{_f(b)}" for a, b in tri)}" fill="none" '
            f'stroke="{BODY}" stroke-width="0.15"/>'
        )
    vertical = abs(dx) < 0.5
    text_angle = 90 if vertical else 0
    # "along" = the direction text runs on screen; "up" = the side above the text line
    along = (0.0, -1.0) if vertical else (1.0, 0.0)
    up = (-1.0, 0.0) if vertical else (0.0, -1.0)
    name = value(child(pin, "name"))
    number = value(child(pin, "number"))
    name_size, number_size = _font_size(child(pin, "name") or []), _font_size(child(pin, "number") or [])
    gap = 0.3
    if show_names and name and name != "~":
        if names_offset > 0:  # inside the body, after the pin's inner end
            nx, ny = ex + names_offset * dx, ey + names_offset * dy
            inward = dx * along[0] + dy * along[1] > 0
            canvas.text(
                nx, ny, name, name_size, PIN_NAME, "start" if inward else "end", "central", text_angle
            )
        else:  # above the pin line
            mx, my = (sx + ex) / 2 + gap * up[0], (sy + ey) / 2 + gap * up[1]
            canvas.text(mx, my, name, name_size, PIN_NAME, "middle", "auto", text_angle)
    if show_numbers and number and number != "~":
        below = show_names and name and name != "~" and names_offset <= 0
        sign = -1 if below else 1
        mx, my = (sx + ex) / 2 + sign * gap * up[0], (sy + ey) / 2 + sign * gap * up[1]
        canvas.text(
            mx, my, number, number_size, PIN_NUMBER, "middle", "hanging" if below else "auto", text_angle
        )


def symbol_svg(symbol) -> str:
    """SVG of one top-level `(symbol ...)` of a .kicad_sym: unit 1, body style 1 and the shared parts."""
    canvas = _Canvas()
    name = value(symbol)
    pin_names, pin_numbers = child(symbol, "pin_names"), child(symbol, "pin_numbers")
    names_offset = float(value(child(pin_names or [], "offset"), 1, "0.508"))
    show_names = not (pin_names is not None and _is_hidden(pin_names))
    show_numbers = not (pin_numbers is not None and _is_hidden(pin_numbers))
    pins: list[list] = []
    for sub in children(symbol, "symbol"):
        unit, style = _unit_and_style(name, value(sub))
        if unit not in (0, 1) or style not in (0, 1):
            continue
        for rect in children(sub, "rectangle"):
            (x1, y1), (x2, y2) = _xy(child(rect, "start")), _xy(child(rect, "end"))
            canvas.points += [(x1, -y1), (x2, -y2)]
            canvas.body.append(
                f'<rect x="{_f(min(x1, x2))}" y="{_f(-max(y1, y2))}" width="{_f(abs(x2 - x1))}" '
                f'height="{_f(abs(y2 - y1))}" {_stroke(rect)}/>'
            )
        for poly in [*children(sub, "polyline"), *children(sub, "bezier")]:
            pts = [(x, -y) for x, y in (_xy(p) for p in walk(poly, "xy"))]
            canvas.points += pts
            canvas.body.append(
                f'<polyline points="{" ".join(f"{_f(x)},{_f(y)}" for x, y in pts)}" {_stroke(poly)}/>'
            )
        for circ in children(sub, "circle"):
            (cx, cy), r = _xy(child(circ, "center")), float(value(child(circ, "radius"), 1, "0"))
            canvas.points += [(cx - r, -cy - r), (cx + r, -cy + r)]
            canvas.body.append(f'<circle cx="{_f(cx)}" cy="{_f(-cy)}" r="{_f(r)}" {_stroke(circ)}/>')
        for arc in children(sub, "arc"):
            pts = [(x, -y) for x, y in _arc_points(*_arc_corners(arc))]
            canvas.points += pts
            canvas.body.append(
                f'<polyline points="{" ".join(f"{_f(x)},{_f(y)}" for x, y in pts)}" {_stroke(arc)}/>'
            )
        for text in children(sub, "text"):
            if not _is_hidden(text):
                _draw_text(
                    canvas, text, value(text), TEXT, angle_scale=0.1
                )  # library texts: tenths of a degree
        pins += children(sub, "pin")
    for pin in pins:  # after the body, so the body's fill does not hide the pin texts
        _draw_pin(canvas, pin, names_offset, show_names, show_numbers)
    for prop in children(symbol, "property"):
        if value(prop) in ("Reference", "Value") and value(prop, 2) and not _is_hidden(prop):
            _draw_text(canvas, prop, value(prop, 2), FIELD)
    return canvas.svg(SYMBOL_PX_PER_MM)


def footprint_svg(footprint) -> str:
    """SVG of a parsed .kicad_mod: pads with their numbers, and graphics on silk, fab and courtyard."""
    canvas = _Canvas()

    def style(g) -> str | None:
        layer = value(child(g, "layer"))
        if layer not in COLORS:
            return None
        width = float(
            value(child(child(g, "stroke") or [], "width"), 1, "0") or value(child(g, "width"), 1, "0.12")
        )
        return (
            f'stroke="{COLORS[layer]}" stroke-width="{_f(width or 0.12)}" fill="none" stroke-linecap="round"'
        )

    for g in children(footprint, "fp_line"):
        if s := style(g):
            (x1, y1), (x2, y2) = _xy(child(g, "start")), _xy(child(g, "end"))
            canvas.points += [(x1, y1), (x2, y2)]
            canvas.body.append(f'<line x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" {s}/>')
    for g in children(footprint, "fp_rect"):
        if s := style(g):
            (x1, y1), (x2, y2) = _xy(child(g, "start")), _xy(child(g, "end"))
            canvas.points += [(x1, y1), (x2, y2)]
            canvas.body.append(
                f'<rect x="{_f(min(x1, x2))}" y="{_f(min(y1, y2))}" width="{_f(abs(x2 - x1))}" '
                f'height="{_f(abs(y2 - y1))}" {s}/>'
            )
    for g in children(footprint, "fp_circle"):
        if s := style(g):
            (cx, cy), (ex, ey) = _xy(child(g, "center")), _xy(child(g, "end"))
            r = math.hypot(ex - cx, ey - cy)
            canvas.points += [(cx - r, cy - r), (cx + r, cy + r)]
            canvas.body.append(f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" {s}/>')
    for g in [*children(footprint, "fp_arc"), *children(footprint, "fp_poly")]:
        if s := style(g):
            pts = _arc_points(*_arc_corners(g)) if g[0] == "fp_arc" else [_xy(p) for p in walk(g, "xy")]
            canvas.points += pts
            tag = "polyline" if g[0] == "fp_arc" else "polygon"
            canvas.body.append(f'<{tag} points="{" ".join(f"{_f(x)},{_f(y)}" for x, y in pts)}" {s}/>')
    for pad in children(footprint, "pad"):
        x, y, angle = at(pad)
        size = child(pad, "size")
        w, h = (float(size[1]), float(size[2])) if size else (1.0, 1.0)
        shape = value(pad, 3)
        layers = child(pad, "layers") or []
        color = (
            COLORS["B.Cu"]
            if "B.Cu" in layers and "F.Cu" not in layers and "*.Cu" not in layers
            else COLORS["F.Cu"]
        )
        reach = math.hypot(w, h) / 2 if angle % 90 else max(w, h) / 2
        canvas.points += (
            [(x - reach, y - reach), (x + reach, y + reach)]
            if angle % 180
            else [(x - w / 2, y - h / 2), (x + w / 2, y + h / 2)]
        )
        rx = (
            min(w, h) / 2
            if shape in ("circle", "oval")
            else (min(w, h) * 0.25 if shape == "roundrect" else 0)
        )
        drill = child(pad, "drill")
        hole = ""
        if drill is not None and len(drill) > 1 and drill[1] != "oval":
            hole = f'<circle cx="0" cy="0" r="{_f(float(drill[1]) / 2)}" fill="#fffdf5"/>'
        number = value(pad)
        label = min(w, h) * 0.55 / max(1.0, len(number) * 0.6)
        canvas.body.append(
            f'<g transform="translate({_f(x)},{_f(y)}) rotate({_f(-angle)})"><rect x="{_f(-w / 2)}" '
            f'y="{_f(-h / 2)}" width="{_f(w)}" height="{_f(h)}" rx="{_f(rx)}" fill="{color}" opacity="0.85"/>'
            f'{hole}<text x="0" y="0" font-size="{_f(label)}" text-anchor="middle" dominant-baseline="central" '
            f'fill="{"#222" if hole else "white"}" font-weight="bold">{html.escape(number)}</text></g>'
        )
    return canvas.svg(FOOTPRINT_PX_PER_MM)
