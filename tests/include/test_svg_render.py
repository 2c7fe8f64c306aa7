"""The report's pictures show pin names and numbers as text, honour KiCad's hide flags and draw
overbars, for symbols the converter really wrote from the sample library."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from converters.convert import convert_paths
from converters.fixtures.sample_library import write_sample_library
from converters.kicad.sexpr_reader import children, parse, value
from include.svg_render import footprint_svg, rich_text, symbol_svg, unit_count

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    convert_paths(write_sample_library(folder / "src"), folder / "out")
    return folder / "out"


@pytest.fixture(scope="module")
def symbols(written):
    root = parse((written / "symbols" / "Sample.kicad_sym").read_text(encoding="utf-8"))
    return {value(s): s for s in children(root, "symbol")}


def _texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_pin_names_and_numbers_are_text(symbols):
    texts = _texts(symbol_svg(symbols["MCU_32"]))
    for shown in ("PA0", "PB7", "OSC_IN", "SWDIO", "1", "17", "32", "MCU"):
        assert shown in texts


def test_hidden_pins_and_hidden_pin_names_have_no_text(symbols):
    mcu = _texts(symbol_svg(symbols["MCU_32"]))
    hidden = [
        p
        for sub in children(symbols["MCU_32"], "symbol")
        for p in children(sub, "pin")
        if ["hide", "yes"] in p
    ]
    assert hidden, "the sample MCU has hidden power pins"
    for pin in hidden:
        name = value(next(children(pin, "name")))
        number = value(next(children(pin, "number")))
        assert name not in mcu and number not in mcu
    res = _texts(symbol_svg(symbols["RES"]))  # (pin_names (hide yes)): numbers only, plus Reference/Value
    assert sorted(res) == sorted(["1", "2", "R", "10k"])


def _edited(written, name: str, old: str, new: str):
    """The written symbol `name` after one text edit of the file (a flag the sample does not set)."""
    text = (written / "symbols" / "Sample.kicad_sym").read_text(encoding="utf-8")
    assert old in text
    return {value(s): s for s in children(parse(text.replace(old, new)), "symbol")}[name]


def test_hidden_pin_numbers(written):
    res = _edited(written, "RES", "(pin_names (hide yes))", "(pin_names (hide yes)) (pin_numbers (hide yes))")
    assert sorted(_texts(symbol_svg(res))) == ["10k", "R"]


def test_overbar_is_an_overline(written):
    svg = symbol_svg(_edited(written, "MCU_32", '(name "NRST"', '(name "~{RESET}"'))
    span = [s for s in ET.fromstring(svg).iter(f"{SVG}tspan") if s.text == "RESET"]
    assert span and span[0].get("text-decoration") == "overline"
    assert (
        rich_text("~{A}&B")
        == '<tspan text-decoration="overline" style="text-decoration:overline">A</tspan>&amp;B'
    )


def test_units_beyond_the_first_are_not_drawn(symbols):
    opamp = symbols["OPAMP_DUAL"]
    assert unit_count(opamp) == 3
    drawn = _texts(symbol_svg(opamp))
    unit2 = next(s for s in children(opamp, "symbol") if value(s) == "OPAMP_DUAL_2_0")
    unit1 = next(s for s in children(opamp, "symbol") if value(s) == "OPAMP_DUAL_1_0")
    only_in_2 = {value(next(children(p, "number"))) for p in children(unit2, "pin")} - {
        value(next(children(p, "number"))) for p in children(unit1, "pin")
    }
    assert only_in_2 and not only_in_2 & set(drawn)


def test_every_picture_parses_and_footprints_number_their_pads(written, symbols):
    for sym in symbols.values():
        assert ET.fromstring(symbol_svg(sym)).tag == f"{SVG}svg"
    dip = footprint_svg(parse((written / "footprints" / "Sample.pretty" / "DIP-8.kicad_mod").read_text()))
    assert {"1", "2", "3", "4", "5", "6", "7", "8"} <= set(_texts(dip))


def test_report_pictures_from_kicad_cli(written, tmp_path, kicad_validate):
    """With kicad-cli, one export per library pictures every item; the page links files that exist."""
    from include import report_html

    cli = kicad_validate.with_name("kicad-cli")
    written_libs = report_html.WrittenLibraries.find([written])
    pictures = report_html._kicad_pictures(cli, written_libs, tmp_path)
    assert {"Sample:MCU_32", "Sample:DIP-8"} <= set(pictures)
    src = pictures["Sample:MCU_32"].split("src='")[1].split("'")[0]
    assert (tmp_path / src).is_file() and src.endswith("MCU_32_unit1.svg")
