"""Details of the KiCad output the mutation run (scripts/mutation_test.py) found untested: fill
kinds of symbol shapes, a unit without pins, an arc across 0 degrees, paste and mask layers.

Fast: fixture-written libraries, the real conversion, the written text read back; expected values
worked out by hand (10-mil SchLib units = 0.254 mm; PcbLib mils, KiCad footprints Y down).
"""

from __future__ import annotations

import pytest

from converters.altium.pcblib_layers import read_layer_table
from converters.altium.records import parse_properties
from converters.convert import convert_paths
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures import schlib_writer as sch
from converters.kicad.layers import default_layer
from converters.kicad.sexpr_reader import child, children, parse, value, walk
from converters.model.footprint import LayerRef

RED, GREEN = 0x0000FF, 0x00FF00  # Altium colours are BGR


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, list]:
    folder = tmp_path_factory.mktemp("details")
    two_units = sch.Symbol(
        "TWO", parts=2, pins=[sch.Pin("1", "A", 0, 0, part=1)], graphics=[sch.Rectangle(0, 0, 10, 10, part=1)]
    )
    fills = sch.Symbol(
        "FILLS",
        graphics=[
            sch.Rectangle(0, 0, 10, 10, color=RED, fill_color=RED),  # fill = line colour: outline
            sch.Rectangle(20, 0, 30, 10),  # Altium's body yellow: KiCad's background
            sch.Rectangle(40, 0, 50, 10, fill_color=GREEN),  # any other colour: that colour
            sch.Rectangle(60, 0, 70, 10, filled=False),
        ],
    )
    arcs = sch.Symbol("ARCS", graphics=[sch.Arc(20, -10, 10, start_angle=0, end_angle=90)])
    arc = pcb.Footprint("ARC", primitives=[pcb.Arc(0, 0, 100, start_angle=270, end_angle=90)])
    symbols = sch.write_schlib(folder / "D.SchLib", [two_units, fills, arcs])
    footprints = pcb.write_pcblib(folder / "D.PcbLib", [arc])
    convert_paths([symbols, footprints], folder / "out")
    library = parse((folder / "out" / "symbols" / "D.kicad_sym").read_text(encoding="utf-8"))
    return {
        "symbols": {value(s): s for s in children(library, "symbol")},
        "arc": parse(
            (folder / "out" / "footprints" / "D.pretty" / "ARC.kicad_mod").read_text(encoding="utf-8")
        ),
    }


def test_rectangle_fill_kinds(written):
    rectangles = list(walk(written["symbols"]["FILLS"], "rectangle"))
    kinds = [value(child(child(r, "fill"), "type")) for r in rectangles]
    assert kinds == ["outline", "background", "color", "none"]
    assert child(child(rectangles[2], "fill"), "color")[1:] == ["0", "255", "0", "1"]


def test_symbol_arc_off_the_origin(written):
    """Centre (20, -10) = (5.08, -2.54) mm, radius 2.54 mm, 0 to 90 degrees; 45 degrees is
    2.54 * cos 45 = 1.796051 mm along both axes from the centre."""
    (arc,) = walk(written["symbols"]["ARCS"], "arc")
    points = {token: [round(float(v), 6) for v in child(arc, token)[1:]] for token in ("start", "mid", "end")}
    assert points == {"start": [7.62, -2.54], "mid": [6.876051, -0.743949], "end": [5.08, 0.0]}


def test_a_unit_without_pins_or_shapes_is_still_a_unit(written):
    units = [value(s) for s in children(written["symbols"]["TWO"], "symbol")]
    assert units == ["TWO_1_0", "TWO_2_0"]


def test_arc_from_270_to_90_degrees_passes_through_0(written):
    (arc,) = walk(written["arc"], "fp_arc")
    points = {token: [float(v) for v in child(arc, token)[1:]] for token in ("start", "mid", "end")}
    # radius 100 mil = 2.54 mm; 270 deg (Altium, Y up) is below the centre, KiCad's +Y
    assert points == {"start": [0.0, 2.54], "mid": [2.54, 0.0], "end": [0.0, -2.54]}


@pytest.mark.parametrize(
    ("number", "altium", "kicad"),
    [
        (33, "Top Overlay", "F.SilkS"),
        (34, "Bottom Overlay", "B.SilkS"),
        (35, "Top Paste", "F.Paste"),
        (36, "Bottom Paste", "B.Paste"),
        (37, "Top Solder", "F.Mask"),
        (38, "Bottom Solder", "B.Mask"),
    ],
)
def test_paste_mask_and_overlay_layers_keep_altium_s_names_and_kicad_s_layers(number, altium, kicad):
    """Altium's default names (what a layer map file may name) and KiCad's importer's layers."""
    layer = read_layer_table(parse_properties(b"|RECORD=Library|"))[number]
    assert layer.name == altium
    assert default_layer(LayerRef(number, altium)) == kicad
