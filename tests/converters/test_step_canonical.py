"""Canonical STEP numbering: two isomorphic files (entities numbered and ordered differently,
records wrapped differently, occurrence ids from a running counter) become the same bytes."""

from __future__ import annotations

from converters.kicad.step_canonical import canonical_step

HEAD = "ISO-10303-21;\nHEADER;\nFILE_NAME('x','2000-01-01T00:00:00',(''),(''),'','','');\nENDSEC;\nDATA;\n"
TAIL = "ENDSEC;\nEND-ISO-10303-21;\n"

ONE = """#1 = CARTESIAN_POINT('',(0.,0.,0.));
#2 = CARTESIAN_POINT('',(0.,0.,0.));
#3 = PRODUCT('left','left','',(#9));
#4 = PRODUCT('right','right','',(#9));
#5 = SHAPE('',#1,#3);
#6 = SHAPE('',#2,#4);
#7 = STYLED_ITEM('color',(#8),#1);
#8 = COLOUR_RGB('',1.,0.,0.);
#9 = PRODUCT_CONTEXT('',#10,'mechanical');
#10 = APPLICATION_CONTEXT('a; b');
#11 = NEXT_ASSEMBLY_USAGE_OCCURRENCE('12','=>[0:1:1:2]','',#5,#6,$);
"""
# the same graph: renumbered, reordered, wrapped, and the style on the other (equal) point
TWO = """#20 = APPLICATION_CONTEXT('a; b');
#21 = PRODUCT_CONTEXT('',#20,
  'mechanical');
#22 = CARTESIAN_POINT('',(0.,0.,0.));
#23 = PRODUCT('right','right','',(#21));
#24 = SHAPE('',#22,#23);
#25 = CARTESIAN_POINT('', (0.,0.,0.));
#26 = PRODUCT('left','left','',(#21));
#27 = SHAPE('',#25,#26);
#28 = COLOUR_RGB('',1.,0.,0.);
#29 = STYLED_ITEM('color',(#28),#25);
#30 = NEXT_ASSEMBLY_USAGE_OCCURRENCE('33','=>[0:1:1:2]','',#27,#24,$ );
"""


def test_isomorphic_files_become_identical():
    one = canonical_step((HEAD + ONE + TAIL).encode())
    two = canonical_step((HEAD + TWO + TAIL).encode())
    assert one == two
    text = one.decode()
    assert text.startswith(HEAD) and text.endswith(TAIL)
    assert "'a; b'" in text  # strings kept as written, ';' inside them included
    assert "NEXT_ASSEMBLY_USAGE_OCCURRENCE('0:1:1:2'" in text


def test_the_style_stays_on_the_point_of_its_own_product():
    text = canonical_step((HEAD + ONE + TAIL).encode()).decode()
    records = dict(line.split(" = ", 1) for line in text.splitlines() if line.startswith("#"))
    styled = next(v for v in records.values() if v.startswith("STYLED_ITEM"))
    point = styled.rsplit("#", 1)[1].rstrip(");")
    left = next(k for k, v in records.items() if v.startswith("PRODUCT('left'"))
    shape = next(v for v in records.values() if v.startswith("SHAPE") and v.endswith(f"{left});"))
    assert f"#{point}," in shape  # the styled point is the left product's, as in the input
