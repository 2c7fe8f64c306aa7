"""The s-expression printer's fast paths print exactly what the plain definitions print: six
decimals without trailing zeros and never `-0`, KiCad's escapes, one line for inline tokens."""

from __future__ import annotations

import random

import pytest

from converters.kicad.sexpr import Symbol, format_number, node, quote, render


def plain_number(value: float) -> str:
    """The definition: at most six decimals, no trailing zeros, never -0."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def plain_quote(text: str) -> str:
    for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        text = text.replace(old, new)
    return f'"{text}"'


@pytest.mark.parametrize(
    "value",
    [0.0, -0.0, 2.0, -3.0, 1e16, 1e22, -4e-7, 4.9999995e-7, 5e-7, 1.0000004, 0.1 + 0.2, 123456.1234565],
)
def test_numbers_print_as_defined(value):
    assert format_number(value) == plain_number(value)


def test_many_numbers_print_as_defined():
    rng = random.Random(8)
    values = [rng.uniform(-1e4, 1e4) for _ in range(20000)] + [
        float(rng.randint(-(10**6), 10**6)) for _ in range(2000)
    ]
    values += [round(rng.uniform(-100, 100), n) for n in range(8) for _ in range(500)]
    assert [format_number(v) for v in values] == [plain_number(v) for v in values]
    assert format_number(7) == "7" and format_number(-0.0) == "0"
    with pytest.raises(TypeError):
        format_number(True)


@pytest.mark.parametrize("text", ['a"b\\c\nd\re\tf', '\\"', "", "plain", 'ü\\\\"', "{dblquote}"])
def test_strings_escape_as_defined(text):
    assert quote(text) == plain_quote(text)


def test_layout_of_nested_and_inline_tokens():
    expr = node(
        "footprint",
        "R 1",
        node("layer", "F.Cu"),
        node("at", 1.0, -0.0, None),
        node("pad", "1", Symbol("smd"), node("size", 1.5, 2), node("net", 3, "GND"), True),
    )
    assert render(expr) == (
        '(footprint "R 1"\n'
        '\t(layer "F.Cu")\n'
        "\t(at 1 0)\n"
        '\t(pad "1" smd yes\n'
        "\t\t(size 1.5 2)\n"
        '\t\t(net 3 "GND")\n'
        "\t)\n"
        ")"
    )
