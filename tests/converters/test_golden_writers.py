"""Whole-file golden tests for the writers (as kiutils compares a written file with an `.expected`
one): the project's sample library written in KiCad 8 and 9 formats must equal, byte for byte, the
files checked in under `tests/converters/golden/`. A deliberate format change regenerates them with
`ALTIUM2KICAD_UPDATE_GOLDEN=1 pytest tests/converters/test_golden_writers.py`; the diff is reviewed
like code."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from converters.convert import ConvertOptions, convert_paths
from converters.fixtures.sample_library import write_sample_library
from converters.kicad.sexpr import Symbol, node, render
from converters.kicad.sexpr_reader import parse

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ALTIUM2KICAD_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("golden")
    paths = write_sample_library(root / "src")
    libraries = [p for p in paths if p.suffix.lower() in (".schlib", ".pcblib")]
    outs = {}
    for version in (8, 9):
        outs[version] = root / f"v{version}"
        convert_paths(libraries, outs[version], ConvertOptions(kicad_version=version))
    return outs


def _written(out: Path) -> list[Path]:
    return sorted([*out.glob("symbols/*.kicad_sym"), *out.glob("footprints/*.pretty/*.kicad_mod")])


def _compare(written: Path, expected: Path) -> None:
    got = written.read_text(encoding="utf-8")
    if UPDATE:
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(got, encoding="utf-8")
    assert expected.exists(), f"no golden file {expected} (run with ALTIUM2KICAD_UPDATE_GOLDEN=1)"
    want = expected.read_text(encoding="utf-8")
    if got != want:
        diff = difflib.unified_diff(
            want.splitlines(), got.splitlines(), str(expected), str(written), lineterm=""
        )
        pytest.fail("written file differs from its golden copy:\n" + "\n".join(list(diff)[:80]))


@pytest.mark.parametrize("version", [8, 9])
def test_sample_library_equals_golden_files(sample, version):
    out = sample[version]
    files = _written(out)
    assert any(f.suffix == ".kicad_sym" for f in files) and any(f.suffix == ".kicad_mod" for f in files)
    expected_root = GOLDEN / f"kicad{version}"
    for f in files:
        _compare(f, expected_root / f.relative_to(out))
    stale = {p.relative_to(expected_root) for p in expected_root.rglob("*") if p.is_file()}
    assert stale == {f.relative_to(out) for f in files}, "golden files without a written counterpart"


def test_printer_round_trips_escapes_negative_zero_and_six_decimals():
    tree = node(
        "footprint",
        'a "quoted" \\ back\nnew\ttab',
        node("at", -0.0, 1.23456789, -2.5000004),
        node("size", 1e-7, 100.0),
        node("hide", Symbol("yes")),
        node("empty", ""),
        node("count", 7),
    )
    text = render(tree)
    assert "-0" not in text.replace("-0.", "")  # never a bare -0
    back = parse(text)
    assert back == [
        "footprint",
        'a "quoted" \\ back\nnew\ttab',
        ["at", "0", "1.234568", "-2.5"],
        ["size", "0", "100"],
        ["hide", "yes"],
        ["empty", ""],
        ["count", "7"],
    ]
