"""Pins: Altium's binary pin record, its side streams (PinFrac, PinWideText, PinTextData) and the model Pin.

In libraries a pin is a binary record (high byte of the length set) rather than a property list.
Its fractional coordinates live apart, in the symbol's `PinFrac` stream (zlib-compressed per pin),
names or designators too long for the record's one-byte length live in `PinWideText` (UTF-16
property lists), and a name or designator drawn in its own font (rather than the system font)
says so in `PinTextData`. The side streams are keyed by the pin's ordinal in `Data`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..model.symbol import Owner, Pin
from .codes import PinMarker, SchRecord
from .records import Properties, parse_properties, split_records
from .schlib_common import SymbolContext, to_mm
from .schlib_text import overbar_to_kicad


class PinRecordError(ValueError):
    """A binary pin record too short or not a pin."""


def decode_ansi(raw: bytes) -> str:
    """Altium writes single-byte strings in the Windows code page (almost always 1252)."""
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise PinRecordError(f"pin record ends at byte {len(self.data)}, needs {self.pos + size}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values[0] if len(values) == 1 else values

    def pascal(self) -> str:
        n = self.take("<B")
        if self.pos + n > len(self.data):
            raise PinRecordError("pin record string runs past its end")
        text = self.data[self.pos : self.pos + n]
        self.pos += n
        return decode_ansi(text)

    def optional_pascal(self) -> str:
        return self.pascal() if self.pos < len(self.data) else ""


def parse_binary_pin(payload: bytes) -> Properties:
    """The binary pin record as the property names a text pin record would use."""
    r = _Reader(payload)
    record = r.take("<i")
    if record != SchRecord.PIN:
        raise PinRecordError(f"binary record of type {record}, expected a pin ({SchRecord.PIN:d})")
    props = Properties(RECORD=str(int(SchRecord.PIN)))
    r.take("<B")  # unknown, always 0 or 1
    props["OWNERPARTID"] = str(r.take("<h"))
    props["OWNERPARTDISPLAYMODE"] = str(r.take("<B"))
    props["SYMBOL_INNEREDGE"] = str(r.take("<B"))
    props["SYMBOL_OUTEREDGE"] = str(r.take("<B"))
    props["SYMBOL_INNER"] = str(r.take("<B"))
    props["SYMBOL_OUTER"] = str(r.take("<B"))
    props["DESCRIPTION"] = r.pascal()
    props["FORMALTYPE"] = str(r.take("<B"))
    props["ELECTRICAL"] = str(r.take("<B"))
    props["PINCONGLOMERATE"] = str(r.take("<B"))
    props["PINLENGTH"] = str(r.take("<h"))
    props["LOCATION.X"] = str(r.take("<h"))
    props["LOCATION.Y"] = str(r.take("<h"))
    props["COLOR"] = str(r.take("<i"))
    props["NAME"] = r.pascal()
    props["DESIGNATOR"] = r.pascal()
    props["SWAPIDGROUP"] = r.optional_pascal()
    props["PARTANDSEQUENCE"] = r.optional_pascal()
    props["DEFAULTVALUE"] = r.optional_pascal()
    return props


def _compressed_entries(stream: bytes) -> tuple[dict[int, bytes], list[str]]:
    """Entries of a side stream: header record, then per pin 0xD0, name (ordinal), zlib data."""
    records, error = split_records(stream)
    problems = [error] if error else []
    entries: dict[int, bytes] = {}
    for rec in records[1:]:
        p = rec.payload
        try:
            if not p or p[0] != 0xD0:
                raise ValueError("entry without the 0xD0 tag")
            n = p[1]
            key = int(p[2 : 2 + n].decode("ascii"))
            (size,) = struct.unpack_from("<I", p, 2 + n)
            entries[key] = zlib.decompress(p[6 + n : 6 + n + size])
        except (ValueError, IndexError, struct.error, zlib.error) as exc:
            problems.append(f"entry {rec.index}: {exc}")
    return entries, problems


def parse_pin_fracs(stream: bytes) -> tuple[dict[int, tuple[int, int, int]], list[str]]:
    """PinFrac: per pin ordinal, the _FRAC parts of X, Y and length."""
    entries, problems = _compressed_entries(stream)
    fracs = {}
    for key, raw in entries.items():
        if len(raw) >= 12:
            fracs[key] = struct.unpack_from("<iii", raw, 0)
        else:
            problems.append(f"entry for pin {key}: {len(raw)} bytes, expected 12")
    return fracs, problems


def parse_pin_wide_text(stream: bytes) -> tuple[dict[int, Properties], list[str]]:
    """PinWideText: per pin ordinal, a UTF-16 property list (NAME, DESIGNATOR, DESCRIPTION)."""
    entries, problems = _compressed_entries(stream)
    texts = {}
    for key, raw in entries.items():
        if len(raw) < 4:
            continue
        (size,) = struct.unpack_from("<I", raw, 0)
        text = raw[4 : 4 + size].decode("utf-16-le", errors="replace")
        props = Properties()
        for chunk in text.rstrip("\x00").split("|"):
            if "=" in chunk:
                k, v = chunk.split("=", 1)
                props[k.strip().upper()] = v
        texts[key] = props
    return texts, problems


@dataclass(frozen=True)
class PinTextFonts:
    """The font ids a pin's name and designator are drawn in when not the system font (None)."""

    name: int | None = None
    designator: int | None = None


# PinTextData per pin: for the name, then the designator, a flag byte (0x01 custom position: an
# int32 margin follows; 0x10 custom font: an int16 font id and an int32 colour follow).
_CUSTOM_POSITION, _CUSTOM_FONT = 0x01, 0x10


def _text_font(raw: bytes, pos: int) -> tuple[int | None, int]:
    flags = raw[pos]
    pos += 1
    if flags & _CUSTOM_POSITION:
        pos += 4
    font_id = None
    if flags & _CUSTOM_FONT:
        (font_id,) = struct.unpack_from("<h", raw, pos)
        pos += 6
    if pos > len(raw):
        raise ValueError(f"{len(raw)} bytes, flags 0x{flags:02x} need {pos}")
    return font_id, pos


def parse_pin_text_data(stream: bytes) -> tuple[dict[int, PinTextFonts], list[str]]:
    """PinTextData: per pin ordinal, the custom fonts of its name and designator (if any)."""
    entries, problems = _compressed_entries(stream)
    fonts = {}
    for key, raw in entries.items():
        try:
            name_font, pos = _text_font(raw, 0)
            designator_font, _ = _text_font(raw, pos) if pos < len(raw) else (None, pos)
        except (IndexError, ValueError, struct.error) as exc:
            problems.append(f"entry for pin {key}: {exc}")
            continue
        fonts[key] = PinTextFonts(name_font, designator_font)
    return fonts, problems


# KiCad's pin text convention (50 mil) stands for Altium's 10 pt system font: KiCad's stroke font
# is wider than Altium's TrueType fonts, so the size other text gets (POINT_TO_KICAD_MM) would push
# pin names past the body where Altium kept them inside. Other point sizes scale from there.
PIN_TEXT_MM = 1.27
PIN_TEXT_MM_PER_POINT = PIN_TEXT_MM / 10


def pin_text_size(ctx: SymbolContext, font_id: int | None) -> float:
    """KiCad size of a pin name or number: its own font if it has one, else the system font (1)."""
    fonts = ctx.fonts
    if font_id is not None and 1 <= font_id <= len(fonts):
        points = fonts[font_id - 1].points
    else:
        points = fonts[0].points if fonts else 10.0
    return round(points * PIN_TEXT_MM_PER_POINT, 4)


ELECTRICAL = {
    0: "input",
    1: "bidirectional",
    2: "output",
    3: "open_collector",
    4: "passive",
    5: "tri_state",
    6: "open_emitter",
    7: "power_in",
}

# Altium pin decorations KiCad has no pin shape for (kept as warnings).
DECORATION_NAMES = {
    2: "right-left signal flow",
    5: "analog signal in",
    8: "postponed output",
    9: "open collector",
    10: "hi-Z",
    11: "high current",
    12: "pulse",
    13: "Schmitt",
    22: "open collector pull-up",
    23: "open emitter",
    24: "open emitter pull-up",
    25: "digital signal in",
    30: "shift left",
    32: "open output",
    33: "left-right signal flow",
    34: "bidirectional signal flow",
}
DOT, CLOCK, LOW_INPUT, NOT_LOGIC, LOW_OUTPUT = (
    PinMarker.DOT,
    PinMarker.CLOCK,
    PinMarker.ACTIVE_LOW_INPUT,
    PinMarker.NOT_LOGIC,
    PinMarker.ACTIVE_LOW_OUTPUT,
)
MARKER_NAMES: dict[int, str] = {
    DOT: "dot",
    CLOCK: "clock",
    LOW_INPUT: "active-low input",
    NOT_LOGIC: "not-logic connection",
    LOW_OUTPUT: "active-low output",
}


def pin_shape(inner_edge: int, outer_edge: int, inner: int, outer: int) -> tuple[str, list[str]]:
    """KiCad's pin shape for Altium's four decoration slots, and the decorations it cannot show.

    Files in the wild put markers in unexpected slots (a clock as the inside symbol, a dot as the
    inside symbol), which Altium draws all the same, so markers are recognised in any slot; only a
    clock outside the body is a different thing (KiCad's falling-edge clock)."""
    slots = {"inner_edge": inner_edge, "outer_edge": outer_edge, "inner": inner, "outer": outer}
    clock_in = CLOCK in (inner_edge, inner)
    clock_out = CLOCK in (outer_edge, outer)
    present = {v for v in slots.values() if v}
    used: set[int | str]  # markers, and "clock_in" / "clock_out" for a clock's place
    if DOT in present:
        shape = "inverted_clock" if clock_in else "inverted"
        used = {DOT, "clock_in"} if clock_in else {DOT}
    elif LOW_INPUT in present:
        shape = "clock_low" if clock_in else "input_low"
        used = {LOW_INPUT, "clock_in"} if clock_in else {LOW_INPUT}
    elif LOW_OUTPUT in present:
        shape, used = "output_low", {LOW_OUTPUT}
    elif clock_in:
        shape, used = "clock", {"clock_in"}
    elif clock_out:
        shape, used = "edge_clock_high", {"clock_out"}
    elif NOT_LOGIC in present:
        shape, used = "non_logic", {NOT_LOGIC}
    else:
        shape, used = "line", set()
    lost: list[str] = []
    for slot, value in slots.items():
        if not value:
            continue
        if value == CLOCK:
            key = "clock_out" if slot.startswith("outer") else "clock_in"
            if key in used:
                continue
            lost.append("clock outside the body" if key == "clock_out" else "clock")
        elif value in used:
            used.discard(value)  # a marker shown once; a second copy in another slot is lost
        else:
            lost.append(MARKER_NAMES.get(value) or DECORATION_NAMES.get(value, f"pin symbol {value}"))
    return shape, lost


def kicad_pin_text(text: str) -> str:
    """Overbars to KiCad's ~{...}; KiCad pin names and numbers hold no spaces."""
    return overbar_to_kicad(text.strip()).replace(" ", "_")


def build_pin(
    props: Properties,
    ctx: SymbolContext,
    frac: tuple[int, int, int] | None,
    wide: Properties | None,
    text_fonts: PinTextFonts | None = None,
) -> tuple[Pin | None, list[str]]:
    """The model pin (None when its display mode is dropped) and what could not be kept."""
    notes: list[str] = []
    owner = ctx.owner(props)
    if owner is None:
        return None, notes
    fx, fy, fl = frac or (
        props.integer("LOCATION.X_FRAC"),
        props.integer("LOCATION.Y_FRAC"),
        props.integer("PINLENGTH_FRAC"),
    )
    x, y = to_mm(props.integer("LOCATION.X"), fx), to_mm(props.integer("LOCATION.Y"), fy)
    pin_length = to_mm(props.integer("PINLENGTH"), fl)
    conglomerate = props.integer("PINCONGLOMERATE")
    orientation = conglomerate & 0x03
    dx, dy = ((1, 0), (0, 1), (-1, 0), (0, -1))[orientation]
    name = props.text("NAME")
    number = props.text("DESIGNATOR")
    if wide:
        name = wide.get("NAME", name)
        number = wide.get("DESIGNATOR", number)
    electrical_code = props.integer("ELECTRICAL")
    electrical = ELECTRICAL.get(electrical_code)
    if electrical is None:
        notes.append(f"pin {number}: unknown electrical type {electrical_code}, written as unspecified")
        electrical = "unspecified"
    shape, lost = pin_shape(
        props.integer("SYMBOL_INNEREDGE"),
        props.integer("SYMBOL_OUTEREDGE"),
        props.integer("SYMBOL_INNER"),
        props.integer("SYMBOL_OUTER"),
    )
    if lost:
        notes.append(f"pin {number}: KiCad has no pin shape for {', '.join(lost)}")
    text_fonts = text_fonts or PinTextFonts()
    pin = Pin(
        number=kicad_pin_text(number),
        name=kicad_pin_text(name),
        position=(x + dx * pin_length, y + dy * pin_length),
        angle=(orientation * 90 + 180) % 360,
        length=pin_length,
        electrical=electrical,
        shape=shape,
        hidden=bool(conglomerate & 0x04),
        name_visible=bool(conglomerate & 0x08),
        number_visible=bool(conglomerate & 0x10),
        name_size=pin_text_size(ctx, text_fonts.name),
        number_size=pin_text_size(ctx, text_fonts.designator),
        owner=Owner(owner.unit, owner.body_style),
    )
    return pin, notes


def text_pin_properties(payload: bytes) -> Properties:
    """A pin stored as a property list (as in schematic documents); rare in libraries."""
    return parse_properties(payload)
