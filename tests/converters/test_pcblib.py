"""PcbLib reader on the one-feature libraries of the corpus (values checked against Altium's JSON)."""

import re

import pytest

from converters.altium.pcblib import PcbLibError, read_pcblib, read_pcblib_data
from converters.altium.pcblib_binary import to_mm
from converters.model.footprint import HoleShape, PadShape

ONE = "corpus/altiumsharp/TestData/Generated/Individual/PCB"


@pytest.fixture(scope="module")
def one(shared):
    return lambda name: read_pcblib(shared / ONE / f"{name}.PcbLib")


def golden_number(shared, name, key):
    text = (shared / ONE / f"{name}.json").read_text(encoding="utf-8", errors="replace")
    m = re.search(rf'"{key}":\s*{{\s*"internal":\s*(-?\d+)', text)
    return int(m.group(1))


def test_units_round_like_kicad():
    assert (
        to_mm(100000) == 0.254 and to_mm(-127950) == -0.32499 and to_mm(127952) == 0.325 and to_mm(1) == 0.0
    )


def test_slot_pad(one, shared):
    pad = one("PAD_TH_SLOT").footprints[0].pads[0]
    assert pad.hole.shape == HoleShape.SLOT and pad.copper["top"].shape == PadShape.RECT
    assert pad.hole.slot_length == to_mm(golden_number(shared, "PAD_TH_SLOT", "holeWidth"))
    assert pad.hole.diameter == to_mm(golden_number(shared, "PAD_TH_SLOT", "holeSize"))


def test_hole_types(one):
    shapes = {p.number: p.hole.shape for p in one("PAD_HOLE_TYPES").footprints[0].pads}
    assert shapes == {"1": HoleShape.ROUND, "2": HoleShape.SQUARE, "3": HoleShape.SLOT}


def test_pad_shapes(one):
    assert one("PAD_SMD_ROUNDED").footprints[0].pads[0].copper["top"].shape == PadShape.ROUNDRECT
    assert one("PAD_TH_OCTAGONAL").footprints[0].pads[0].copper["top"].shape == PadShape.OCTAGONAL
    custom = one("PAD_CUSTOM_SHAPE").footprints[0]
    assert custom.pads and not custom.warnings


def test_regions_arcs_and_texts(one):
    region = one("REGION_WITH_HOLE").footprints[0].regions[0]
    assert region.kind == "copper" and len(region.outline) >= 4
    assert len(one("ARC_ANGLES").footprints[0].arcs) == 5
    texts = one("TEXT_TRUETYPE").footprints[0].texts
    assert texts[0].truetype and texts[0].font_name == "Arial" and texts[0].text == "Arial Italic"


def test_embedded_step_model(one):
    lib = one("BODY_3D_STEP")
    body = lib.footprints[0].bodies[0]
    model = lib.models[body.model_id]
    assert body.embedded and model.is_step and model.data.startswith(b"ISO-10303-21")


def test_name_comes_from_parameters_not_truncated_storage(shared):
    lib = read_pcblib(shared / "corpus/altiumsharp/TestData/PCB - LEADLESS - QFN - PSEMI QFN-24 4x4.PcbLib")
    assert [f.name for f in lib.footprints] == ["PSEMI QFN-24 4x4"]
    assert lib.footprints[0].height == pytest.approx(0.8, abs=1e-3)


def test_unknown_primitive_costs_only_itself(shared):
    """Rewrites a footprint's Data stream with an extra primitive of unknown type 99 in front."""
    import olefile

    source = shared / ONE / "PAD_TH_SLOT.PcbLib"
    ole = olefile.OleFileIO(str(source))
    stream = ole.openstream("PAD_TH_SLOT/Data").read()
    ole.close()
    name_len = int.from_bytes(stream[:4], "little")
    head, prims = stream[: 4 + name_len], stream[4 + name_len :]
    bogus = bytes([99]) + (5).to_bytes(4, "little") + b"abcde"
    from converters.altium.pcblib import _read_primitives
    from converters.model.footprint import Footprint, FootprintLibrary

    fp = Footprint("x")
    _read_primitives(head + bogus + prims, len(head), fp, FootprintLibrary("l", "s"), {}, {})
    assert len(fp.pads) == 1 and any("unknown type 99" in w for w in fp.warnings)


def test_not_a_library_is_a_clear_error():
    with pytest.raises(PcbLibError, match="bad.PcbLib"):
        read_pcblib_data(b"not a compound file", "bad.PcbLib")


def _pad_geometry(shared, name: str) -> bytes:
    """The pad's geometry subrecord (the 5th of 6) of a one-pad library."""
    from converters.altium.compound import CompoundFile
    from converters.altium.pcblib_binary import split_primitive_subrecords

    data = CompoundFile(shared / ONE / f"{name}.PcbLib").read(name, "Data")
    start = 4 + int.from_bytes(data[:4], "little")
    assert data[start] == 2  # a pad
    subs, _ = split_primitive_subrecords(data, start + 1, 6)
    return subs[4]


@pytest.mark.parametrize("name", ["PAD_BACK_DRILL", "PAD_COUNTER_HOLE"])
def test_back_drill_and_counter_hole_libraries_hold_plain_pads(one, shared, name):
    """Altium keeps back drills (drill layer pairs) and counter holes (a board section) outside the
    pad record, so these libraries hold plain plated round pads: our reading equals Altium's JSON and
    nothing is reported. The bytes prove it: apart from the size fields (x/y sizes 21..44, hole
    45..48) and two per-pad GUIDs (126..157), the pad is byte-identical to PAD_TH_ROUND's."""
    [fp] = one(name).footprints
    [pad] = fp.pads
    assert pad.hole.plated and pad.hole.shape == HoleShape.ROUND and not fp.warnings
    assert pad.hole.diameter == to_mm(golden_number(shared, name, "holeSize"))
    assert pad.copper["top"].size == (to_mm(golden_number(shared, name, "topXSize")),) * 2
    assert '"isCounterHole": false' in (shared / ONE / f"{name}.json").read_text(encoding="utf-8")
    mine, plain = _pad_geometry(shared, name), _pad_geometry(shared, "PAD_TH_ROUND")
    differing = {i for i in range(len(plain)) if mine[i] != plain[i]}
    assert len(mine) == len(plain) and differing <= set(range(21, 49)) | set(range(126, 158))


def test_library_warnings_reach_the_report(tmp_path):
    """A model the library lists without its stream: the reader's library warning is a report row
    (footprint libraries dropped their library-level warnings before)."""
    from converters.convert import ConvertOptions, convert_paths
    from converters.fixtures import pcblib_writer as pcb
    from converters.fixtures.cfb_writer import write_compound_file
    from converters.fixtures.step_box import step_box

    model = pcb.Model3D("box.step", step_box("box", 1, 1, 1))
    footprint = pcb.Footprint(
        "F1",
        primitives=[pcb.Pad("1", 0, 0, 30, 30), pcb.ComponentBody([(0, 0), (10, 0), (10, 10)], model=model)],
    )
    streams = pcb.pcblib_streams([footprint])
    del streams["Library/Models/0"]
    path = write_compound_file(tmp_path / "NoModel.PcbLib", streams)
    report = convert_paths([path], tmp_path / "out", ConvertOptions())
    library = [r for r in report.items if r.kind == "library"]
    assert len(library) == 1 and library[0].status.value == "warning"
    assert "Library/Models/0 is missing" in library[0].messages[0]
    assert [r.status.value for r in report.items if r.kind == "footprint"] == ["warning"]


def test_bytes_left_after_the_last_primitive_are_reported(tmp_path):
    """Like KiCad's "stream is not fully parsed": trailing bytes are a warning, never silent."""
    from converters.altium.pcblib import read_pcblib
    from converters.fixtures import pcblib_writer as pcb
    from converters.fixtures.cfb_writer import write_compound_file
    from converters.fixtures.sample_library import LAYER_NAMES

    fp = pcb.Footprint("ONE", primitives=[pcb.Pad("1", 0, 0, 60, 60)])
    streams = pcb.pcblib_streams([fp], LAYER_NAMES, "Tail.PcbLib")
    streams["ONE/Data"] = streams["ONE/Data"] + b"\x07\x01\x02"
    path = write_compound_file(tmp_path / "Tail.PcbLib", streams)
    library = read_pcblib(path)
    assert library.footprints[0].pads
    assert any("3 bytes after the last primitive left unparsed" in w for w in library.footprints[0].warnings)
