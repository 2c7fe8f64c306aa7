"""Which files are Altium libraries, and finding them below the paths a user names."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SYMBOL_EXTENSIONS = {".schlib"}
FOOTPRINT_EXTENSIONS = {".pcblib"}
INTEGRATED_EXTENSIONS = {".intlib"}
DATABASE_EXTENSIONS = {".dblib", ".svndblib"}
LIBRARY_EXTENSIONS = SYMBOL_EXTENSIONS | FOOTPRINT_EXTENSIONS | INTEGRATED_EXTENSIONS | DATABASE_EXTENSIONS


class UsageError(Exception):
    """The command was asked for something impossible (exit code 2)."""


def find_libraries(paths: Iterable[Path]) -> list[Path]:
    """Library files named directly or found below named folders (extensions in any case)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in LIBRARY_EXTENSIONS
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return found
