"""Footprint writer on hand-made models: pad kinds, slots at any angle, keep-outs, texts, KiCad 8."""

import re

from converters.kicad.footprint_writer import FootprintWriter, ModelLink
from converters.kicad.layers import LayerMap
from converters.model.footprint import (
    Arc,
    ComponentBody,
    CopperShape,
    ExpansionMode,
    Fill,
    Footprint,
    Hole,
    HoleShape,
    LayerRef,
    Line,
    Pad,
    PadShape,
    Region,
    Text,
)

TOP, MULTI, OVERLAY = LayerRef(1, "Top Layer"), LayerRef(74, "Multi-Layer"), LayerRef(33, "Top Overlay")


def pad(number="1", shape=PadShape.RECT, size=(1.0, 2.0), layer=TOP, hole=None, **kw):
    copper = {k: CopperShape(shape, size) for k in ("top", "mid", "bottom")}
    return Pad(number, (1.0, -2.0), 0.0, layer, copper, hole=hole, **kw)


def write(fp, version=9):
    return FootprintWriter(LayerMap(), version).write(fp, fp.name)


def test_smd_pad_with_rule_mask_made_explicit():
    fp = Footprint("F", pads=[pad(mask_mode=ExpansionMode.RULE, mask_expansion=0.1016)])
    text = write(fp).text
    assert '(pad "1" smd rect' in text and "(at 1 -2)" in text and "(size 1 2)" in text
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
    assert (
        "(roundrect_rratio 0.3)" in text
        and "(mode front_inner_back)" in text
        and "(chamfer_ratio 0.25)" in text
    )
    k8 = FootprintWriter(LayerMap(), 8).write(Footprint("F", pads=[p]), "F")
    assert "padstack" not in k8.text and "(version 20240108)" in k8.text and k8.warnings


def test_unnumbered_copper_touching_a_pad_takes_its_number():
    region = Region([(0.5, -2.5), (1.5, -2.5), (1.5, -1.5), (0.5, -1.5)], [], TOP)
    text = write(Footprint("F", pads=[pad()], regions=[region])).text
    assert text.count('(pad "1"') == 2 and "custom" in text


def test_graphics_keepout_and_texts():
    fp = Footprint(
        "F",
        lines=[Line((0, 0), (1, 0), 0.2, OVERLAY), Line((0, 1), (1, 1), 0.2, LayerRef(56))],
        arcs=[Arc((0, 0), 1.0, 0.0, 90.0, 0.1, OVERLAY), Arc((0, 0), 1.0, 0.0, 360.0, 0.1, OVERLAY)],
        fills=[Fill((0, 0), (1, 1), 0.0, OVERLAY)],
        texts=[
            Text("Hi", (0, 0), 1.0, 0.0, 0.1, OVERLAY, truetype=True, font_name="Arial"),
            Text(".Designator", (0, 0), 1.0, 0.0, 0.1, OVERLAY, role="designator"),
        ],
    )
    text = write(fp).text
    assert (
        "fp_line" in text and "(fp_arc" in text and "(mid 0.707107 -0.707107)" in text and "fp_circle" in text
    )
    assert "(zone" in text and "(tracks not_allowed)" in text and "fp_rect" in text
    assert '(face "Arial")' in text and '(property "Reference" "REF**"' in text


def test_region_with_hole_is_one_keyholed_polygon():
    region = Region([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 2)]], OVERLAY)
    text = write(Footprint("F", regions=[region])).text
    assert len(re.findall(r"\(xy ", text)) == 4 + 4 + 2


def test_model_reference_with_offset_and_rotation():
    body = ComponentBody(
        LayerRef(69), offset=(1.0, -2.0, 0.5), rotation=(90.0, 0.0, 10.0), body_rotation=30.0
    )
    text = (
        FootprintWriter(LayerMap())
        .write(Footprint("F", bodies=[body]), "F", [ModelLink("${ALTIUM2KICAD_3DMODELS}/L.3dshapes/m.step")])
        .text
    )
    assert '(model "${ALTIUM2KICAD_3DMODELS}/L.3dshapes/m.step"' in text
    assert "(xyz 1 2 0.5)" in text and "(xyz -90 0 20)" in text


def _flat(text: str) -> str:
    return re.sub(r"\s*\)", ")", re.sub(r"\s+", " ", text))


def test_text_anchor_drops_below_the_baseline_as_kicad_places_it():
    """KiCad's importer moves Altium's text position down the text by 0.1225 x size (stroke font)
    or 0.17 x KiCad size (TrueType), turned with the text (measured on KiCad's own conversions)."""
    stroke = Text("S", (1.0, 2.0), 1.27, 0.0, 0.127, OVERLAY)
    turned = Text("R", (0.0, 1.905), 1.016, 45.0, 0.1, OVERLAY)
    arial = Text("A", (0.0, 0.0), 1.27, 0.0, 0.254, OVERLAY, truetype=True, font_name="Arial")
    flat = _flat(write(Footprint("F", texts=[stroke, turned, arial])).text)
    assert '(fp_text user "S" (at 1 2.155575 0)' in flat
    assert '(fp_text user "R" (at 0.088007 1.993007 45)' in flat  # KiCad's TEXT_TEST: same numbers
    assert '(fp_text user "A" (at 0 0.136017 0)' in flat


def test_text_frame_is_a_borderless_top_left_box_and_turns_about_its_corner():
    plain = Text("Box", (1.0, -2.0), 1.0, 0.0, 0.1, OVERLAY, frame=(4.0, 2.0))
    turned = Text("Turned", (1.0, -2.0), 1.0, 30.0, 0.1, OVERLAY, frame=(4.0, 2.0))
    written = write(Footprint("F", texts=[plain, turned]))
    flat = _flat(written.text)
    assert '(fp_text_box "Box" (start 1 -4) (end 5 -2)' in flat and "(justify left top)" in flat
    assert flat.count("(border no)") == 2 and not written.warnings
    # the corner (x + w, y) turns 30 degrees counter-clockwise about the anchor (1, -2)
    assert (
        "(pts (xy 0 -3.732051) (xy 3.464102 -5.732051) (xy 4.464102 -4) (xy 1 -2)) (margins 0 0 0 0) (angle 30)"
        in flat
    )


def test_kicad_keeps_a_rotated_text_frame(kicad_validate, shared, tmp_path):
    import subprocess

    turned = Text("Turned", (1.0, -2.0), 1.0, 30.0, 0.1, OVERLAY, frame=(4.0, 2.0))
    source = tmp_path / "in.pretty"
    source.mkdir()
    (source / "F.kicad_mod").write_text(write(Footprint("F", texts=[turned])).text, encoding="utf-8")
    result = subprocess.run(
        [
            str(shared / "tools/kicad/kicad-cli"),
            "fp",
            "upgrade",
            "--force",
            str(source),
            "-o",
            str(tmp_path / "out.pretty"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    saved = _flat((tmp_path / "out.pretty" / "F.kicad_mod").read_text(encoding="utf-8"))
    assert "(xy 0 -3.732051) (xy 3.464102 -5.732051) (xy 4.464102 -4) (xy 1 -2)" in saved
    assert "(angle 30)" in saved and "(border no)" in saved and "(justify left top)" in saved


def test_smd_pad_on_multi_layer_is_on_every_copper_layer_and_both_masks():
    """KiCad has no layer In73.Cu: Altium's Multi-Layer SMD pad becomes `*.Cu *.Mask`, as KiCad's
    importer writes it (issue 8: the copper was lost)."""
    written = write(Footprint("F", pads=[pad(layer=MULTI)]))
    assert '(pad "1" smd rect' in written.text and '(layers "*.Cu" "*.Mask")' in written.text
    layers = re.findall(r'"([^"]*\.Cu)"', written.text)
    assert layers and all(name in ("*.Cu", "F.Cu", "B.Cu") for name in layers), layers


def test_pad_without_designator_is_numbered_empty():
    """KiCad's unnumbered pad is `(pad ""`; a missing number must never become the text None."""
    for number in ("", None):
        for kind, extra in (("smd", {}), ("thru_hole", {"layer": MULTI, "hole": Hole(0.5)})):
            text = write(Footprint("F", pads=[pad(number=number, **extra)])).text
            assert f'(pad "" {kind} rect' in text and "None" not in text
