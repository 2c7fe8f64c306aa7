"""Reading written KiCad files back: s-expressions, symbol and footprint facts, SVG pictures."""

from __future__ import annotations

import pytest

from converters.kicad.sexpr_reader import SExprError, parse
from include.library_facts import read_footprint, read_symbol_library
from include.svg_render import footprint_svg, symbol_svg

SYMBOLS = """(kicad_symbol_lib (version 20241209) (generator "t")
  (symbol "U" (property "Footprint" "Pkg:SO8" (at 0 0 0))
    (symbol "U_0_1" (rectangle (start -5 5) (end 5 -5)))
    (symbol "U_1_1" (pin input line (at -7.62 0 0) (length 2.54) (name "A") (number "1"))
                    (pin input line (at -7.62 2.54 0) (length 2.54) (name "B") (number "1")))
    (symbol "U_1_2" (pin input line (at -7.62 0 0) (length 2.54) (name "A") (number "1")))
    (symbol "U_2_1" (pin output line (at 7.7 0 180) (length 2.54) (name "Y \\"q\\"") (number "2")))))"""

FOOTPRINT = """(footprint "R0603" (layer "F.Cu")
  (fp_line (start -1 -1) (end 1 -1) (stroke (width 0.05) (type solid)) (layer "F.CrtYd"))
  (pad "1" smd roundrect (at -0.8 0) (size 0.8 0.9) (layers "F.Cu" "F.Paste" "F.Mask"))
  (pad "2" smd roundrect (at 0.8 0 90) (size 0.8 0.9) (layers "F.Cu" "F.Paste" "F.Mask"))
  (model "${KIPRJMOD}/R.step" (offset (xyz 0 0 0))))"""


def test_parse_and_errors():
    assert parse('(a "b \\"c\\"" (d 1))') == ["a", 'b "c"', ["d", "1"]]
    for bad in ("(a (b)", "a)", ")"):
        with pytest.raises(SExprError):
            parse(bad)


def test_symbol_facts(tmp_path):
    path = tmp_path / "Lib.kicad_sym"
    path.write_text(SYMBOLS)
    (u,) = read_symbol_library(path)
    assert (u.library, u.name, u.pins, u.units, u.footprint) == ("Lib", "U", 3, 2, "Pkg:SO8")
    assert u.duplicate_pins == ["unit 1: 1"]  # the De Morgan copy is not a duplicate
    assert u.off_grid_pins == ["2 at (7.7, 0)"]
    assert "<svg" in symbol_svg(parse(SYMBOLS)[3]) and "<line" in symbol_svg(parse(SYMBOLS)[3])
    bad = tmp_path / "Bad.kicad_sym"
    bad.write_text("(kicad_symbol_lib (symbol")
    assert "cannot be read back" in read_symbol_library(bad)[0].error


def test_footprint_facts(tmp_path):
    path = tmp_path / "R0603.kicad_mod"
    path.write_text(FOOTPRINT)
    f = read_footprint(path, "Lib")
    assert (f.name, f.pads, f.courtyard, f.models) == ("R0603", 2, True, ["${KIPRJMOD}/R.step"])
    svg = footprint_svg(parse(FOOTPRINT))
    assert svg.count("<rect") == 2 and "#ff26e2" in svg
