"""The footprint DRC gate with real KiCad: our placement and courtyards pass, a crafted footprint
with text over a pad fails, and a violation the Altium original has is only a warning."""

from __future__ import annotations

import re
import shutil

import pytest

from converters.convert import ConvertOptions, convert_paths
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures.sample_library import COURTYARD, LAYER_NAMES
from include import quality_gates
from include.footprint_drc import check_library, gate_rows

pytestmark = pytest.mark.kicad

WIDE_PADS = [
    pcb.Pad(str(i + 1), pcb.mm(-5 + i * 2), pcb.mm(-1.5 if i % 2 else 1.5), 60, 80) for i in range(6)
]
OPEN_COURTYARD = [
    pcb.Track(pcb.mm(x1), pcb.mm(y1), pcb.mm(x2), pcb.mm(y2), 2, COURTYARD)
    for x1, y1, x2, y2 in [(-7, -3, 7, -3), (7, -3, 7, 3), (7, 3, -7, 3), (-7, 3, -7, 2)]
]


@pytest.fixture(scope="module")
def cli(kicad_validate):
    return kicad_validate.parent / "kicad-cli"


def _pretty(tmp_path, footprints):
    lib = pcb.write_pcblib(tmp_path / "Drc.PcbLib", footprints, LAYER_NAMES)
    convert_paths([lib], tmp_path / "out", ConvertOptions())
    return tmp_path / "out" / "footprints" / "Drc.pretty"


def _checks(results, name):
    return {v.check for r in results if r.footprint == name for v in r.violations}


def test_converted_footprints_pass_kicad_drc(cli, tmp_path):
    pretty = _pretty(
        tmp_path,
        [
            pcb.Footprint("NO_TEXT", primitives=WIDE_PADS),
            pcb.Footprint("OPEN_CY", primitives=WIDE_PADS + OPEN_COURTYARD),
        ],
    )
    results = check_library(cli, pretty)
    assert {r.footprint for r in results} == {"NO_TEXT", "OPEN_CY"}
    assert "silk_over_copper" not in _checks(results, "NO_TEXT")
    assert not _checks(results, "OPEN_CY") & {"malformed_courtyard", "silk_over_copper"}
    assert quality_gates.run_suite("footprint_drc", "full", gate_rows(results)).success


def test_gate_fails_on_text_over_a_pad_and_passes_the_fixed_footprint(cli, tmp_path):
    pretty = _pretty(tmp_path, [pcb.Footprint("NO_TEXT", primitives=WIDE_PADS)])
    fixed = (pretty / "NO_TEXT.kicad_mod").read_text()
    crafted = tmp_path / "crafted.pretty"
    crafted.mkdir()
    # our auto-placed Reference moved onto pad 1 (at -5, 1.5): the old fixed-position bug
    text = re.sub(r'(\(property "Reference" "REF\*\*"\s*\(at )[-\d. ]+\)', r"\g<1>-5 1.5 0)", fixed, count=1)
    assert text != fixed
    (crafted / "NO_TEXT.kicad_mod").write_text(text)
    results = check_library(cli, crafted)
    assert "silk_over_copper" in _checks(results, "NO_TEXT")
    assert all(v.introduced for r in results for v in r.violations if v.check == "silk_over_copper")
    outcome = quality_gates.run_suite("footprint_drc", "full", gate_rows(results))
    assert not outcome.success and "NO_TEXT [silk_over_copper" in outcome.message()
    basic = quality_gates.run_suite("footprint_drc", "basic", gate_rows(results))
    assert basic.success and basic.warnings()  # basic reports, never fails

    shutil.rmtree(crafted)
    crafted.mkdir()
    (crafted / "NO_TEXT.kicad_mod").write_text(fixed)
    assert quality_gates.run_suite("footprint_drc", "full", gate_rows(check_library(cli, crafted))).success


def test_violation_of_the_altium_original_is_a_warning(cli, tmp_path):
    designator_on_pad = pcb.Text(pcb.mm(-5.5), pcb.mm(1.5), ".Designator", role="designator")
    pretty = _pretty(tmp_path, [pcb.Footprint("ALTIUM_TEXT", primitives=[*WIDE_PADS, designator_on_pad])])
    results = check_library(cli, pretty)
    silk = [v for r in results for v in r.violations if v.check == "silk_over_copper"]
    assert silk and not any(v.introduced for v in silk)
    outcome = quality_gates.run_suite("footprint_drc", "strict", gate_rows(results))
    assert outcome.success and outcome.warnings()
