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


TableRow = tuple[str, Path, str] | tuple[str, Path, str, str]  # nickname, path, description[, type]


def table_text(kind: str, libraries: Iterable[TableRow]) -> str:
    """One table: (nickname, path, description[, type]) rows, sorted by nickname."""
    token, _ = TABLES[kind]
    rows = [
        node(
            "lib",
            node("name", row[0]),
            node("type", row[3] if len(row) > 3 else "KiCad"),
            node("uri", str(row[1].resolve())),
            node("options", ""),
            node("descr", row[2]),
        )
        for row in sorted(libraries, key=lambda r: r[0].lower())
    ]
    return render(node(token, node("version", 7), *rows)) + "\n"


def write_lib_tables(out: Path, libraries: Iterable) -> list[Path]:
    """Writes OUT/fp-lib-table and OUT/sym-lib-table for the converted libraries (ConvertedLibrary)."""
    rows: dict[str, dict[str, TableRow]] = {"footprints": {}, "symbols": {}}
    for lib in libraries:
        if lib.kind == "database" and lib.nickname and lib.path.exists():
            # a .kicad_dbl is a symbol library of type Database
            rows["symbols"].setdefault(
                lib.nickname, (lib.nickname, lib.path, f"converted from {lib.source.name}", "Database")
            )
        elif lib.kind in rows and lib.nickname and lib.path.exists():
            rows[lib.kind].setdefault(
                lib.nickname, (lib.nickname, lib.path, f"converted from {lib.source.name}")
            )
    written = []
    for kind, entries in rows.items():
        if not entries:
            continue
        target = out / TABLES[kind][1]
        text = table_text(kind, entries.values())
        if not target.is_file() or target.read_text(encoding="utf-8") != text:  # unchanged: left alone
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
