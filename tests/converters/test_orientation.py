"""Where pins, pads and fills end up in the KiCad output, in every direction and on both sides.

Fast (no ../shared, no KiCad): the fixture writer makes the Altium files, the real conversion writes
KiCad files, and the expected KiCad coordinates are worked out by hand in the tables below (Altium:
Y up, 10-mil units in SchLib, mils in PcbLib; KiCad symbols: Y up, footprints: Y down, millimetres).
A reader that flips a pin or negates a rotation fails here, not only in the corpus tests.
"""

from __future__ import annotations

import pytest

from converters.convert import convert_paths
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures import schlib_writer as sch
from converters.kicad.sexpr_reader import at, child, children, parse, value, walk

# --- pins -------------------------------------------------------------------------------------------
# (orientation, where the pin meets the body in 10-mil units) -> KiCad (at x y angle) in mm.
# A 30-unit (7.62 mm) pin runs from the body towards its orientation; KiCad's `at` is that far
# (electrical) end and its angle points back at the body.
PIN_CASES = [
    ("R", sch.RIGHT, (10, 5), (10.16, 1.27, 180)),
    ("U", sch.UP, (5, 10), (1.27, 10.16, 270)),
    ("L", sch.LEFT, (-10, -5), (-10.16, -1.27, 0)),
    ("D", sch.DOWN, (-5, -10), (-1.27, -10.16, 90)),
]


@pytest.fixture(scope="module")
def kicad_pins(tmp_path_factory) -> dict[str, tuple[tuple[float, float, float], float]]:
    """Pin number -> ((x, y, angle), length) as written in the converted .kicad_sym."""
    folder = tmp_path_factory.mktemp("pins")
    pins = [
        sch.Pin(number, f"P{number}", x, y, orientation=orientation, length=30)
        for number, orientation, (x, y), _ in PIN_CASES
    ]
    symbol = sch.Symbol("COMPASS", pins=pins, graphics=[sch.Rectangle(-10, -10, 10, 10)])
    source = sch.write_schlib(folder / "Compass.SchLib", [symbol])
    report = convert_paths([source], folder / "out")
    assert [r.status.value for r in report.items if r.kind == "symbol"] == ["ok"], report.items
    text = (folder / "out" / "symbols" / "Compass.kicad_sym").read_text(encoding="utf-8")
    found = {}
    for pin in walk(parse(text), "pin"):
        found[value(child(pin, "number"))] = (at(pin), float(value(child(pin, "length"))))
    return found


@pytest.mark.parametrize(("number", "expected"), [(c[0], c[3]) for c in PIN_CASES])
def test_pin_electrical_end_and_angle(kicad_pins, number, expected):
    (x, y, angle), length = kicad_pins[number]
    assert (round(x, 6), round(y, 6), angle) == expected
    assert length == pytest.approx(7.62)


@pytest.mark.parametrize(("number", "base"), [(c[0], c[2]) for c in PIN_CASES])
def test_pin_body_end_is_where_altium_put_the_pin(kicad_pins, number, base):
    """KiCad's body end is `at` + length along `angle`; it must be Altium's pin location."""
    (x, y, angle), length = kicad_pins[number]
    step = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[int(angle)]
    body_end = (round(x + step[0] * length, 6), round(y + step[1] * length, 6))
    assert body_end == (round(base[0] * 0.254, 6), round(base[1] * 0.254, 6))


# --- pads and fills ---------------------------------------------------------------------------------
# A 60 x 30 mil rectangular pad at (100i, 50) mil; KiCad: (2.54 i, -1.27) mm, size 1.524 x 0.762,
# rotation as Altium gives it (both turn counter-clockwise as seen from the top), 0 left out.
PAD_ROTATIONS = [0, 45, 90, 270]


def _pads(side: int, prefix: str) -> list[pcb.Pad]:
    return [
        pcb.Pad(f"{prefix}{i + 1}", 100 * i, 50, 60, 30, layer=side, rotation=r)
        for i, r in enumerate(PAD_ROTATIONS)
    ]


# A 40 x 20 mil fill centred on (100, -200) mil turned by 45 degrees: its corners in KiCad (mm,
# Y down), worked out by hand: half sizes 0.508 x 0.254, cos 45 = sin 45 = 0.707107, centre
# (2.54, 5.08); corner (+0.508, +0.254) (Altium, Y up) turns to (0.179605, 0.538815), i.e. KiCad
# (2.719605, 4.541185), and so on round the rectangle.
FILL_45_CORNERS = {(2.719605, 4.541185), (2.001185, 5.259605), (2.360395, 5.618815), (3.078815, 4.900395)}


def _fills(side: int) -> list[pcb.Fill]:
    return [
        pcb.Fill(80, -210, 120, -190, layer=side, rotation=45),  # the hand-worked one above
        pcb.Fill(180, -210, 220, -190, layer=side, rotation=90),  # stands 20 x 40 mil
        pcb.Fill(280, -210, 320, -190, layer=side, rotation=0),
        pcb.Fill(380, -210, 420, -190, layer=side, rotation=270),
    ]


@pytest.fixture(scope="module")
def kicad_footprint(tmp_path_factory) -> list:
    folder = tmp_path_factory.mktemp("pads")
    primitives = _pads(pcb.TOP, "T") + _pads(pcb.BOTTOM, "B") + _fills(pcb.TOP) + _fills(pcb.BOTTOM)
    source = pcb.write_pcblib(folder / "Turns.PcbLib", [pcb.Footprint("TURNS", primitives=primitives)])
    report = convert_paths([source], folder / "out")
    assert [r.status.value for r in report.items if r.kind == "footprint"] == ["ok"], report.items
    return parse((folder / "out" / "footprints" / "Turns.pretty" / "TURNS.kicad_mod").read_text())


def _named_pads(footprint: list) -> dict[str, list]:
    return {value(p): p for p in children(footprint, "pad") if value(p)}


@pytest.mark.parametrize(("side", "prefix", "copper"), [(pcb.TOP, "T", "F.Cu"), (pcb.BOTTOM, "B", "B.Cu")])
@pytest.mark.parametrize("index", range(len(PAD_ROTATIONS)))
def test_pad_position_rotation_and_side(kicad_footprint, side, prefix, copper, index):
    pad = _named_pads(kicad_footprint)[f"{prefix}{index + 1}"]
    x, y, angle = at(pad)
    assert (round(x, 6), round(y, 6)) == (round(2.54 * index, 6), -1.27)
    assert angle == PAD_ROTATIONS[index]
    assert [float(v) for v in child(pad, "size")[1:]] == [1.524, 0.762]
    assert child(pad, "layers")[1] == copper


def _fill_pads(footprint: list, copper: str) -> list[list]:
    return [p for p in children(footprint, "pad") if not value(p) and child(p, "layers")[1] == copper]


def _corners(pad: list) -> set[tuple[float, float]]:
    """Absolute corners of a custom pad (its primitives are relative to the pad's `at`)."""
    x, y, angle = at(pad)
    assert angle == 0
    points = child(child(child(pad, "primitives"), "gr_poly"), "pts")
    return {(round(x + float(p[1]), 6), round(y + float(p[2]), 6)) for p in children(points, "xy")}


@pytest.mark.parametrize("copper", ["F.Cu", "B.Cu"])
def test_fill_at_45_degrees_has_the_hand_worked_corners(kicad_footprint, copper):
    custom = [p for p in _fill_pads(kicad_footprint, copper) if value(p, 3) == "custom"]
    assert len(custom) == 1
    assert _corners(custom[0]) == FILL_45_CORNERS


@pytest.mark.parametrize("copper", ["F.Cu", "B.Cu"])
def test_fills_at_right_angles_stay_rectangles_turned_as_altium_turns_them(kicad_footprint, copper):
    rects = {
        at(p)[:2]: [float(v) for v in child(p, "size")[1:]]
        for p in _fill_pads(kicad_footprint, copper)
        if value(p, 3) == "rect"
    }
    # centres at (200, -200), (300, -200), (400, -200) mil; 90 and 270 degrees stand the fill up
    assert rects == {
        (5.08, 5.08): [0.508, 1.016],
        (7.62, 5.08): [1.016, 0.508],
        (10.16, 5.08): [0.508, 1.016],
    }
