"""A small reader for KiCad s-expression files (.kicad_sym, .kicad_mod).

Why our own, and apart from `sexpr.py`: the validation gates and the tests must read what the
writers produced independently of the writers' code. Lists become Python lists; atoms stay strings (quoted ones unescaped), so
`["pin", "passive", "line", ["at", "0", "2.54", "270"], ...]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

SExpr = list  # nested lists of str

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))', re.S)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "r": "\r"}


class SExprError(ValueError):
    pass


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def parse(text: str) -> SExpr:
    """The first top-level list of `text`."""
    stack: list[list] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if not m:
            raise SExprError(f"unexpected character at offset {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            stack.append([])
        elif m.group(2):
            if not stack:
                raise SExprError(f"unbalanced ')' at offset {m.start()}")
            done = stack.pop()
            if not stack:
                return done
            stack[-1].append(done)
        elif stack:
            stack[-1].append(_unescape(m.group(3)) if m.group(3) is not None else m.group(4))
        else:
            raise SExprError("text outside of a list")
    raise SExprError("unexpected end of file (unclosed list)")


def children(expr: SExpr, token: str) -> Iterator[SExpr]:
    """Direct child lists whose head is `token`."""
    return (c for c in expr[1:] if isinstance(c, list) and c and c[0] == token)


def child(expr: SExpr, token: str) -> SExpr | None:
    return next(children(expr, token), None)


def walk(expr: SExpr, token: str) -> Iterator[SExpr]:
    """Every list below `expr` (any depth) whose head is `token`."""
    for c in expr[1:]:
        if isinstance(c, list) and c:
            if c[0] == token:
                yield c
            yield from walk(c, token)


def value(expr: SExpr | None, index: int = 1, default: str = "") -> str:
    if expr is None or len(expr) <= index or isinstance(expr[index], list):
        return default
    return expr[index]


def at(expr: SExpr) -> tuple[float, float, float]:
    """(x, y, angle) of a child `(at x y [angle])`, zeros when absent."""
    node = child(expr, "at")
    if node is None:
        return 0.0, 0.0, 0.0
    x, y, angle = ([float(v) for v in node[1:4] if not isinstance(v, list)] + [0.0, 0.0, 0.0])[:3]
    return x, y, angle
