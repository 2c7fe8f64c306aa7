"""Integrated libraries: stream unpacking, and the corpus IntLib converted to both kinds."""

import zlib

import pytest

from converters.convert import ConvertOptions, convert_paths
from converters.fixtures.cfb_writer import write_compound_file
from converters.intlib_job import IntLibError, unpack_stream


def test_unpack_stream_markers():
    assert unpack_stream(b"\x02" + zlib.compress(b"abc"), "s") == b"abc"
    assert unpack_stream(b"\x00raw", "s") == b"raw"
    with pytest.raises(IntLibError, match="s: unknown stream marker"):
        unpack_stream(b"\x07x", "s")
    with pytest.raises(IntLibError, match="damaged"):
        unpack_stream(b"\x02notzlib", "s")


def test_not_an_intlib_fails_cleanly(tmp_path):
    bad = tmp_path / "bad.IntLib"
    bad.write_bytes(b"nothing")
    report = convert_paths([bad], tmp_path / "out", ConvertOptions())
    assert [r.status.value for r in report.items] == ["failed"] and str(bad) in report.items[0].messages[0]


def test_damaged_streams_are_named_once(tmp_path):
    """Every embedded library damaged: one failed row per stream naming the file once, and no
    claim that the IntLib holds no library (it does; they are damaged)."""
    bad = write_compound_file(
        tmp_path / "Damaged.IntLib", {"SchLib/0.schlib": b"\x02notzlib", "PCBLib/0.pcblib": b"\x07x"}
    )
    report = convert_paths([bad], tmp_path / "out", ConvertOptions())
    messages = [r.messages[0] for r in report.items]
    assert [r.status.value for r in report.items] == ["failed", "failed"], messages
    assert any("PCBLib/0.pcblib: unknown stream marker" in m for m in messages)
    assert any("SchLib/0.schlib: damaged compressed stream" in m for m in messages)
    assert all(m.startswith(f"{bad}/") and m.count(str(bad)) == 1 for m in messages), messages


@pytest.mark.corpus
def test_corpus_intlib(shared, tmp_path):
    intlib = shared / "corpus/altium-monkey/examples/assets/projects/rt_super_c1/RT_SUPER_C1.IntLib"
    out = tmp_path / "out"
    report = convert_paths([intlib], out, ConvertOptions())
    assert report.counts()["failed"] == 0
    kinds = {r.kind for r in report.items}
    assert {"symbol", "footprint", "model"} <= kinds
    symbols = (out / "symbols" / "RT_SUPER_C1.kicad_sym").read_text()
    assert '"Footprint" "RT_SUPER_C1:' in symbols
    footprints = list((out / "footprints" / "RT_SUPER_C1.pretty").glob("*.kicad_mod"))
    assert len(footprints) == sum(r.kind == "footprint" for r in report.items)
    assert (
        "RT_SUPER_C1" in (out / "sym-lib-table").read_text()
        and "RT_SUPER_C1" in (out / "fp-lib-table").read_text()
    )
