"""Small SVG pictures of written symbols and footprints, drawn from the KiCad files themselves.

Not a KiCad renderer: outlines, pins and pads are enough for QA to see at a glance that an item
has the right shape. (kicad-cli's `sym/fp export svg` is used instead when configured.)
"""

from __future__ import annotations

import html
import math

from converters.kicad.sexpr_reader import at, child, children, value, walk

COLORS = {"F.Cu": "#c83434", "B.Cu": "#4d7fc4", "F.SilkS": "#d0d0d0", "B.SilkS": "#e8b2a7", "F.CrtYd": "#ff26e2",
          "B.CrtYd": "#26e9ff", "F.Fab": "#afafaf", "B.Fab": "#5858f8", "Edge.Cuts": "#d0d2cd"}


def _xy(node) -> tuple[float, float]:
    return float(node[1]), float(node[2])


def _frame(points: list[tuple[float, float]], body: list[str], flip_y: bool) -> str:
    if not points:
        points = [(0, 0)]
    xs = [p[0] for p in points]
    ys = [(-p[1] if flip_y else p[1]) for p in points]
    pad = 1.0
    x0, y0, w, h = min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad, max(ys) - min(ys) + 2 * pad
    g = f'<g transform="scale(1,-1)">' if flip_y else "<g>"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0:.3f} {y0:.3f} {w:.3f} {h:.3f}" '
            f'width="160" height="{max(40, min(160, 160 * h / max(w, 0.01))):.0f}" style="background:#fffdf5">'
            f'{g}{"".join(body)}</g></svg>')


def symbol_svg(symbol) -> str:
    """SVG of one top-level `(symbol ...)` of a .kicad_sym (unit 1 and shared parts)."""
    body, points = [], []
    stroke = 'fill="none" stroke="#840000" stroke-width="0.254"'
    for sub in children(symbol, "symbol"):
        name = value(sub)
        parts = name.rsplit("_", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[1] not in ("0", "1"):
            continue
        if len(parts) == 3 and parts[2].isdigit() and parts[2] not in ("0", "1"):
            continue
        for rect in children(sub, "rectangle"):
            (x1, y1), (x2, y2) = _xy(child(rect, "start")), _xy(child(rect, "end"))
            points += [(x1, y1), (x2, y2)]
            body.append(f'<rect x="{min(x1, x2)}" y="{min(y1, y2)}" width="{abs(x2 - x1)}" height="{abs(y2 - y1)}" {stroke}/>')
        for poly in children(sub, "polyline"):
            pts = [_xy(p) for p in walk(poly, "xy")]
            points += pts
            body.append(f'<polyline points="{" ".join(f"{x},{y}" for x, y in pts)}" {stroke}/>')
        for circ in children(sub, "circle"):
            (cx, cy), r = _xy(child(circ, "center")), float(value(child(circ, "radius"), 1, "0"))
            points += [(cx - r, cy - r), (cx + r, cy + r)]
            body.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" {stroke}/>')
        for arc in children(sub, "arc"):
            pts = [_xy(child(arc, k)) for k in ("start", "mid", "end")]
            points += pts
            body.append(f'<polyline points="{" ".join(f"{x},{y}" for x, y in pts)}" {stroke}/>')
        for pin in children(sub, "pin"):
            x, y, angle = at(pin)
            length = float(value(child(pin, "length"), 1, "2.54"))
            ex, ey = x + length * math.cos(math.radians(angle)), y + length * math.sin(math.radians(angle))
            points += [(x, y), (ex, ey)]
            body.append(f'<line x1="{x}" y1="{y}" x2="{ex:.3f}" y2="{ey:.3f}" stroke="#840000" stroke-width="0.15"/>'
                        f'<circle cx="{x}" cy="{y}" r="0.25" fill="#840000"/>')
    return _frame(points, body, flip_y=True)


def footprint_svg(footprint) -> str:
    """SVG of a parsed .kicad_mod: pads, and lines/rects/circles on silk, fab and courtyard."""
    body, points = [], []
    for token in ("fp_line", "fp_rect"):
        for g in children(footprint, token):
            layer = value(child(g, "layer"))
            if layer not in COLORS:
                continue
            (x1, y1), (x2, y2) = _xy(child(g, "start")), _xy(child(g, "end"))
            points += [(x1, y1), (x2, y2)]
            style = f'stroke="{COLORS[layer]}" stroke-width="0.12" fill="none"'
            body.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" {style}/>' if token == "fp_line" else
                        f'<rect x="{min(x1, x2)}" y="{min(y1, y2)}" width="{abs(x2 - x1)}" height="{abs(y2 - y1)}" {style}/>')
    for g in children(footprint, "fp_circle"):
        layer = value(child(g, "layer"))
        if layer in COLORS:
            (cx, cy), (ex, ey) = _xy(child(g, "center")), _xy(child(g, "end"))
            r = math.hypot(ex - cx, ey - cy)
            points += [(cx - r, cy - r), (cx + r, cy + r)]
            body.append(f'<circle cx="{cx}" cy="{cy}" r="{r:.3f}" stroke="{COLORS[layer]}" stroke-width="0.12" fill="none"/>')
    for pad in children(footprint, "pad"):
        x, y, angle = at(pad)
        size = child(pad, "size")
        w, h = (float(size[1]), float(size[2])) if size else (1.0, 1.0)
        shape = value(pad, 3)
        layers = child(pad, "layers")
        color = COLORS["B.Cu"] if layers and "B.Cu" in layers and "F.Cu" not in layers and "*.Cu" not in layers \
            else COLORS["F.Cu"]
        points += [(x - w / 2, y - h / 2), (x + w / 2, y + h / 2)]
        rx = min(w, h) / 2 if shape in ("circle", "oval") else (min(w, h) * 0.25 if shape == "roundrect" else 0)
        body.append(f'<g transform="translate({x},{y}) rotate({-angle})"><rect x="{-w / 2}" y="{-h / 2}" width="{w}" '
                    f'height="{h}" rx="{rx}" fill="{color}" opacity="0.85"/>'
                    f'<text x="0" y="0.3" font-size="{min(w, h) * 0.6:.2f}" text-anchor="middle" fill="white">'
                    f'{html.escape(value(pad))}</text></g>')
    return _frame(points, body, flip_y=False)
