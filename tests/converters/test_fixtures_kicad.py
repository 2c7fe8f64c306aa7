"""The external check: KiCad 9's own Altium importer (kicad-cli sym/fp upgrade) loads what we write."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from converters.fixtures import broken
from converters.fixtures.sample_library import sample_footprints, sample_symbols, write_sample_library

pytestmark = pytest.mark.kicad


@pytest.fixture(scope="module")
def kicad_cli(shared: Path) -> Path:
    cli = shared / "tools/kicad/kicad-cli"
    chroot = Path(os.environ.get("KICAD_ORACLE_ROOT", "/var/lib/kicad-oracle/trixie"))
    if not cli.exists():
        pytest.skip(f"KiCad 9 not set up: {cli} is absent")
    if not (chroot / "usr/bin/kicad-cli").exists():  # the tool is there but cannot run
        pytest.fail(f"{cli} is there but its KiCad 9 chroot {chroot} is missing (run ./run setup)")
    return cli


def _run(cli: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=120)


def _symbols(kicad_sym: str) -> dict[str, int]:
    """Top-level symbol name -> number of pins (all units and body styles)."""
    counts: dict[str, int] = {}
    current = None
    for line in kicad_sym.splitlines():
        top = re.match(r'^\t\(symbol "([^"]+)"', line)
        if top:
            current = top.group(1)
            counts[current] = 0
        elif current and re.match(r"^\t+\(pin ", line):
            counts[current] += 1
    return counts


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sample")
    return {p.suffix: p for p in write_sample_library(folder)}


def test_kicad_imports_every_sample_symbol_with_its_pins(kicad_cli, sample, tmp_path):
    out = tmp_path / "sample.kicad_sym"
    result = _run(kicad_cli, "sym", "upgrade", "--force", str(sample[".SchLib"]), "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    symbols = _symbols(out.read_text())
    expected = {s.name: len(s.pins) for s in sample_symbols() if s.display_modes == 1}
    # KiCad 9 turns each De Morgan display mode into a separate symbol (a known weakness)
    expected |= {"NAND2 (Altium Display 1)": 5, "NAND2 (Altium Display 2)": 5}
    assert symbols == expected


def test_kicad_imports_every_sample_footprint_with_its_pads(kicad_cli, sample, tmp_path):
    out = tmp_path / "sample.pretty"
    result = _run(kicad_cli, "fp", "upgrade", "--force", str(sample[".PcbLib"]), "-o", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    got = {p.stem: len(re.findall(r"^\t\(pad ", p.read_text(), re.M)) for p in out.glob("*.kicad_mod")}
    assert got == {f.name: sum(type(x).__name__ == "Pad" for x in f.primitives) for f in sample_footprints()}
    led = (out / "LED0805.kicad_mod").read_text()
    assert '(name "LED0805.step")' in led and "(type model)" in led  # the STEP box got embedded
    dip = (out / "DIP-8.kicad_mod").read_text()
    assert "(drill oval" in dip and "np_thru_hole" in dip


def test_kicad_reads_the_intlib(kicad_cli, sample, tmp_path):
    sym = tmp_path / "int.kicad_sym"
    assert (
        _run(kicad_cli, "sym", "upgrade", "--force", str(sample[".IntLib"]), "-o", str(sym)).returncode == 0
    )
    assert len(_symbols(sym.read_text())) == len(sample_symbols()) + 1
    pretty = tmp_path / "int.pretty"
    assert (
        _run(kicad_cli, "fp", "upgrade", "--force", str(sample[".IntLib"]), "-o", str(pretty)).returncode == 0
    )
    assert len(list(pretty.glob("*.kicad_mod"))) == len(sample_footprints())


def test_kicad_loses_footprints_after_an_unknown_primitive(kicad_cli, tmp_path):
    """Documents the weakness we are better at: KiCad stops at the bad footprint and keeps only those
    before it (our reader keeps all but the bad one)."""
    path = broken.pcblib_unknown_primitive(tmp_path)
    out = tmp_path / "out.pretty"
    result = _run(kicad_cli, "fp", "upgrade", "--force", str(path), "-o", str(out))
    assert "Unable to convert library" in result.stdout + result.stderr
    survivors = {p.stem for p in out.glob("*.kicad_mod")}
    assert broken.BAD_ITEM not in survivors and survivors < {f.name for f in sample_footprints()[:5]}


def test_kicad_loses_the_whole_schlib_for_one_malformed_symbol(kicad_cli, tmp_path):
    path = broken.schlib_malformed_symbol(tmp_path)
    out = tmp_path / "out.kicad_sym"
    result = _run(kicad_cli, "sym", "upgrade", "--force", str(path), "-o", str(out))
    assert "Unable to convert library" in result.stdout + result.stderr
    assert not out.exists() or not _symbols(out.read_text())


def test_kicad_opencascade_loads_the_generated_step_box(kicad_cli, tmp_path):
    """A board holding one footprint whose model is our STEP box: KiCad's STEP export (OpenCascade)
    writes the board's 6 faces plus the box's 6 only when it could load the box."""
    led = next(f for f in sample_footprints() if f.name == "LED0805")
    model = next(p.model for p in led.primitives if getattr(p, "model", None) is not None)
    step = tmp_path / model.name
    step.write_bytes(model.step)
    board = tmp_path / "board.kicad_pcb"
    board.write_text(f"""(kicad_pcb (version 20241229) (generator "altium2kicad-test") (generator_version "9.0")
  (general (thickness 1.6) (legacy_teardrops no))
  (paper "A4")
  (layers (0 "F.Cu" signal) (2 "B.Cu" signal) (25 "Edge.Cuts" user))
  (setup (pad_to_mask_clearance 0))
  (net 0 "")
  (footprint "LED0805" (layer "F.Cu") (at 10 10)
    (pad "1" smd rect (at -0.95 0) (size 1 1.3) (layers "F.Cu" "F.Mask" "F.Paste"))
    (model "{step}" (offset (xyz 0 0 0)) (scale (xyz 1 1 1)) (rotate (xyz 0 0 0))))
  (gr_rect (start 0 0) (end 20 20) (stroke (width 0.1) (type default)) (fill no) (layer "Edge.Cuts")))
""")
    out = tmp_path / "out.step"
    result = _run(kicad_cli, "pcb", "export", "step", "--force", "-o", str(out), str(board))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Could not add 3D model" not in result.stdout + result.stderr
    assert out.read_text().count("ADVANCED_FACE(") == 12


def test_kicad_loads_a_footprint_with_every_primitive_kind(kicad_cli, tmp_path):
    from converters.fixtures.pcblib_writer import write_pcblib
    from tests.converters.test_fixtures_pcblib import every_primitive

    path = write_pcblib(tmp_path / "all.PcbLib", [every_primitive()])
    out = tmp_path / "all.pretty"
    result = _run(kicad_cli, "fp", "upgrade", "--force", str(path), "-o", str(out))
    assert result.returncode == 0 and "Unable" not in result.stdout + result.stderr, (
        result.stdout + result.stderr
    )
    text = (out / "ALL.kicad_mod").read_text()
    assert "(fp_arc" in text and "(fp_line" in text
    # KiCad 9 ignores footprint WideStrings and shows the 8-bit string Altium also stores (a weakness)
    assert '(fp_text user "?hm"' in text
    # KiCad 9 turns copper fills and regions into pads; the model-less body is dropped
    assert len(re.findall(r"^\t\(pad ", text, re.M)) == 3


def _pin_text_sizes(kicad_sym: str) -> dict[str, tuple[float, float]]:
    """Pin number -> (name size, number size) over every pin of the file's first symbol."""
    from converters.kicad.sexpr_reader import children, parse

    sizes = {}
    for body in children(next(children(parse(kicad_sym), "symbol")), "symbol"):
        for pin in children(body, "pin"):
            size = [
                float(
                    next(
                        children(
                            next(children(next(children(next(children(pin, t)), "effects")), "font")), "size"
                        )
                    )[1]
                )
                for t in ("name", "number")
            ]
            sizes[next(children(pin, "number"))[1]] = (size[0], size[1])
    return sizes


def test_we_hide_the_same_pin_names_and_numbers_as_kicads_importer(kicad_cli, tmp_path):
    """Altium hides two repeated GND names and one number: KiCad's importer writes exactly those
    with zero-size text and the others at 1.27 mm, and so do we (except where a pin has its own font,
    which KiCad's importer ignores); KiCad loads ours and draws only the shown names."""
    from converters.convert import start_run
    from converters.fixtures.pin_text_library import write_pin_text_library

    source = write_pin_text_library(tmp_path / "LDO.SchLib")
    theirs = tmp_path / "kicad.kicad_sym"
    assert _run(kicad_cli, "sym", "upgrade", "--force", str(source), "-o", str(theirs)).returncode == 0
    run = start_run(tmp_path / "ours")
    run.symbol_library(source)
    run.finish()
    ours = tmp_path / "ours/symbols/LDO.kicad_sym"
    kicad_sizes, our_sizes = _pin_text_sizes(theirs.read_text()), _pin_text_sizes(ours.read_text())
    assert kicad_sizes["2"] == (1.27, 1.27) and our_sizes["2"] == (2.54, 1.27)  # VOUT: Arial 20 pt
    del kicad_sizes["2"], our_sizes["2"]
    assert our_sizes == kicad_sizes
    assert {n for n, (name, _) in our_sizes.items() if name == 0} == {"4", "5"}
    assert "pin_names" not in ours.read_text() and "pin_numbers" not in ours.read_text()

    svg_dir = tmp_path / "svg"
    result = _run(kicad_cli, "sym", "export", "svg", "-o", str(svg_dir), str(ours))
    assert result.returncode == 0, result.stdout + result.stderr
    (svg,) = svg_dir.glob("*.svg")
    drawn = re.findall(r">([^<>]+)</text>", svg.read_text())
    assert drawn.count("GND") == 2 and {"VIN", "VOUT", "1", "2", "3", "4", "5"} <= set(
        drawn
    )  # GND: pins 3 and TAB
    assert "TAB" not in drawn
