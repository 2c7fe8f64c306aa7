"""Windows paths written by Altium, found on a case-sensitive Linux file system.

DbLibs and their parts tables hold paths like `database\\symbols\\IND.Schlib` or
`D:\\Team\\Libs\\database\\x.mdb` while the files on disk are `database/symbols/IND.SchLib`. The
resolver walks one component at a time, matching names case-insensitively, and for absolute
Windows paths tries ever shorter tails of the path against the base folders (the checkout moved).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_DRIVE = re.compile(r"^(?:[A-Za-z]:|\\\\[^\\]+\\[^\\]+|//[^/]+/[^/]+)")


def split_windows_path(raw: str) -> tuple[bool, list[str]]:
    """(absolute, components) of a Windows or POSIX path; `.` dropped, `..` kept."""
    text = raw.strip().strip('"')
    absolute = bool(_DRIVE.match(text)) or text.startswith(("\\", "/"))
    text = _DRIVE.sub("", text)
    parts = [p for p in re.split(r"[\\/]+", text) if p and p != "."]
    return absolute, parts


def _child(folder: Path, name: str) -> Path | None:
    exact = folder / name
    if name == "..":
        return folder.parent
    if exact.exists():
        return exact
    try:
        with os.scandir(folder) as entries:
            folded = name.casefold()
            matches = sorted(e.name for e in entries if e.name.casefold() == folded)
    except OSError:
        return None
    return folder / matches[0] if matches else None


def walk_case_insensitive(base: Path, parts: list[str]) -> Path | None:
    """base/parts[0]/parts[1]... with each name matched case-insensitively; None if absent."""
    current = base
    for name in parts:
        found = _child(current, name)
        if found is None:
            return None
        current = found
    return current


def resolve_path(raw: str, bases: list[Path]) -> Path | None:
    """An existing file or folder for an Altium path, trying each base folder in order."""
    if not raw or not raw.strip():
        return None
    absolute, parts = split_windows_path(raw)
    if not parts:
        return None
    if absolute and raw.strip().startswith("/"):
        found = walk_case_insensitive(Path("/"), parts)
        if found is not None:
            return found
    tails = [parts[i:] for i in range(len(parts))] if absolute else [parts]
    for tail in tails:
        for base in bases:
            found = walk_case_insensitive(base, tail)
            if found is not None:
                return found
    return None


def find_file_named(name: str, folders: list[Path], recursive: bool) -> Path | None:
    """The first file called `name` (any case) in the folders, for libraries given by name only."""
    folded = name.casefold()
    for folder in folders:
        if not folder.is_dir():
            continue
        candidates = folder.rglob("*") if recursive else folder.iterdir()
        hits = sorted(p for p in candidates if p.is_file() and p.name.casefold() == folded)
        if hits:
            return hits[0]
    return None
