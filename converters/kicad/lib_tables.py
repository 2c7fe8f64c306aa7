"""`fp-lib-table` and `sym-lib-table` fragments for every library a run wrote.

A user pastes the `(lib ...)` lines into KiCad's global or project table (or uses the file as the
project table). URIs are the absolute paths of the written libraries, so the fragments work
wherever the KiCad project is.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .sexpr import node, render

TABLES = {"footprints": ("fp_lib_table", "fp-lib-table"), "symbols": ("sym_lib_table", "sym-lib-table")}


def table_text(kind: str, libraries: Iterable[tuple[str, Path, str]]) -> str:
    """One table: (nickname, path, description) rows, sorted by nickname."""
    token, _ = TABLES[kind]
    rows = [node("lib", node("name", nick), node("type", "KiCad"), node("uri", str(path.resolve())),
                 node("options", ""), node("descr", descr))
            for nick, path, descr in sorted(libraries, key=lambda r: r[0].lower())]
    return render(node(token, node("version", 7), *rows)) + "\n"


def write_lib_tables(out: Path, libraries: Iterable) -> list[Path]:
    """Writes OUT/fp-lib-table and OUT/sym-lib-table for the converted libraries (ConvertedLibrary)."""
    rows: dict[str, dict[str, tuple[str, Path, str]]] = {"footprints": {}, "symbols": {}}
    for lib in libraries:
        if lib.kind in rows and lib.nickname and lib.path.exists():
            rows[lib.kind].setdefault(lib.nickname, (lib.nickname, lib.path, f"converted from {lib.source.name}"))
    written = []
    for kind, entries in rows.items():
        if not entries:
            continue
        target = out / TABLES[kind][1]
        target.write_text(table_text(kind, entries.values()), encoding="utf-8")
        written.append(target)
    return written
