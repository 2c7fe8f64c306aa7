"""An unknown primitive costs only itself: the PcbLib reader skips it and reads on (fast, fixtures)."""

from __future__ import annotations

from converters.altium.pcblib import read_pcblib
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures.cfb_writer import write_compound_file


def _unknown(kind: int, *subrecords: bytes) -> bytes:
    return bytes([kind]) + b"".join(pcb.block(s) for s in subrecords)


def test_unknown_primitives_between_and_after_pads_are_skipped(tmp_path):
    pads = [pcb.Pad("1", 0, 0, 30, 30), pcb.Pad("2", 100, 0, 30, 30), pcb.Pad("3", 200, 0, 30, 30)]
    footprint = pcb.Footprint("SKIP", primitives=pads)
    streams = pcb.pcblib_streams([footprint], None, filename="Skip.PcbLib")
    records = [pcb.primitive_record(p, 0) for p in pads]
    streams["SKIP/Data"] = (
        pcb.block(pcb.short_string("SKIP"))
        + records[0]
        + _unknown(99, b"abcde")  # one subrecord
        + records[1]
        + _unknown(98, b"x" * 12, b"yy")  # two subrecords
        + records[2]
        + _unknown(97, b"tail")  # the last primitive
    )
    streams["SKIP/Header"] = (6).to_bytes(4, "little")
    library = read_pcblib(write_compound_file(tmp_path / "Skip.PcbLib", streams))
    (fp,) = library.footprints
    assert [p.number for p in fp.pads] == ["1", "2", "3"]
    assert [w.split(":")[-1].strip() for w in fp.warnings if "unknown type" in w] == ["skipped"] * 3
    assert [w.split(" has ")[1].split(":")[0] for w in fp.warnings if "unknown type" in w] == [
        "unknown type 99",
        "unknown type 98",
        "unknown type 97",
    ]


def test_a_body_on_mechanical_17_to_32_lands_on_altium_s_layer_number_for_it():
    """Altium numbers Mechanical 1-16 as 57-72 and Mechanical 17-32 as 1017-1032."""
    from converters.altium.pcblib_layers import read_layer_table
    from converters.altium.pcblib_primitives import parse_body
    from converters.altium.records import parse_properties
    from converters.model.footprint import LayerRef

    def body_on(v7_layer: str) -> int:
        sub = bytes([57]) + b"\x00" * 17 + pcb.properties([("V7_LAYER", v7_layer)], leading_bar=False)
        return parse_body(sub, LayerRef).layer.number

    assert [body_on(n) for n in ("MECHANICAL3", "MECHANICAL16", "MECHANICAL17", "MECHANICAL20")] == [
        59,
        72,
        1017,
        1020,
    ]
    names = read_layer_table(parse_properties(b"|RECORD=Library|"))
    assert (names[72].name, names[1017].name, names[1032].name) == (
        "Mechanical 16",
        "Mechanical 17",
        "Mechanical 32",
    )


def test_mechanical_numbers_of_both_numberings():
    from converters.model.footprint import mechanical_index as mechanical_number

    assert [mechanical_number(n) for n in (56, 57, 72, 73, 1016, 1017, 1020, 1032, 1033)] == [
        None,
        1,
        16,
        None,
        None,
        17,
        20,
        32,
        None,
    ]
