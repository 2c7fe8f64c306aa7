"""The PcbLib writer: streams laid out as Altium lays them out, primitives byte-equal to Altium's own
where their layout is fully known, and our reader gets the same content back."""

from __future__ import annotations

import struct
import zlib

import olefile
import pytest

from converters.altium.pcblib import read_pcblib
from converters.altium.records import parse_properties
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures.sample_library import LAYER_NAMES, sample_footprints


def _blocks(data: bytes, pos: int, count: int) -> tuple[list[bytes], int]:
    out = []
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, pos)
        out.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return out, pos


def test_library_streams(tmp_path):
    footprints = sample_footprints()
    path = pcb.write_pcblib(tmp_path / "Sample.PcbLib", footprints, LAYER_NAMES)
    ole = olefile.OleFileIO(str(path))
    streams = {"/".join(p) for p in ole.listdir()}
    for footprint in footprints:
        assert {f"{footprint.name}/{s}" for s in ("Header", "Data", "Parameters", "WideStrings")} <= streams
    assert {
        "FileHeader",
        "Library/Header",
        "Library/Data",
        "Library/Models/Header",
        "Library/Models/Data",
        "Library/Models/0",
    } <= streams

    header = ole.openstream("FileHeader").read()
    assert header[4 : 5 + 27] == b"\x1bPCB 6.0 Binary Library File"
    assert struct.unpack_from("<d", header, 32)[0] == pytest.approx(5.01)

    data = ole.openstream("Library/Data").read()
    (size,) = struct.unpack_from("<I", data, 0)
    props = parse_properties(data[4 : 4 + size])
    assert props.text("LAYER71NAME") == "Courtyard" and props.boolean("LAYER71MECHENABLED")
    assert props.text("KIND") == "Protel_Advanced_PCB_Library"
    (count,) = struct.unpack_from("<I", data, 4 + size)
    names, end = _blocks(data, 8 + size, count)
    assert [n[1:].decode() for n in names] == [f.name for f in footprints] and end == len(data)

    params = parse_properties(ole.openstream("DIP-8/Parameters").read()[4:])
    assert params.text("PATTERN") == "DIP-8" and params.text("HEIGHT").endswith("mil")
    assert struct.unpack("<I", ole.openstream("SOIC-8/Header").read())[0] == len(footprints[7].primitives)

    model_props = parse_properties(ole.openstream("Library/Models/Data").read()[4:])
    step = zlib.decompress(ole.openstream("Library/Models/0").read())
    assert model_props.text("NAME") == "LED0805.step" and model_props.boolean("EMBED")
    assert step.startswith(b"ISO-10303-21;") and step.rstrip().endswith(b"END-ISO-10303-21;")


def test_pad_record_has_six_subrecords_of_the_lengths_kicad_expects():
    pad = pcb.Pad("A1", 10, -20, 30, 40, pcb.ROUNDED_RECTANGLE, corner_radius_percent=50)
    record = pcb.pad_record(pad)
    assert record[0] == pcb.PRIMITIVE_PAD
    subs, end = _blocks(record, 1, 6)
    assert end == len(record)
    assert subs[0] == b"\x02A1" and subs[2] == b"\x04|&|0"
    assert [len(s) for s in subs[3:]] == [1, 114, 596]
    main, shape = subs[4], subs[5]
    assert struct.unpack_from("<iiii", main, 13) == (100000, -200000, 300000, 400000)
    assert main[49] == pcb.ROUND and shape[532] == pcb.ROUNDED_RECTANGLE and shape[564] == 50


def test_slot_hole_in_size_and_shape_subrecord():
    pad = pcb.Pad(
        "1",
        0,
        0,
        60,
        100,
        pcb.ROUND,
        pcb.MULTI_LAYER,
        hole=30,
        hole_shape=pcb.HOLE_SLOT,
        slot_length=70,
        slot_rotation=90,
    )
    subs, _ = _blocks(pcb.pad_record(pad), 1, 6)
    assert struct.unpack_from("<i", subs[4], 45)[0] == 300000
    assert subs[5][262] == pcb.HOLE_SLOT
    assert struct.unpack_from("<id", subs[5], 263) == (700000, 90.0)


def test_text_uses_wide_strings_index():
    footprint = pcb.Footprint("T", primitives=[pcb.Text(0, 0, "A"), pcb.Text(0, 0, "Ωx")])
    wide = parse_properties(pcb.wide_strings(footprint)[4:])
    assert wide.text("ENCODEDTEXT1") == "937,120"
    data = pcb.footprint_data(footprint)
    subs, _ = _blocks(data, 0, 1)
    assert subs[0] == b"\x01T"


@pytest.mark.parametrize(
    "library, primitive",
    [
        ("TRACK_WIDTHS", pcb.Track(-100, -85, 100, -85, width=50, layer=pcb.TOP)),
        ("ARCS_TEST", pcb.Arc(0, 0, 100, 0.0, 360.0, width=10, layer=pcb.TOP)),
        ("FILLS_TEST", pcb.Fill(-50, -25, 50, 25, layer=pcb.TOP)),
    ],
)
def test_primitive_bytes_equal_those_altium_wrote(shared, library, primitive):
    """The first primitive of Altium-written one-feature libraries, rebuilt from its values."""
    path = shared / f"corpus/altiumsharp/TestData/Generated/Individual/PCB/{library}.PcbLib"
    data = olefile.OleFileIO(str(path)).openstream(f"{library}/Data").read()
    _, pos = _blocks(data, 0, 1)
    (altium,), _ = _blocks(data, pos + 1, 1)
    (ours,), _ = _blocks(pcb.primitive_record(primitive, 0), 1, 1)
    assert data[pos] == pcb.primitive_record(primitive, 0)[0]
    assert ours == altium


# --- our reader reads back what we wrote --------------------------------------------------------------


def test_reader_reads_back_the_sample_footprints(tmp_path):
    footprints = sample_footprints()
    library = read_pcblib(pcb.write_pcblib(tmp_path / "Sample.PcbLib", footprints, LAYER_NAMES))
    assert not library.failures
    by_name = {f.name: f for f in library.footprints}
    assert list(by_name) == [f.name for f in footprints]
    for written in footprints:
        read = by_name[written.name]
        pads = [p for p in written.primitives if isinstance(p, pcb.Pad)]
        assert [p.number for p in read.pads] == [p.designator for p in pads]
        for ours, theirs in zip(pads, read.pads, strict=False):
            # mils, Y up -> mm, Y down (footprints flip at the reader's edge)
            assert theirs.position == pytest.approx((ours.x * 0.0254, -ours.y * 0.0254), abs=1e-5)
        assert read.description == written.description
        assert not read.warnings, (written.name, read.warnings)

    slot = by_name["DIP-8"].pads[-1]
    assert slot.hole.shape.value == "slot" and slot.hole.slot_length == pytest.approx(70 * 0.0254)
    assert not slot.hole.plated
    assert by_name["R0603"].pads[0].copper["top"].shape.value == "roundrect"
    courtyard = [line for line in by_name["SOIC-8"].lines if line.layer.name == "Courtyard"]
    assert len(courtyard) == 4
    body = by_name["LED0805"].bodies[0]
    assert body.embedded and library.models[body.model_id].data.startswith(b"ISO-10303-21;")


def every_primitive() -> pcb.Footprint:
    return pcb.Footprint(
        "ALL",
        "every primitive",
        50,
        [
            pcb.Pad("1", 0, 0, 40, 40),
            pcb.Track(0, 0, 100, 0, 8),
            pcb.Arc(50, 50, 20, 0, 90, 6),
            pcb.Text(10, 20, "Ωhm", 40),
            pcb.Fill(-10, -10, 10, 20, pcb.TOP, 45.0),
            pcb.Region(
                [(0, 0), (100, 0), (100, 100), (0, 100)], pcb.TOP, holes=[[(40, 40), (60, 40), (60, 60)]]
            ),
            pcb.ComponentBody([(0, 0), (10, 0), (10, 10)], overall_height=25),
        ],
    )


def test_reader_reads_back_every_primitive_kind(tmp_path):
    library = read_pcblib(pcb.write_pcblib(tmp_path / "all.PcbLib", [every_primitive()]))
    assert not library.failures
    (fp,) = library.footprints
    assert not fp.warnings
    mm = 0.0254
    assert fp.lines[0].start == pytest.approx((0, 0)) and fp.lines[0].end == pytest.approx((100 * mm, 0))
    assert fp.arcs[0].center == pytest.approx((50 * mm, -50 * mm)) and fp.arcs[0].radius == pytest.approx(
        20 * mm
    )
    assert (fp.arcs[0].start_angle, fp.arcs[0].end_angle) == (0.0, 90.0)
    assert fp.texts[0].text == "Ωhm" and fp.texts[0].height == pytest.approx(40 * mm)
    assert fp.fills[0].rotation == 45.0
    assert len(fp.regions[0].outline) == 4 and len(fp.regions[0].holes) == 1
    assert fp.regions[0].holes[0][2] == pytest.approx((60 * mm, -60 * mm))
    assert fp.bodies[0].overall_height == pytest.approx(25 * mm, abs=1e-5)
