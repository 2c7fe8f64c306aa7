"""The independent s-expression reader the gates and tests use (converters/kicad/sexpr_reader.py)."""

from __future__ import annotations

import pytest

from converters.kicad.sexpr_reader import SExprError, at, child, parse, value


def test_quoted_atoms_are_unescaped():
    expr = parse('(property "Val\\"ue" "a\\\\b\\nc" (at 1 -2.5 90))')
    assert expr[:3] == ["property", 'Val"ue', "a\\b\nc"]
    assert at(expr) == (1.0, -2.5, 90.0) and value(child(expr, "at"), 2) == "-2.5"


@pytest.mark.parametrize(("text", "error"), [("(a (b)", "unclosed"), (")", "unbalanced"), ("x", "outside")])
def test_broken_text_is_refused(text, error):
    with pytest.raises(SExprError, match=error):
        parse(text)
