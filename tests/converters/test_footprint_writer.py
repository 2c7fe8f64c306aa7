"""Footprint writer on hand-made models: pad kinds, slots at any angle, keep-outs, texts, KiCad 8."""

import re

from converters.kicad.footprint_writer import FootprintWriter, ModelLink
from converters.kicad.layers import LayerMap
from converters.model.footprint import (Arc, ComponentBody, CopperShape, ExpansionMode, Fill, Footprint, Hole,
                                        HoleShape, LayerRef, Line, Pad, PadShape, Region, Text)

TOP, MULTI, OVERLAY = LayerRef(1, "Top Layer"), LayerRef(74, "Multi-Layer"), LayerRef(33, "Top Overlay")


def pad(number="1", shape=PadShape.RECT, size=(1.0, 2.0), layer=TOP, hole=None, **kw):
    copper = {k: CopperShape(shape, size) for k in ("top", "mid", "bottom")}
    return Pad(number, (1.0, -2.0), 0.0, layer, copper, hole=hole, **kw)


def write(fp, version=9):
    return FootprintWriter(LayerMap(), version).write(fp, fp.name)


def test_smd_pad_with_rule_mask_made_explicit():
    fp = Footprint("F", pads=[pad(mask_mode=ExpansionMode.RULE, mask_expansion=0.1016)])
    text = write(fp).text
    assert '(pad "1" smd rect' in text and '(at 1 -2)' in text and '(size 1 2)' in text
    assert '(layers "F.Cu" "F.Mask" "F.Paste")' in text and "(solder_mask_margin 0.1016)" in text
    assert "(version 20241229)" in text


def test_slot_at_45_degrees_turns_the_pad_and_keeps_copper():
    hole = Hole(0.5, HoleShape.SLOT, slot_length=1.5, slot_rotation=45.0)
    written = write(Footprint("F", pads=[pad(layer=MULTI, hole=hole)]))
    assert "(drill oval 1.5 0.5)" in written.text and "(at 1 -2 45)" in written.text
    assert "custom" in written.text and any("45" in w for w in written.warnings)


def test_square_hole_is_reported():
    written = write(Footprint("F", pads=[pad(layer=MULTI, hole=Hole(0.8, HoleShape.SQUARE))]))
    assert "(drill 0.8)" in written.text and any("square hole" in w for w in written.warnings)


def test_roundrect_octagon_and_stack():
    p = pad(shape=PadShape.ROUNDRECT, layer=MULTI, hole=Hole(0.5), stack_mode="top_mid_bottom")
    p.copper["top"].corner_ratio = 0.3
    p.copper["bottom"] = CopperShape(PadShape.OCTAGONAL, (2.0, 2.0))
    text = write(Footprint("F", pads=[p])).text
    assert "(roundrect_rratio 0.3)" in text and "(mode front_inner_back)" in text and "(chamfer_ratio 0.25)" in text
    k8 = FootprintWriter(LayerMap(), 8).write(Footprint("F", pads=[p]), "F")
    assert "padstack" not in k8.text and "(version 20240108)" in k8.text and k8.warnings


def test_unnumbered_copper_touching_a_pad_takes_its_number():
    region = Region([(0.5, -2.5), (1.5, -2.5), (1.5, -1.5), (0.5, -1.5)], [], TOP)
    text = write(Footprint("F", pads=[pad()], regions=[region])).text
    assert text.count('(pad "1"') == 2 and "custom" in text


def test_graphics_keepout_and_texts():
    fp = Footprint("F", lines=[Line((0, 0), (1, 0), 0.2, OVERLAY), Line((0, 1), (1, 1), 0.2, LayerRef(56))],
                   arcs=[Arc((0, 0), 1.0, 0.0, 90.0, 0.1, OVERLAY), Arc((0, 0), 1.0, 0.0, 360.0, 0.1, OVERLAY)],
                   fills=[Fill((0, 0), (1, 1), 0.0, OVERLAY)],
                   texts=[Text("Hi", (0, 0), 1.0, 0.0, 0.1, OVERLAY, truetype=True, font_name="Arial"),
                          Text(".Designator", (0, 0), 1.0, 0.0, 0.1, OVERLAY, role="designator")])
    text = write(fp).text
    assert "fp_line" in text and "(fp_arc" in text and "(mid 0.707107 -0.707107)" in text and "fp_circle" in text
    assert "(zone" in text and "(tracks not_allowed)" in text and "fp_rect" in text
    assert '(face "Arial")' in text and '(property "Reference" "REF**"' in text


def test_region_with_hole_is_one_keyholed_polygon():
    region = Region([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 2)]], OVERLAY)
    text = write(Footprint("F", regions=[region])).text
    assert len(re.findall(r"\(xy ", text)) == 4 + 4 + 2


def test_model_reference_with_offset_and_rotation():
    body = ComponentBody(LayerRef(69), offset=(1.0, -2.0, 0.5), rotation=(90.0, 0.0, 10.0), body_rotation=30.0)
    text = FootprintWriter(LayerMap()).write(Footprint("F", bodies=[body]), "F",
                                             [ModelLink("${ALTIUM2KICAD_3DMODELS}/L.3dshapes/m.step")]).text
    assert '(model "${ALTIUM2KICAD_3DMODELS}/L.3dshapes/m.step"' in text
    assert "(xyz 1 2 0.5)" in text and "(xyz -90 0 20)" in text
