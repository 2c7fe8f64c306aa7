"""SchLib shapes KiCad lacks, drawn with what it has: an elliptical arc as cubic Beziers."""

from __future__ import annotations

import pytest

from converters.altium.records import parse_properties
from converters.altium.schlib_shapes import parse_elliptical_arc
from converters.model.symbol import Bezier, Owner


def test_quarter_elliptical_arc_is_one_bezier_with_the_hand_worked_control_points():
    # radii 20 x 10 (10-mil units) = 5.08 x 2.54 mm, 0 to 90 degrees; the quarter-circle constant
    # k = 4/3 tan(22.5 deg) = 0.5522847, stretched to each radius: 2.805606 and 1.402803 mm
    props = parse_properties(
        b"|RECORD=11|LOCATION.X=0|LOCATION.Y=0|RADIUS=20|SECONDARYRADIUS=10|ENDANGLE=90|"
    )
    notes: list[str] = []
    (curve,) = parse_elliptical_arc(props, Owner(1, 1), notes)
    assert isinstance(curve, Bezier) and notes == [
        "elliptical arc drawn as Bezier curves (KiCad has no ellipses)"
    ]
    expected = [(5.08, 0.0), (5.08, 1.402803), (2.805606, 2.54), (0.0, 2.54)]
    assert [pytest.approx(p, abs=1e-6) for p in expected] == list(curve.points)


def test_half_elliptical_arc_is_two_quarters_meeting_on_the_minor_axis():
    props = parse_properties(
        b"|RECORD=11|LOCATION.X=10|LOCATION.Y=0|RADIUS=20|SECONDARYRADIUS=10|ENDANGLE=180|"
    )
    first, second = parse_elliptical_arc(props, Owner(1, 1), [])
    assert first.points[-1] == second.points[0] == pytest.approx((2.54, 2.54))
    assert second.points[1] == pytest.approx((2.54 - 2.805606, 2.54), abs=1e-6)
    assert second.points[-1] == pytest.approx((2.54 - 5.08, 0.0), abs=1e-9)


def test_a_damaged_symbol_with_a_long_name_is_reported_by_its_whole_name(tmp_path):
    """Storages hold at most 31 characters; the header's list has the name the user knows."""
    from converters.altium.schlib import read_schlib
    from converters.fixtures import schlib_writer as sch
    from converters.fixtures.cfb_writer import write_compound_file

    long_name = "A regulator whose name is longer than a storage name"
    streams = sch.schlib_streams([sch.Symbol(long_name, pins=[sch.Pin("1", "IN", 0, 0)])])
    streams[f"{long_name[:31]}/Data"] = b"\xff\xff\xff\x7f broken"
    library = read_schlib(write_compound_file(tmp_path / "Long.SchLib", streams))
    assert [f.name for f in library.failures] == [long_name] and library.symbols == []
    assert f"symbol '{long_name}'" in library.failures[0].reason


def test_text_frame_corners_become_top_left_and_size_wherever_it_sits():
    from converters.altium.schlib_common import SymbolContext
    from converters.altium.schlib_text import parse_text_frame

    # corners (30, 40) and (10, 25) in 10-mil units: 20 x 15 units = 5.08 x 3.81 mm, top left (10, 40)
    props = parse_properties(
        b"|RECORD=28|LOCATION.X=30|LOCATION.Y=40|CORNER.X=10|CORNER.Y=25|TEXT=two~1lines|TEXTMARGIN=1|"
    )
    frame = parse_text_frame(props, Owner(1, 0), SymbolContext())
    assert frame.top_left == pytest.approx((2.54, 10.16)) and frame.size == pytest.approx((5.08, 3.81))
    assert frame.text == "two\nlines" and frame.margin == pytest.approx(0.254)
