"""The SchLib reader on small inputs built here byte by byte: the tricky parts of the format."""

from __future__ import annotations

import math
import struct
import zlib

import pytest

from converters.altium.compound import NotAnAltiumLibrary
from converters.altium.schlib import read_schlib, read_schlib_data
from converters.altium.schlib_common import Font
from converters.altium.schlib_pins import pin_shape
from converters.altium.schlib_symbol import read_symbol
from converters.altium.schlib_text import overbar_to_kicad
from converters.fixtures.cfb_writer import CompoundFileWriter
from converters.model.symbol import Arc, Bezier, Circle, Rectangle, Text

MM = 0.254  # one Altium schematic unit


# --- byte builders -----------------------------------------------------------------------------
def text_record(fields: dict[str, str], raw: bytes = b"") -> bytes:
    body = (
        b"".join(b"|" + k.encode("latin-1") + b"=" + v.encode("latin-1") for k, v in fields.items())
        + raw
        + b"\x00"
    )
    return struct.pack("<I", len(body)) + body


def pascal(text: str | bytes) -> bytes:
    raw = text if isinstance(text, bytes) else text.encode("cp1252")
    return bytes([len(raw)]) + raw


def binary_pin(
    number: str,
    name: str | bytes,
    x: int,
    y: int,
    length: int = 3,
    orientation: int = 0,
    electrical: int = 4,
    part: int = 1,
    mode: int = 0,
    flags: int = 0x18,
    symbols: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> bytes:
    """A library pin record as Altium writes it (high byte of the length marks it binary)."""
    body = (
        struct.pack("<iBhB", 2, 0, part, mode)
        + bytes(symbols)
        + pascal("")
        + struct.pack("<BBBhhhi", 1, electrical, orientation | flags, length, x, y, 0)
        + pascal(name)
        + pascal(number)
        + pascal("")
        + pascal("")
        + pascal("")
    )
    return struct.pack("<I", len(body) | 0x01000000) + body


def component(name: str = "PART", parts: int = 1, modes: int = 1, **extra: str) -> bytes:
    return text_record(
        {
            "RECORD": "1",
            "LibReference": name,
            "PartCount": str(parts + 1),
            "DisplayModeCount": str(modes),
            "OwnerPartId": "-1",
            **extra,
        }
    )


def side_stream(header: str, entries: dict[int, bytes]) -> bytes:
    """PinFrac / PinWideText: a header record, then per pin 0xD0, ordinal, zlib data."""
    out = text_record({"HEADER": header, "Weight": str(len(entries))})
    for ordinal, payload in entries.items():
        z = zlib.compress(payload)
        body = b"\xd0" + pascal(str(ordinal)) + struct.pack("<I", len(z)) + z
        out += struct.pack("<I", len(body) | 0x01000000) + body
    return out


def schlib(symbols: dict[str, bytes], extra_streams: dict[str, bytes] | None = None) -> bytes:
    writer = CompoundFileWriter()
    header = {
        "HEADER": "Protel for Windows - Schematic Library Editor Binary File Version 5.0",
        "FontIdCount": "1",
        "Size1": "10",
        "FontName1": "Times New Roman",
        "CompCount": str(len(symbols)),
    }
    header.update({f"LibRef{i}": name for i, name in enumerate(symbols)})
    writer.add_stream("FileHeader", text_record(header))
    for name, data in symbols.items():
        writer.add_stream((name[:31], "Data"), data)
    for path, data in (extra_streams or {}).items():
        writer.add_stream(path, data)
    return writer.to_bytes()


# --- pins --------------------------------------------------------------------------------------
def test_binary_pin_position_orientation_and_pinfrac():
    data = (
        component() + binary_pin("1", "A", x=10, y=-5, length=3, orientation=2) + binary_pin("2", "B", 0, 0)
    )
    frac = side_stream("PinFrac", {0: struct.pack("<iii", 50000, 25000, 50000)})
    symbol = read_symbol(data, [], "PART", pin_frac=frac)
    first, second = symbol.pins
    # Altium's location is where the pin meets the body; it runs leftwards 3.5 units to its tip
    assert first.position == pytest.approx(((10.5 - 3.5) * MM, -4.75 * MM))
    assert first.length == pytest.approx(3.5 * MM)
    assert first.angle == 0  # KiCad: from the tip towards the body, i.e. rightwards
    assert second.position == pytest.approx((3 * MM, 0.0)) and second.angle == 180
    assert symbol.warnings == []


def test_pin_flags_types_and_hidden():
    data = (
        component()
        + binary_pin("1", "IN", 0, 0, electrical=0, flags=0x04 | 0x08 | 0x10)
        + binary_pin("2", "PWR", 0, -10, electrical=7, flags=0x00)
    )
    symbol = read_symbol(data, [], "PART")
    pin_in, pin_pwr = symbol.pins
    assert (pin_in.electrical, pin_in.hidden, pin_in.name_visible, pin_in.number_visible) == (
        "input",
        True,
        True,
        True,
    )
    assert (pin_pwr.electrical, pin_pwr.hidden, pin_pwr.name_visible, pin_pwr.number_visible) == (
        "power_in",
        False,
        False,
        False,
    )


def test_pin_wide_text_replaces_truncated_names():
    long_name = "N" * 300
    wide = ("|NAME=" + long_name + "|DESIGNATOR=A1").encode("utf-16-le")
    data = component() + binary_pin("A1", long_name[:255], 0, 0)
    symbol = read_symbol(
        data, [], "PART", pin_wide_text=side_stream("PinWideText", {0: struct.pack("<I", len(wide)) + wide})
    )
    assert symbol.pins[0].name == long_name


def _pin_text_part(flags: int, margin: int = 0, font_id: int = 0) -> bytes:
    """One text of a PinTextData entry: flags, then the margin (0x01) and font id + colour (0x10)."""
    out = bytes([flags])
    out += struct.pack("<i", margin) if flags & 0x01 else b""
    return out + (struct.pack("<hi", font_id, 0xFF) if flags & 0x10 else b"")


def test_pin_text_follows_kicad_convention_unless_the_pin_has_its_own_font():
    """Times 10 pt (the system font) gives KiCad's 1.27 mm pin text, not the 1.4668 mm other text
    gets: KiCad's stroke font is wider, and names would run past the body."""
    fonts = [Font(size=1.4668, name="Times New Roman", points=10), Font(size=2.9, name="Arial", points=20)]
    data = (
        component() + binary_pin("1", "A", 0, 0) + binary_pin("2", "B", 0, -10) + binary_pin("3", "C", 0, -20)
    )
    text_data = side_stream(
        "PinTextData",
        {
            # name in font 2 after a custom position; designator in the system font
            1: _pin_text_part(0x11, margin=200000, font_id=2) + _pin_text_part(0x00),
            # designator in font 2, name positioned only
            2: _pin_text_part(0x01, margin=5) + _pin_text_part(0x10, font_id=2),
        },
    )
    symbol = read_symbol(data, fonts, "PART", pin_text_data=text_data)
    sizes = {p.number: (p.name_size, p.number_size) for p in symbol.pins}
    assert sizes == {"1": (1.27, 1.27), "2": (2.54, 1.27), "3": (1.27, 2.54)}
    assert symbol.warnings == []
    # an Altium system font of 20 pt draws every pin's text twice as large
    assert read_symbol(data, fonts[::-1], "PART").pins[0].name_size == 2.54


def test_damaged_pin_text_data_entry_costs_only_its_font():
    data = component() + binary_pin("1", "A", 0, 0) + binary_pin("2", "B", 0, -10)
    fonts = [Font(points=10), Font(points=20)]
    text_data = side_stream("PinTextData", {0: b"\x10\x02", 1: _pin_text_part(0x10, font_id=2) + b"\x00"})
    symbol = read_symbol(data, fonts, "PART", pin_text_data=text_data)
    assert [p.name_size for p in symbol.pins] == [1.27, 2.54]
    assert any(w.startswith("PinTextData entry for pin 0:") for w in symbol.warnings), symbol.warnings


@pytest.mark.parametrize(
    "slots, shape",
    [
        ((0, 0, 0, 0), "line"),
        ((3, 0, 0, 0), "clock"),
        ((0, 1, 0, 0), "inverted"),
        ((3, 1, 0, 0), "inverted_clock"),
        ((0, 4, 0, 0), "input_low"),
        ((3, 4, 0, 0), "clock_low"),
        ((0, 17, 0, 0), "output_low"),
        ((0, 0, 0, 3), "edge_clock_high"),
        ((0, 0, 0, 6), "non_logic"),
        ((0, 0, 3, 0), "clock"),
    ],
)
def test_pin_shapes(slots, shape):
    assert pin_shape(*slots)[0] == shape


def test_pin_decorations_kicad_lacks_are_reported():
    data = component() + binary_pin("1", "S", 0, 0, symbols=(0, 0, 13, 0))  # Schmitt inside
    symbol = read_symbol(data, [], "PART")
    assert symbol.pins[0].shape == "line"
    assert any("Schmitt" in w for w in symbol.warnings)


# --- text --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "altium, kicad",
    [
        ("RESET", "RESET"),
        ("R\\S\\T\\", "~{RST}"),
        ("\\RESET", "~{RESET}"),
        ("C\\S\\/D", "~{CS}/D"),
        ("A\\B", "~{A}B"),
        ("W\\R\\/R\\D\\", "~{WR}/~{RD}"),
    ],
)
def test_overbars(altium, kicad):
    assert overbar_to_kicad(altium) == kicad


def test_overbar_pin_name_and_spaces():
    data = component() + binary_pin("1", "C\\S\\ A", 0, 0)
    assert read_symbol(data, [], "PART").pins[0].name == "~{CS}_A"


def test_unicode_and_utf8_values_win_over_latin1():
    comment = text_record(
        {
            "RECORD": "41",
            "Name": "Comment",
            "Text": "10 uF",
            "OwnerPartId": "-1",
            "UNICODE__TEXT": "49,48,32,956,70",
        }
    )
    note = text_record(
        {"RECORD": "41", "Name": "Note", "Text": "?", "OwnerPartId": "-1"}, raw="|%UTF8%Text=Ω ±5%".encode()
    )
    symbol = read_symbol(component() + comment + note, [], "PART")
    assert symbol.get_field("Value").value == "10 μF"
    assert symbol.get_field("Note").value == "Ω ±5%"


def test_label_rotated_180_keeps_its_anchor():
    label = text_record(
        {
            "RECORD": "4",
            "Text": "hi",
            "Location.X": "2",
            "Location.Y": "3",
            "Orientation": "2",
            "OwnerPartId": "1",
        }
    )
    text = read_symbol(component() + label, [], "PART").graphics[0]
    assert isinstance(text, Text)
    assert text.position == pytest.approx((2 * MM, 3 * MM))
    assert (text.style.angle, text.style.h_justify, text.style.v_justify) == (0, "right", "top")


# --- graphics ----------------------------------------------------------------------------------
def test_small_lines_take_kicads_default_width_as_the_pins_do():
    """Altium draws pins as wide as a 'small' line; KiCad draws pins at its default width, so a
    small line is written with the default (0) and a body keeps the weight of its pins."""
    lines = [
        text_record(
            {"RECORD": "13", "Location.X": "0", "Corner.X": "10", "LineWidth": str(w), "OwnerPartId": "1"}
        )
        for w in (0, 1, 2, 3)
    ]
    symbol = read_symbol(component() + b"".join(lines), [], "PART")
    assert [g.stroke.width for g in symbol.graphics] == [0.1016, 0.0, 0.508, 1.016]


def test_graphics_units_fractions_and_fills():
    rect = text_record(
        {
            "RECORD": "14",
            "Location.X": "-10",
            "Location.Y": "-5",
            "Corner.X": "10",
            "Corner.X_Frac": "50000",
            "Corner.Y": "5",
            "IsSolid": "T",
            "AreaColor": "11599871",
            "OwnerPartId": "1",
        }
    )
    arc = text_record(
        {
            "RECORD": "12",
            "Location.X": "0",
            "Location.Y": "0",
            "Radius": "2",
            "StartAngle": "0",
            "EndAngle": "90",
            "OwnerPartId": "1",
        }
    )
    circle = text_record({"RECORD": "12", "Radius": "1", "EndAngle": "360", "OwnerPartId": "1"})
    ellipse = text_record({"RECORD": "8", "Radius": "4", "SecondaryRadius": "2", "OwnerPartId": "1"})
    symbol = read_symbol(component() + rect + arc + circle + ellipse, [], "PART")
    r, a, c, *e = symbol.graphics
    assert (
        isinstance(r, Rectangle)
        and r.end == pytest.approx((10.5 * MM, 5 * MM))
        and r.fill.kind == "background"
    )
    assert (
        isinstance(a, Arc) and a.start == pytest.approx((2 * MM, 0)) and a.end == pytest.approx((0, 2 * MM))
    )
    assert a.mid == pytest.approx((2 * MM * math.cos(math.pi / 4), 2 * MM * math.sin(math.pi / 4)))
    assert isinstance(c, Circle) and c.radius == pytest.approx(MM)
    assert len(e) == 4 and all(isinstance(b, Bezier) for b in e)  # an outline ellipse: four Bezier quarters
    assert max(p[0] for b in e for p in b.points) == pytest.approx(4 * MM)
    assert any("ellipse" in w for w in symbol.warnings)


def test_multi_part_and_de_morgan():
    data = (
        component(parts=2, modes=2)
        + binary_pin("1", "A", 0, 0, part=1, mode=0)
        + binary_pin("2", "B", 0, 0, part=2, mode=1)
    )
    symbol = read_symbol(data, [], "PART")
    assert symbol.unit_count == 2 and symbol.body_styles == 2
    assert [(p.owner.unit, p.owner.body_style) for p in symbol.pins] == [(1, 1), (2, 2)]


def test_more_than_two_display_modes_keeps_two_and_says_so():
    data = component(modes=3) + binary_pin("1", "A", 0, 0, mode=0) + binary_pin("2", "B", 0, 0, mode=2)
    symbol = read_symbol(data, [], "PART")
    assert [p.number for p in symbol.pins] == ["1"]
    assert any("3 display modes" in w for w in symbol.warnings)


# --- robustness --------------------------------------------------------------------------------
def test_unknown_and_malformed_records_cost_only_themselves():
    truncated_pin = struct.pack("<I", 6 | 0x01000000) + struct.pack("<ih", 2, 1)
    unknown = text_record({"RECORD": "99", "OwnerPartId": "1"})
    data = component() + truncated_pin + unknown + binary_pin("2", "B", 0, 0)
    symbol = read_symbol(data, [], "PART")
    assert [p.number for p in symbol.pins] == ["2"]
    assert any("damaged pin" in w for w in symbol.warnings)
    assert any("unknown record type 99" in w for w in symbol.warnings)


def test_damaged_stream_keeps_the_records_before_the_damage():
    data = component() + binary_pin("1", "A", 0, 0) + struct.pack("<I", 500) + b"|RECORD=14"
    symbol = read_symbol(data, [], "PART")
    assert [p.number for p in symbol.pins] == ["1"]
    assert any("damaged" in w for w in symbol.warnings)


def test_malformed_symbol_fails_alone():
    good = component("GOOD") + binary_pin("1", "A", 0, 0)
    bad = text_record({"RECORD": "14"}) + binary_pin("1", "A", 0, 0)  # no component record first
    library = read_schlib_data(schlib({"GOOD": good, "BAD": bad}), "crafted.SchLib")
    assert [s.name for s in library.symbols] == ["GOOD"]
    assert len(library.failures) == 1 and library.failures[0].name == "BAD"
    assert "crafted.SchLib" in library.failures[0].reason and "component record" in library.failures[0].reason


def test_section_keys_and_fonts(tmp_path):
    long_name = "A symbol name longer than thirty-one characters"
    keys = text_record({"KeyCount": "1", "LibRef0": long_name, "SectionKey0": "SHORTKEY"})
    writer = CompoundFileWriter()
    writer.add_stream(
        "FileHeader",
        text_record(
            {
                "HEADER": "Protel for Windows - Schematic Library Editor Binary File Version 5.0",
                "FontIdCount": "1",
                "Size1": "20",
                "CompCount": "1",
                "LibRef0": long_name,
            }
        ),
    )
    writer.add_stream("SectionKeys", keys)
    writer.add_stream("SHORTKEY/Data", component(long_name) + binary_pin("1", "A", 0, 0))
    library = read_schlib(writer.write(tmp_path / "long.SchLib"))
    assert [s.name for s in library.symbols] == [long_name] and not library.failures
    assert library.symbols[0].pins[0].name_size > 2.5  # 20 pt is twice the usual 10 pt


def test_not_a_compound_file_names_the_file(tmp_path):
    path = tmp_path / "fake.SchLib"
    path.write_text("|HEADER=not really")
    with pytest.raises(NotAnAltiumLibrary, match="fake.SchLib"):
        read_schlib(path)


# --- FileHeader and damage ---------------------------------------------------------------------
def _name_list(names: list[str]) -> bytes:
    return struct.pack("<I", len(names)) + b"".join(struct.pack("<I", 1 + len(n)) + pascal(n) for n in names)


def test_binary_symbol_list_after_the_header_gives_the_order_and_no_warning():
    header = text_record({"HEADER": "Protel for Windows - Schematic Library Editor Binary File Version 5.0"})
    writer = CompoundFileWriter()
    writer.add_stream("FileHeader", header + _name_list(["B", "A"]))
    for name in ("A", "B"):
        writer.add_stream((name, "Data"), component(name) + binary_pin("1", "X", 0, 0))
    library = read_schlib_data(writer.to_bytes(), "binary_list.SchLib")
    assert [s.name for s in library.symbols] == ["B", "A"]  # the list's order, not the storages'
    assert library.warnings == [] and library.failures == []


def test_unreadable_tail_after_the_header_is_one_clear_warning():
    header = text_record({"HEADER": "Protel for Windows - Schematic Library Editor Binary File Version 5.0"})
    writer = CompoundFileWriter()
    writer.add_stream("FileHeader", header + struct.pack("<I", 3) + b"\x09\x00\x00\x00\x05AB")
    writer.add_stream(("A", "Data"), component("A"))
    library = read_schlib_data(writer.to_bytes(), "odd_tail.SchLib")
    assert [s.name for s in library.symbols] == ["A"]
    assert len(library.warnings) == 1 and "not a symbol list" in library.warnings[0]


def test_a_storage_without_data_fails_by_name():
    writer = CompoundFileWriter()
    writer.add_stream(
        "FileHeader", text_record({"HEADER": "x", "CompCount": "2", "LibRef0": "A", "LibRef1": "B"})
    )
    writer.add_stream(("A", "Data"), component("A"))
    writer.add_stream(("B", "PinFrac"), b"")  # B's storage survives, its Data stream does not
    library = read_schlib_data(writer.to_bytes(), "lost_data.SchLib")
    assert [s.name for s in library.symbols] == ["A"]
    assert [f.name for f in library.failures] == ["B"] and "no Data stream" in library.failures[0].reason


def test_a_library_that_yields_nothing_is_a_loss_naming_the_file():
    writer = CompoundFileWriter()
    writer.add_stream("FileHeader", b"\x00" * 64)  # zeroed, and every symbol storage gone
    writer.add_stream("Storage", text_record({"HEADER": "Icon storage"}))
    library = read_schlib_data(writer.to_bytes(), "zeroed.SchLib")
    assert library.symbols == [] and len(library.losses) == 1
    assert library.losses[0].startswith("zeroed.SchLib: no symbol could be read")
    assert "no HEADER" in library.losses[0]
