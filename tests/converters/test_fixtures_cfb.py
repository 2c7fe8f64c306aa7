"""The compound-file writer: olefile reads back every stream and storage byte for byte."""

from __future__ import annotations

import io
import random

import olefile
import pytest

from converters.fixtures.cfb_writer import (
    MINI_STREAM_CUTOFF,
    CompoundFileError,
    CompoundFileWriter,
    write_compound_file,
)


def _read_all(data: bytes) -> tuple[olefile.OleFileIO, dict[str, bytes]]:
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_POTENTIAL)
    return ole, {"/".join(p): ole.openstream(p).read() for p in ole.listdir(streams=True, storages=False)}


def test_round_trip_of_small_big_empty_and_nested_streams():
    rnd = random.Random(7)
    expected: dict[str, bytes] = {}
    writer = CompoundFileWriter()
    for i in range(200):  # many small streams: the mini stream spans several sectors and mini-FAT sectors
        size = rnd.choice([1, 63, 64, 65, 700, MINI_STREAM_CUTOFF - 1])
        path = f"Part{i % 9}/Sub{i % 4}/S{i}"
        expected[path] = rnd.randbytes(size)
    expected["Big"] = rnd.randbytes(300_000)
    expected["Library/Models/0"] = rnd.randbytes(MINI_STREAM_CUTOFF)  # exactly the cutoff: regular sectors
    expected["Library/Models/Data"] = b""
    for path, data in expected.items():
        writer.add_stream(path, data)
    writer.add_storage("Empty/Inner")

    ole, streams = _read_all(writer.to_bytes())

    assert streams == expected
    assert ole.get_type("Empty/Inner") == olefile.STGTY_STORAGE
    assert ole.get_type("Part3/Sub2") == olefile.STGTY_STORAGE
    assert ole.sector_size == 512 and ole.mini_sector_size == 64 and ole.minisectorcutoff == 4096
    assert ole.get_size("Big") == 300_000 and ole.get_size("Part0/Sub0/S0") < MINI_STREAM_CUTOFF


def test_file_over_109_fat_sectors_uses_difat():
    payload = random.Random(1).randbytes(7_500_000)  # > 109 * 128 sectors
    writer = CompoundFileWriter()
    writer.add_stream("Huge", payload)
    ole, streams = _read_all(writer.to_bytes())
    assert ole.num_difat_sectors >= 1
    assert streams == {"Huge": payload}


def test_sibling_order_follows_the_spec_and_lookups_work_case_insensitively():
    names = ["b", "A", "Data", "Header", "WideStrings", "Parameters", "z" * 31, "ä"]
    ole, streams = _read_all(_write({f"S/{n}": n.encode() for n in names}))
    assert sorted(streams) == sorted(f"S/{n}" for n in names)
    assert ole.exists("s/DATA") and ole.openstream("S/data").read() == b"Data"


def _write(streams: dict[str, bytes]) -> bytes:
    writer = CompoundFileWriter()
    for path, data in streams.items():
        writer.add_stream(path, data)
    return writer.to_bytes()


def test_output_is_deterministic(tmp_path):
    streams = {"FileHeader": b"x" * 100, "A/Data": b"y" * 5000}
    first = write_compound_file(tmp_path / "a.bin", streams).read_bytes()
    second = write_compound_file(tmp_path / "b.bin", streams).read_bytes()
    assert first == second and len(first) % 512 == 0


@pytest.mark.parametrize("path", ["x" * 32, "A/B:C", "with/slash/", ""])
def test_names_a_compound_file_cannot_hold_are_refused(path):
    with pytest.raises(CompoundFileError):
        CompoundFileWriter().add_stream(path, b"")


def test_a_stream_cannot_be_added_twice_or_used_as_a_storage():
    writer = CompoundFileWriter()
    writer.add_stream("A/Data", b"1")
    with pytest.raises(CompoundFileError):
        writer.add_stream("a/DATA", b"2")
    with pytest.raises(CompoundFileError):
        writer.add_stream("A/Data/Inner", b"3")
