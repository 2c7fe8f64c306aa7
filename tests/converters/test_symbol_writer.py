"""The KiCad symbol writer on small models: structure, KiCad 8/9 differences, and KiCad loading it."""

from __future__ import annotations

import subprocess

import pytest

from converters.kicad.sexpr_reader import children, parse
from converters.kicad.symbol_writer import SymbolWriteError, library_text, symbol_expr
from converters.model.symbol import (
    Arc,
    Bezier,
    Circle,
    Field,
    Fill,
    Owner,
    Pin,
    Polyline,
    Rectangle,
    Stroke,
    Symbol,
    Text,
    TextBox,
    TextStyle,
)


def pin(number: str, unit: int = 1, style: int = 0, name_visible: bool = True, **kw) -> Pin:
    return Pin(
        number=number,
        name=f"P{number}",
        position=(0.0, -2.54 * int(number)),
        angle=0,
        length=2.54,
        name_visible=name_visible,
        owner=Owner(unit, style),
        **kw,
    )


def every_graphic(owner: Owner) -> list:
    return [
        Rectangle((-5, -5), (5, 5), Stroke(0.254), Fill("background"), owner),
        Polyline(
            [(0, 0), (1, 1), (2, 0)],
            Stroke(0.1, "dash", (10, 20, 30, 1.0)),
            Fill("color", (1, 2, 3, 0.5)),
            owner,
        ),
        Arc((1, 0), (0.7071, 0.7071), (0, 1), Stroke(), Fill(), owner),
        Circle((0, 0), 1.5, Stroke(), Fill("outline"), owner),
        Bezier([(0, 0), (1, 2), (2, 2), (3, 0)], Stroke(), Fill(), owner),
        Text("label", (1, 2), TextStyle(angle=90, h_justify="right", v_justify="top", bold=True), owner),
        TextBox(
            "boxed\ntext", (-4, 4), (8, 2), 0.5, None, Fill("color", (255, 255, 0, 1.0)), TextStyle(), owner
        ),
    ]


def sample_symbol() -> Symbol:
    symbol = Symbol(
        name="DEMO",
        description="a demo",
        unit_count=2,
        body_styles=2,
        fields=[
            Field("Reference", "U", (0, 5)),
            Field("Value", "DEMO", (0, -5)),
            Field("Footprint", "SOIC-8", hidden=True),
            Field("MPN", "X1", hidden=True),
        ],
    )
    symbol.pins = [
        pin("1", 1, 1),
        pin("2", 1, 2, shape="inverted_clock", electrical="input"),
        pin("3", 2, 1, hidden=True),
    ]
    symbol.graphics = every_graphic(Owner(0, 1))
    return symbol


def test_sub_symbols_units_and_body_styles():
    expr, notes = symbol_expr(sample_symbol(), "DEMO")
    text = library_text([expr])
    for sub in ('"DEMO_0_1"', '"DEMO_1_1"', '"DEMO_1_2"', '"DEMO_2_1"'):
        assert f"(symbol {sub}" in text
    assert "(version 20241209)" in text and '(generator "altium2kicad")' in text
    assert "(pin input inverted_clock" in text and "(embedded_fonts no)" in text
    assert (
        text.index('(property "Reference"') < text.index('(property "Value"') < text.index('(property "MPN"')
    )
    assert notes == []


def test_kicad8_writes_bare_hide_and_its_version():
    text = library_text([symbol_expr(sample_symbol(), "DEMO", version=8)[0]], version=8)
    assert "(version 20231120)" in text and "(hide yes)" not in text and "(effects hide" in text
    assert "embedded_fonts" not in text
    with pytest.raises(SymbolWriteError):
        library_text([], version=7)


def _pin_text_sizes(text: str, token: str) -> dict[str, float]:
    """Pin number -> the size its name (token "name") or number ("number") is written with."""
    root = parse(text)
    sizes = {}
    for body in children(next(children(root, "symbol")), "symbol"):
        for p in children(body, "pin"):
            number = next(children(p, "number"))[1]
            font = next(children(next(children(next(children(p, token)), "effects")), "font"))
            sizes[number] = float(next(children(font, "size"))[1])
    return sizes


def test_mixed_pin_text_visibility_is_kept_per_pin_with_zero_size_text():
    symbol = Symbol(
        name="MIX",
        pins=[pin("1", name_visible=False), pin("2", name_visible=False), pin("3"), pin("4")],
    )
    symbol.pins[3].number_visible = False
    expr, notes = symbol_expr(symbol, "MIX")
    text = library_text([expr])
    assert "pin_names" not in text and "pin_numbers" not in text and notes == []
    assert _pin_text_sizes(text, "name") == {"1": 0.0, "2": 0.0, "3": 1.27, "4": 1.27}
    assert _pin_text_sizes(text, "number") == {"1": 1.27, "2": 1.27, "3": 1.27, "4": 0.0}


def test_pin_text_hidden_on_every_pin_is_one_symbol_flag():
    symbol = Symbol(name="ALL", pins=[pin("1", name_visible=False), pin("2", name_visible=False), pin("3")])
    symbol.pins[2].name = ""  # a pin without a name has nothing to show or hide
    for p in symbol.pins:
        p.number_visible = False
    expr, notes = symbol_expr(symbol, "ALL")
    text = library_text([expr])
    assert "(pin_names (hide yes))" in text and "(pin_numbers (hide yes))" in text and notes == []
    # the symbol flag hides them; the sizes stay usable for someone who shows them in KiCad
    assert set(_pin_text_sizes(text, "name").values()) == {1.27}
    assert set(_pin_text_sizes(text, "number").values()) == {1.27}


def test_library_text_angles_and_escapes():
    symbol = Symbol(name='Q"1', graphics=[Text('say "hi"', (0, 0), TextStyle(angle=90), Owner(1, 0))])
    text = library_text([symbol_expr(symbol, 'Q"1')[0]])
    assert '(symbol "Q\\"1"' in text and '(text "say \\"hi\\""' in text
    assert "(at 0 0 900)" in text  # library text angles are tenths of a degree


@pytest.mark.kicad
def test_kicad_loads_every_kind_of_item(tmp_path, kicad_validate):
    plain = Symbol(
        name="PLAIN",
        fields=[Field("Reference", "R")],
        pins=[pin("1"), pin("2")],
        graphics=every_graphic(Owner(1, 0)),
    )
    exprs = [symbol_expr(sample_symbol(), "DEMO")[0], symbol_expr(plain, "PLAIN")[0]]
    path = tmp_path / "demo.kicad_sym"
    path.write_text(library_text(exprs), encoding="utf-8")
    run = subprocess.run([str(kicad_validate), str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(2 symbols)" in run.stdout
