"""`altium2kicad sample` writes the demo library; the broken-input generators write what they claim,
and our readers keep every good item around the bad one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zlib

import olefile
import pytest

from converters.altium.pcblib import read_pcblib
from converters.altium.schlib import read_schlib
from converters.cli import main
from converters.fixtures import broken
from converters.fixtures.sample_library import sample_footprints, sample_symbols, write_sample_library
from converters.fixtures.step_box import step_box
from tests.conftest import REPO


def test_cli_sample_writes_the_three_libraries(tmp_path, capsys):
    assert main(["sample", "-o", str(tmp_path / "demo")]) == 0
    printed = capsys.readouterr().out.split()
    names = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert names == ["Sample.PcbLib", "Sample.SchLib", "SampleIntegrated.IntLib"]
    assert sorted(p.rsplit("/", 1)[-1] for p in printed) == names
    for name in names:
        assert olefile.isOleFile(str(tmp_path / "demo" / name))


def test_cli_sample_as_a_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "converters", "sample", "-o", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "Sample.SchLib").stat().st_size > 10_000


# Determinism (across processes and hash seeds): tests/converters/test_determinism.py


def test_intlib_embeds_the_same_libraries(tmp_path):
    paths = {p.suffix: p for p in write_sample_library(tmp_path)}
    intlib = olefile.OleFileIO(str(paths[".IntLib"]))
    for stream, suffix in (("SchLib/0.schlib", ".SchLib"), ("PCBLib/0.pcblib", ".PcbLib")):
        packed = intlib.openstream(stream).read()
        assert packed[0] == 2
        embedded = olefile.OleFileIO(zlib.decompress(packed[1:]))
        standalone = olefile.OleFileIO(str(paths[suffix]))
        names = sorted(embedded.listdir())
        assert names == sorted(standalone.listdir())
        for name in names:
            if name != ["Library", "Data"]:  # holds the file name, which differs
                assert embedded.openstream(name).read() == standalone.openstream(name).read()


def test_step_box_is_a_closed_shell_of_six_faces():
    text = step_box("BOX", 2.0, 1.0, 0.5).decode()
    assert text.startswith("ISO-10303-21;") and text.rstrip().endswith("END-ISO-10303-21;")
    defined = {int(n) for n in re.findall(r"^#(\d+)=", text, re.M)}
    used = {int(n) for n in re.findall(r"#(\d+)", text)}
    assert used <= defined and len(defined) == max(defined)
    assert text.count("ADVANCED_FACE(") == 6 and text.count("EDGE_CURVE(") == 12
    assert text.count("VERTEX_POINT(") == 8
    # every edge is used once forwards and once backwards: the shell is closed and consistently oriented
    oriented = re.findall(r"ORIENTED_EDGE\('',\*,\*,#(\d+),\.([TF])\.\)", text)
    edges = {edge for edge, _ in oriented}
    assert len(edges) == 12 and sorted(oriented) == sorted((edge, sense) for edge in edges for sense in "TF")


# --- broken inputs ------------------------------------------------------------------------------------


def test_every_generator_writes_its_file(tmp_path):
    for name, generate in broken.GENERATORS.items():
        path = generate(tmp_path)
        assert path.exists() and path.stat().st_size > 0, name
        if name in ("not_compound_file", "damaged_compound_file"):
            continue
        ole = olefile.OleFileIO(str(path))
        assert ole.exists(f"{broken.BAD_ITEM}/Data"), name


def test_broken_inputs_cannot_be_opened_as_compound_files(tmp_path):
    from converters.altium.compound import CompoundFile, NotAnAltiumLibrary

    for generate in (broken.not_compound_file, broken.damaged_compound_file):
        path = generate(tmp_path)
        with pytest.raises(NotAnAltiumLibrary, match=path.name):
            CompoundFile(path)


@pytest.mark.parametrize(
    "generate",
    [
        broken.schlib_malformed_symbol,
        broken.schlib_truncated_record,
        broken.schlib_truncated_pin,
        broken.schlib_unknown_record,
    ],
)
def test_schlib_reader_keeps_the_good_symbols(tmp_path, generate):
    library = read_schlib(generate(tmp_path))
    names = [s.name for s in library.symbols]
    assert {"RES", "CAP", "LED"} <= set(names)
    bad = [s for s in library.symbols if s.name == broken.BAD_ITEM]
    reported = [f.reason for f in library.failures] + [w for s in bad for w in s.warnings]
    assert reported and all(isinstance(r, str) and r for r in reported)


@pytest.mark.parametrize(
    "generate, good", [(broken.pcblib_unknown_primitive, 5), (broken.pcblib_truncated_pad, 2)]
)
def test_pcblib_reader_keeps_the_good_footprints(tmp_path, generate, good):
    library = read_pcblib(generate(tmp_path))
    good_names = [f.name for f in library.footprints if f.name != broken.BAD_ITEM]
    assert len(good_names) == good and set(good_names) <= {f.name for f in sample_footprints()}
    bad = [f for f in library.footprints if f.name == broken.BAD_ITEM]
    assert [f.reason for f in library.failures] + [w for f in bad for w in f.warnings]


def test_the_demo_converts_the_sample_without_failures(tmp_path):
    """What the demo does: `altium2kicad sample`, then `altium2kicad convert` of that folder."""
    assert main(["sample", "-o", str(tmp_path / "in")]) == 0
    assert main(["convert", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q"]) == 0
    report = json.loads((tmp_path / "out/report.json").read_text())
    assert report["counts"]["failed"] == 0
    converted = {row["item"] for row in report["items"]}
    assert {s.name for s in sample_symbols()} | {f.name for f in sample_footprints()} <= converted
