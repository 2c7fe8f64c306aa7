"""Reference/Value placement and courtyards KiCad accepts (fast: our reader and writer, no KiCad)."""

from __future__ import annotations

import pytest

from converters.convert import ConvertOptions, convert_paths
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures.sample_library import COURTYARD, LAYER_NAMES
from converters.kicad.courtyard import Piece, chain, generated_rectangle
from converters.kicad.footprint_fields import Extent, auto_field_positions, generated_uuid
from converters.kicad.sexpr_reader import at, child, children, parse, value, walk

# A 2-row connector 12 mm wide: fixed (0, -2)/(0, 2) field positions land on its pads.
WIDE_PADS = [
    pcb.Pad(str(i + 1), pcb.mm(-5 + i * 2), pcb.mm(-1.5 if i % 2 else 1.5), 60, 80) for i in range(6)
]


def _square(x1, y1, x2, y2, gap=0.0, layer=COURTYARD):
    """A courtyard drawn as four tracks; `gap` leaves the last corner open by that much (mm)."""
    a, b, c, d = (x1, y1), (x2, y1), (x2, y2), (x1, y2)
    corners = [(a, b), (b, c), (c, d), (d, (x1, y1 + gap))]
    return [pcb.Track(pcb.mm(p[0]), pcb.mm(p[1]), pcb.mm(q[0]), pcb.mm(q[1]), 2, layer) for p, q in corners]


def _convert(tmp_path, primitives, name="PART"):
    lib = pcb.write_pcblib(tmp_path / "Lib.PcbLib", [pcb.Footprint(name, primitives=primitives)], LAYER_NAMES)
    report = convert_paths([lib], tmp_path / "out", ConvertOptions())
    text = (tmp_path / "out" / "footprints" / "Lib.pretty" / f"{name}.kicad_mod").read_text()
    row = next(r for r in report.items if r.kind == "footprint")
    return parse(text), row


def _field(tree, key):
    return next(p for p in children(tree, "property") if p[1] == key)


def _pad_box(tree):
    ys = [at(p)[1] for p in children(tree, "pad")]
    half = max(float(child(p, "size")[2]) for p in children(tree, "pad")) / 2
    return min(ys) - half, max(ys) + half


def test_fields_without_altium_text_sit_outside_the_pads(tmp_path):
    tree, _ = _convert(tmp_path, WIDE_PADS)
    top, bottom = _pad_box(tree)
    ref, val = _field(tree, "Reference"), _field(tree, "Value")
    assert value(child(ref, "layer")) == "F.SilkS" and value(child(val, "layer")) == "F.Fab"
    # text 1 mm high, centred: its lower edge clears the pads' solder mask openings (4 mil
    # expansion) by KiCad's 0.2 mm gap
    mask = 4 * 0.0254
    assert at(ref)[1] + 0.5 == pytest.approx(top - mask - 0.2, abs=1e-6)
    assert at(val)[1] - 0.5 == pytest.approx(bottom + mask + 0.2, abs=1e-6)
    assert at(ref)[0] == pytest.approx(0.0, abs=1e-6)
    fab = [t for t in children(tree, "fp_text") if t[2] == "${REFERENCE}"]
    assert len(fab) == 1 and value(child(fab[0], "layer")) == "F.Fab"
    assert value(child(ref, "uuid")) == generated_uuid("PART", "reference")


def test_altium_designator_text_keeps_its_place(tmp_path):
    text = pcb.Text(pcb.mm(0), pcb.mm(-4), ".Designator", role="designator")
    tree, _ = _convert(tmp_path, [*WIDE_PADS, text])
    ref = _field(tree, "Reference")
    assert child(ref, "uuid") is None  # not ours: DRC findings on it belong to the original
    assert not [t for t in children(tree, "fp_text") if t[2] == "${REFERENCE}"]


def test_courtyard_with_a_rounding_gap_is_closed(tmp_path):
    tree, row = _convert(tmp_path, [*WIDE_PADS, *_square(-7, -3, 7, 3, gap=0.01)])
    lines = [n for n in children(tree, "fp_line") if value(child(n, "layer")) == "F.CrtYd"]
    assert len(lines) == 4
    ends = [tuple(child(n, "end")[1:]) for n in lines]
    starts = [tuple(child(n, "start")[1:]) for n in lines]
    assert sorted(ends) == sorted(starts)  # every corner shared exactly: a closed outline
    assert not any("courtyard" in m for m in row.messages)


def test_open_courtyard_falls_back_to_a_generated_one(tmp_path):
    tree, row = _convert(tmp_path, [*WIDE_PADS, *_square(-7, -3, 7, 3, gap=1.0)])
    crtyd = [n for n in tree[1:] if isinstance(n, list) and value(child(n, "layer")) == "F.CrtYd"]
    assert [n[0] for n in crtyd] == ["fp_rect"]
    assert value(child(crtyd[0], "uuid")) == generated_uuid("PART", "courtyard-F.CrtYd")
    fab_lines = [n for n in children(tree, "fp_line") if value(child(n, "layer")) == "F.Fab"]
    assert len(fab_lines) == 4  # Altium's open pieces kept, off the courtyard
    assert any("do not close" in m and "generated" in m for m in row.messages)
    top, bottom = _pad_box(tree)
    assert float(child(crtyd[0], "start")[2]) == pytest.approx(top - 0.25, abs=0.011)
    assert float(child(crtyd[0], "end")[2]) == pytest.approx(bottom + 0.25, abs=0.011)


def test_text_on_the_courtyard_layer_moves_to_fab(tmp_path):
    tree, row = _convert(tmp_path, [*WIDE_PADS, pcb.Text(0, 0, "CY", layer=COURTYARD)])
    texts = [t for t in walk(tree, "fp_text") if t[2] == "CY"]
    assert value(child(texts[0], "layer")) == "F.Fab"
    assert any("moved to F.Fab" in m for m in row.messages)


def test_chain_joins_out_of_order_and_reversed_pieces():
    pieces = [
        Piece((0, 0), (10, 0)),
        Piece((10, 5.02), (10, 0)),  # reversed, 0.02 mm off
        Piece((0, 5), (0, 0)),
        Piece((10, 5), (0, 5)),
    ]
    joined = chain(pieces)
    assert not joined.open_pieces and len(joined.loops) == 1
    loop = joined.loops[0]
    assert all(loop[i].end == loop[(i + 1) % 4].start for i in range(4))


def test_chain_leaves_a_dangling_line_open():
    joined = chain([Piece((0, 0), (1, 0)), Piece((1, 0), (1, 1)), Piece((5, 5), (6, 6))])
    assert not joined.loops and len(joined.open_pieces) == 3


def test_generated_rectangle_is_on_the_grid_around_the_box():
    (x1, y1), (x2, y2) = generated_rectangle((-1.003, -0.5, 1.003, 0.5))
    assert (x1, y1, x2, y2) == (-1.26, -0.75, 1.26, 0.75)


def test_auto_positions_follow_kicad():
    extent = Extent()
    extent.add_all([(-3, -1), (5, 2)])
    ref, val = auto_field_positions(extent)
    assert ref == (1.0, -1.7) and val == (1.0, 2.7)


def test_silk_crossing_a_pad_mask_opening_is_trimmed(tmp_path):
    pad = pcb.Pad("1", 0, 0, pcb.mm(1), pcb.mm(1))  # 1 x 1 mm, 4 mil mask expansion
    crossing = pcb.Track(pcb.mm(-3), 0, pcb.mm(3), 0, width=pcb.mm(0.15))
    clear = pcb.Track(pcb.mm(-3), pcb.mm(2), pcb.mm(3), pcb.mm(2), width=pcb.mm(0.15))
    tree, row = _convert(tmp_path, [pad, crossing, clear])
    silk = [n for n in children(tree, "fp_line") if value(child(n, "layer")) == "F.SilkS"]
    spans = sorted(
        (float(child(n, "start")[1]), float(child(n, "end")[1])) for n in silk if child(n, "start")[2] == "0"
    )
    opening = 0.5 + 0.1016 + 0.075  # half pad + mask expansion + half stroke
    assert spans == [(-3.0, pytest.approx(-opening, abs=1e-3)), (pytest.approx(opening, abs=1e-3), 3.0)]
    assert [n for n in silk if child(n, "start")[2] == "-2"]  # the clear line is kept whole
    assert any("1 silkscreen strokes trimmed" in m for m in row.messages)
