"""The SchLib writer: streams laid out as Altium lays them out, records Altium's own bytes, and our
reader gets the same content back."""

from __future__ import annotations

import struct
import zlib

import olefile
import pytest

from converters.altium.records import parse_properties, split_records
from converters.altium.schlib import read_schlib
from converters.fixtures import schlib_writer as sch
from converters.fixtures.pin_text_library import write_pin_text_library
from converters.fixtures.sample_library import sample_symbols


def _records(stream: bytes):
    records, error = split_records(stream)
    assert error is None
    return records


def test_library_streams_and_file_header(tmp_path):
    long_name = "An operational amplifier whose name is longer than 31 characters"
    symbols = sample_symbols() + [sch.Symbol(long_name, "long", pins=[sch.Pin("1", "A", 0, 0)])]
    path = sch.write_schlib(tmp_path / "lib.SchLib", symbols)

    ole = olefile.OleFileIO(str(path))
    streams = {"/".join(p) for p in ole.listdir()}
    assert {"FileHeader", "Storage", "SectionKeys", "MCU_32/Data", "MCU_32/PinFrac", "RES/Data"} <= streams
    assert f"{long_name[:31]}/Data" in streams

    header = parse_properties(_records(ole.openstream("FileHeader").read())[0].payload)
    assert header.text("HEADER") == sch.HEADER
    assert header.integer("COMPCOUNT") == len(symbols)
    assert [header.text(f"LIBREF{n}") for n in range(len(symbols))] == [s.name for s in symbols]
    assert header.integer("PARTCOUNT3") == 4  # OPAMP_DUAL: 3 units, stored as parts + 1
    assert header.integer("FONTIDCOUNT") == 2 and header.text("FONTNAME1") == "Times New Roman"
    storages = sch.section_keys([s.name for s in symbols]).values()
    total = sum(len(_records(ole.openstream(f"{key}/Data").read())) for key in storages)
    assert header.integer("WEIGHT") == total + 1

    keys = parse_properties(_records(ole.openstream("SectionKeys").read())[0].payload)
    assert keys.integer("KEYCOUNT") == 1
    assert keys.text("LIBREF0") == long_name and keys.text("SECTIONKEY0") == long_name[:31]
    assert (
        parse_properties(_records(ole.openstream("Storage").read())[0].payload).text("HEADER")
        == "Icon storage"
    )


def test_section_keys_stay_unique_and_legal():
    names = ["x" * 40, "x" * 35, "a/b", "short"]
    keys = sch.section_keys(names)
    assert keys["short"] == "short" and keys["a/b"] == "a_b"
    assert len({k.upper() for k in keys.values()}) == 4 and all(len(k) <= 31 for k in keys.values())


def test_symbol_data_stream_order_and_owner_indexes():
    symbol = sch.Symbol(
        "R",
        "resistor",
        "R?",
        pins=[sch.Pin("1", "1", -10, 0, sch.LEFT, 10)],
        graphics=[sch.Rectangle(-10, -3, 10, 3)],
        parameters=[sch.Parameter("Value", "1k")],
        footprints=[sch.FootprintLink("R0603"), sch.FootprintLink("R0805", current=False)],
    )
    records = _records(b"".join(sch.symbol_records(symbol)))
    kinds = ["PIN" if r.binary else parse_properties(r.payload).text("RECORD") for r in records]
    assert kinds == ["1", "PIN", "14", "34", "41", "41", "44", "45", "46", "48", "45", "46", "48"]
    props = [parse_properties(r.payload) for r in records]
    assert props[0].text("LIBREFERENCE") == "R" and props[0].integer("PARTCOUNT") == 2
    assert props[7].integer("OWNERINDEX") == 6 and props[8].integer("OWNERINDEX") == 7
    assert props[10].integer("OWNERINDEX") == 6 and props[11].integer("OWNERINDEX") == 10
    assert props[7].text("MODELNAME") == "R0603" and props[7].boolean("ISCURRENT")
    assert not props[10].boolean("ISCURRENT")


def test_coordinates_split_into_integer_and_frac():
    assert sch.split_coord(12.5) == (12, 50000)
    assert sch.split_coord(-2.25) == (-2, -25000)
    record = sch.graphic_record(sch.Line(0.5, -1, 10, 20.75), 1)
    props = parse_properties(_records(record)[0].payload)
    assert "LOCATION.X" not in props and props.integer("LOCATION.X_FRAC") == 50000
    assert props.integer("CORNER.Y") == 20 and props.integer("CORNER.Y_FRAC") == 75000


def test_pin_frac_stream_holds_the_fractions():
    pins = [sch.Pin("1", "A", 10, 0), sch.Pin("2", "B", 10.5, -3.25, length=20.1)]
    stream = sch.pin_frac_stream(pins)
    records = _records(stream)
    assert parse_properties(records[0].payload).integer("WEIGHT") == 1
    payload = records[1].payload
    assert records[1].binary and payload[0] == 0xD0 and payload[1:3] == b"\x011"
    size = struct.unpack_from("<I", payload, 3)[0]
    assert struct.unpack("<iii", zlib.decompress(payload[7 : 7 + size])) == (50000, -25000, 10000)
    assert sch.pin_frac_stream(pins[:1]) is None


def test_non_latin1_text_also_written_as_utf8():
    record = sch.text_record([("RECORD", "41"), ("Text", "10 kΩ")])
    props = parse_properties(_records(record)[0].payload)
    assert props.text("TEXT") == "10 kΩ"


def test_pin_bytes_equal_a_pin_altium_wrote(shared):
    """RESISTOR.SchLib (written by Altium): pin 1 'P1' at (-20, 0), leftwards, 300 mil, passive."""
    path = shared / "corpus/altiumsharp/TestData/Generated/Individual/SchLib/RESISTOR.SchLib"
    ole = olefile.OleFileIO(str(path))
    altium_pins = [r.payload for r in _records(ole.openstream("RESISTOR/Data").read()) if r.binary]
    ours = [
        _records(sch.pin_record(sch.Pin(d, f"P{d}", x, 0, o, 30)))[0].payload
        for d, x, o in (("1", -20, sch.LEFT), ("2", 20, sch.RIGHT))
    ]
    assert ours == altium_pins


# --- our reader reads back what we wrote --------------------------------------------------------------


def test_reader_reads_back_the_sample_symbols(tmp_path):
    path = sch.write_schlib(tmp_path / "Sample.SchLib", sample_symbols())
    library = read_schlib(path)
    assert not library.failures
    by_name = {s.name: s for s in library.symbols}
    assert list(by_name) == [s.name for s in sample_symbols()]
    for written in sample_symbols():
        read = by_name[written.name]
        assert read.description == written.description
        assert sorted(p.number for p in read.pins) == sorted(p.designator for p in written.pins)
        assert [f.name for f in read.footprints] == [f.name for f in written.footprints]
        assert read.unit_count == written.parts and read.body_styles == written.display_modes
        assert not read.warnings, (written.name, read.warnings)

    mcu = by_name["MCU_32"]
    hidden = {p.number for p in mcu.pins if p.hidden}
    assert hidden == {"25", "26", "27", "28", "29", "30"}
    pc15 = next(p for p in mcu.pins if p.number == "32")  # (100, -50.5) rightwards, 300 mil: PinFrac
    assert pc15.position == pytest.approx(((100 + 30) * 0.254, -50.5 * 0.254))
    assert pc15.length == pytest.approx(7.62)
    opamp = by_name["OPAMP_DUAL"]
    assert {p.number: p.owner.unit for p in opamp.pins} == {
        "1": 1,
        "2": 1,
        "3": 1,
        "7": 2,
        "6": 2,
        "5": 2,
        "8": 3,
        "4": 3,
    }
    nand = by_name["NAND2"]
    assert sorted((p.number, p.owner.body_style) for p in nand.pins)[:2] == [("1", 1), ("1", 2)]
    assert by_name["RES"].get_field("Value").value == "10k"


def test_reader_reads_back_every_graphic_kind(tmp_path):
    graphics = [
        sch.Rectangle(0, 0, 10, 10),
        sch.Line(0, 0, 10, 0),
        sch.Polyline([(0, 0), (5, 5), (10, 0)]),
        sch.Polygon([(0, 0), (5, 5), (10, 0)]),
        sch.Arc(5, 5, 5, 0, 180),
        sch.Ellipse(5, 5, 4, 4),
        sch.Label(1, 1, "text"),
    ]
    symbol = sch.Symbol("G", pins=[sch.Pin("1", "A", 0, 0, sch.LEFT, 10)], graphics=graphics)
    library = read_schlib(sch.write_schlib(tmp_path / "g.SchLib", [symbol]))
    (read,) = library.symbols
    assert not library.failures and not read.warnings
    kinds = [type(g).__name__ for g in read.graphics]
    assert kinds.count("Rectangle") == 1 and kinds.count("Arc") == 1 and kinds.count("Circle") == 1
    assert kinds.count("Polyline") == 3 and kinds.count("Text") == 1
    assert next(g for g in read.graphics if type(g).__name__ == "Text").text == "text"


def test_file_header_with_the_binary_symbol_list_reads_without_warning(tmp_path):
    """Recent Altium versions append the symbol list to FileHeader in binary (count, then blocks
    holding Pascal strings); it is no record and must not be framed as one (issue 8: a framing
    warning on 85 % of such files)."""
    from converters.altium.schlib import read_schlib

    symbols = sample_symbols()
    path = sch.write_schlib(tmp_path / "Binary.SchLib", symbols, binary_names=True)
    raw = olefile.OleFileIO(str(path)).openstream("FileHeader").read()
    first, tail = raw[: 4 + struct.unpack_from("<I", raw)[0]], raw[4 + struct.unpack_from("<I", raw)[0] :]
    assert struct.unpack_from("<I", tail)[0] == len(symbols)
    assert tail[4:9] == struct.pack("<I", 1 + len(symbols[0].name)) + bytes([len(symbols[0].name)])
    assert parse_properties(first[4:]).text("HEADER") == sch.HEADER

    library = read_schlib(path)
    assert library.warnings == [] and library.failures == [] and library.losses == []
    assert [s.name for s in library.symbols] == [s.name for s in symbols]
    assert all(not s.warnings for s in library.symbols), [s.warnings for s in library.symbols]


def test_pin_text_data_entries_equal_what_altium_wrote(shared):
    """Altium's entries for a name in font 2 (LTM4620) and a designator in font 2 (L_2P)."""
    for file, storage, pin in (
        ("LTM4620AIY#PBF.Schlib", "LTM4620AIY#PBF", sch.Pin("1", "A", 0, 0, name_font_id=2)),
        ("L_2P.SchLib", "L_2P", sch.Pin("1", "A", 0, 0, designator_font_id=2)),
    ):
        ole = olefile.OleFileIO(str(shared / "corpus/altium-monkey/examples/assets/schlib" / file))
        altium = _records(ole.openstream(f"{storage}/PinTextData").read())
        ours = _records(sch.pin_text_data_stream([pin]))
        assert parse_properties(ours[0].payload).text("HEADER") == "PinTextData"
        unpacked = [
            zlib.decompress(r.payload[7 : 7 + struct.unpack_from("<I", r.payload, 3)[0]])
            for r in (altium[1], ours[1])
        ]
        assert unpacked[0] == unpacked[1], file


def test_reader_reads_back_per_pin_text_visibility_and_fonts(tmp_path):
    from converters.altium.schlib import read_schlib

    path = write_pin_text_library(tmp_path / "ldo.SchLib")
    (read,) = read_schlib(path).symbols
    assert not read.warnings
    pins = {p.number: p for p in read.pins}
    assert {n for n, p in pins.items() if not p.name_visible} == {"4", "5"}
    assert {n for n, p in pins.items() if not p.number_visible} == {"TAB"}
    assert {n: p.name_size for n, p in pins.items()} == {
        "1": 1.27,
        "2": 2.54,
        "3": 1.27,
        "4": 1.27,
        "5": 1.27,
        "TAB": 1.27,
    }
    assert {p.number_size for p in pins.values()} == {1.27}
