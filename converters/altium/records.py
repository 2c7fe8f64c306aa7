"""Record framing shared by Altium's streams: bytes to records to property maps.

A record is a little-endian uint32 whose low 24 bits give the length and whose high byte, when
non-zero, marks a binary record. Text records are `|KEY=VALUE|...` ending in NUL. Keys vary in
case (stored upper-cased here); values are Latin-1 unless the key is prefixed `%UTF8%`; a key
`UNICODE__KEY` holds comma-separated code points that override `KEY`. A binary record's trailing
0x00 is data, never stripped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


class RecordError(Exception):
    """A stream could not be framed into records at some offset."""


@dataclass(frozen=True)
class RawRecord:
    index: int
    offset: int
    binary: bool
    payload: bytes


def split_records(stream: bytes) -> tuple[list[RawRecord], str | None]:
    """All whole records of a stream, and a message when the stream ends in a broken one."""
    records: list[RawRecord] = []
    pos, n = 0, len(stream)
    while pos + 4 <= n:
        (header,) = struct.unpack_from("<I", stream, pos)
        length, flag = header & 0xFFFFFF, header >> 24
        start = pos + 4
        if start + length > n:
            return (
                records,
                f"record {len(records)} at byte {pos} claims {length} bytes but only {n - start} remain",
            )
        records.append(RawRecord(len(records), pos, flag != 0, stream[start : start + length]))
        pos = start + length
    if pos != n and stream[pos:].strip(b"\x00"):
        return records, f"{n - pos} stray bytes after the last record"
    return records, None


def _decode_codepoints(text: str) -> str | None:
    try:
        return "".join(chr(int(c)) for c in text.split(",") if c.strip())
    except ValueError:
        return None


class Properties(dict):
    """Upper-cased KEY -> str value, with typed getters that never raise on bad values."""

    def text(self, key: str, default: str = "") -> str:
        return self.get(key.upper(), default)

    def integer(self, key: str, default: int = 0) -> int:
        value = self.get(key.upper())
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            try:
                return int(float(value))
            except ValueError:
                return default

    def number(self, key: str, default: float = 0.0) -> float:
        value = self.get(key.upper())
        if value is None or value == "":
            return default
        try:
            return float(value)
        except ValueError:
            return default

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.get(key.upper())
        if value is None or value == "":
            return default
        return value.strip().upper() in ("T", "TRUE", "1")


def parse_properties(payload: bytes) -> Properties:
    """`|KEY=VALUE|...` (NUL-terminated) to Properties, applying %UTF8% and UNICODE__ overrides."""
    body = payload.split(b"\x00", 1)[0]
    props = Properties()
    utf8: dict[str, str] = {}
    codepoints: dict[str, str] = {}
    for chunk in body.split(b"|"):
        if not chunk or b"=" not in chunk:
            continue
        raw_key, raw_value = chunk.split(b"=", 1)
        key = raw_key.decode("latin-1").strip().upper()
        if key.startswith("%UTF8%"):
            utf8[key[6:]] = raw_value.decode("utf-8", errors="replace")
            continue
        value = raw_value.decode("latin-1")
        if key.startswith("UNICODE__"):
            decoded = _decode_codepoints(value)
            if decoded is not None:
                codepoints[key[9:]] = decoded
            continue
        props[key] = value
    props.update(utf8)
    props.update(codepoints)
    return props


def text_records(stream: bytes) -> tuple[list[tuple[RawRecord, Properties]], list[str]]:
    """Frames a stream and parses its text records; binary records come with empty Properties."""
    records, error = split_records(stream)
    out = [(r, Properties() if r.binary else parse_properties(r.payload)) for r in records]
    return out, [error] if error else []
