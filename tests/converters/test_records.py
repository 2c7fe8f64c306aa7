"""Record framing: lengths, binary flags, encodings."""

import struct

from converters.altium.records import parse_properties, split_records


def frame(payload: bytes, binary: bool = False) -> bytes:
    return struct.pack("<I", len(payload) | ((1 << 24) if binary else 0)) + payload


def test_text_and_binary_records_split_and_binary_keeps_trailing_nul():
    stream = frame(b"|RECORD=1|LIBREFERENCE=R|\x00") + frame(b"\x02\x00\x00", binary=True)
    records, error = split_records(stream)
    assert error is None
    assert [r.binary for r in records] == [False, True]
    assert records[1].payload == b"\x02\x00\x00"


def test_truncated_record_is_reported_not_raised():
    stream = frame(b"|RECORD=1|\x00") + struct.pack("<I", 500) + b"short"
    records, error = split_records(stream)
    assert len(records) == 1 and "claims 500 bytes" in error


def test_keys_are_case_insensitive_and_utf8_and_unicode_override():
    props = parse_properties("|record=4|Text=Ohm|%UTF8%TEXT=Ω|NAME=x|UNICODE__NAME=956,65|\x00".encode())
    assert props.integer("RECORD") == 4
    assert props.text("text") == "Ω"
    assert props.text("name") == "μA"


def test_typed_getters_never_raise():
    props = parse_properties(b"|X=abc|Y=1.5|B=T|")
    assert props.integer("X", 7) == 7 and props.integer("Y") == 1 and props.boolean("B")
    assert props.number("missing", 2.0) == 2.0


def test_stray_bytes_after_the_last_record_are_reported():
    stream = frame(b"|RECORD=1|\x00") + b"\x07\x00"  # too short for a header, not NUL padding
    records, error = split_records(stream)
    assert len(records) == 1 and error == "2 stray bytes after the last record"
    assert split_records(frame(b"|RECORD=1|\x00") + b"\x00\x00") == (records, None)  # padding is fine
