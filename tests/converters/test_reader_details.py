"""Reader and geometry details the mutation run found untested (fast, fixture-built inputs)."""

from __future__ import annotations

import zlib

import pytest

from converters.altium.pcblib import read_pcblib
from converters.altium.pcblib_binary import split_primitive_subrecords
from converters.altium.records import parse_properties
from converters.altium.schlib_shapes import parse_bezier
from converters.convert import convert_paths
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures import schlib_writer as sch
from converters.fixtures.cfb_writer import write_compound_file
from converters.kicad.footprint_geometry import stroke_segment
from converters.kicad.sexpr_reader import child, children, parse, value
from converters.model.symbol import Bezier, Owner, Polyline


def _bezier_props(count: int) -> bytes:
    xy = "".join(f"|X{i}={i}|Y{i}={i * 2}" for i in range(1, count + 1))
    return f"|RECORD=5|LOCATIONCOUNT={count}{xy}|".encode()


@pytest.mark.parametrize(("count", "curves"), [(4, 1), (7, 2), (10, 3)])
def test_bezier_of_3n_plus_1_points_is_n_curves(count, curves):
    notes: list[str] = []
    shapes = parse_bezier(parse_properties(_bezier_props(count)), Owner(1, 0), notes)
    assert [type(s) for s in shapes] == [Bezier] * curves and notes == []
    assert shapes[-1].points[-1] == pytest.approx((count * 0.254, count * 2 * 0.254))


def test_bezier_of_other_counts_is_a_polyline_through_its_points():
    notes: list[str] = []
    (shape,) = parse_bezier(parse_properties(_bezier_props(5)), Owner(1, 0), notes)
    assert isinstance(shape, Polyline) and len(shape.points) == 5 and "not 3n+1" in notes[0]


def test_a_stroked_segment_is_a_stadium_with_round_caps_outside_its_ends():
    outline = stroke_segment((0.0, 0.0), (10.0, 0.0), 2.0)
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    assert min(xs) == pytest.approx(-1.0) and max(xs) == pytest.approx(11.0)
    assert min(ys) == pytest.approx(-1.0) and max(ys) == pytest.approx(1.0)


def test_an_empty_subrecord_may_end_the_stream():
    assert split_primitive_subrecords(b"\x00\x00\x00\x00", 0, 1) == ([b""], 4)
    assert split_primitive_subrecords(b"\x02\x00\x00\x00ab\x00\x00\x00\x00", 0, 2) == ([b"ab", b""], 10)


def test_a_model_record_without_embed_is_embedded(tmp_path):
    """Altium's default for EMBED is true: a record that does not say is still a model."""
    model = pcb.Model3D("BOX.step", b"ISO-10303-21;\nHEADER;\nENDSEC;\nEND-ISO-10303-21;\n")
    body = pcb.ComponentBody([(0, 0), (10, 0), (10, 10)], model=model)
    streams = pcb.pcblib_streams([pcb.Footprint("M", primitives=[body])], None, filename="M.PcbLib")
    streams["Library/Models/Data"] = pcb.properties(
        [("ID", model.id), ("NAME", model.name)], leading_bar=False
    )
    streams["Library/Models/0"] = zlib.compress(model.step)
    library = read_pcblib(write_compound_file(tmp_path / "M.PcbLib", streams))
    assert [(m.name, m.data) for m in library.models.values()] == [("BOX.step", model.step)]


def test_mandatory_fields_kicad_adds_are_hidden_but_reference_and_value(tmp_path):
    out = tmp_path / "out"
    convert_paths(
        [sch.write_schlib(tmp_path / "F.SchLib", [sch.Symbol("BARE", pins=[sch.Pin("1", "1", 0, 0)])])], out
    )
    (symbol,) = children(parse((out / "symbols" / "F.kicad_sym").read_text(encoding="utf-8")), "symbol")
    hidden = {
        value(p): child(child(p, "effects"), "hide") is not None or child(p, "hide") is not None
        for p in children(symbol, "property")
    }
    assert {k: hidden[k] for k in ("Reference", "Value", "Footprint", "Datasheet", "Description")} == {
        "Reference": False,
        "Value": False,
        "Footprint": True,
        "Datasheet": True,
        "Description": True,
    }
