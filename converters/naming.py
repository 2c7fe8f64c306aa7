"""Names KiCad accepts: library nicknames, item names and file names.

KiCad's LIB_ID treats ':' as the library separator and refuses a few more characters in names;
file systems refuse others. One place decides, so readers, writers and the database library agree.
"""

from __future__ import annotations

import re

# KiCad's LIB_ID::FindIllegalLibraryNameChar plus characters file systems refuse.
_ILLEGAL_LIBRARY = re.compile(r'[\x00-\x1f\\/:*?"<>|\s]+')
_ILLEGAL_ITEM = re.compile(r"[\x00-\x1f:/\\]")


def safe_library_name(stem: str) -> str:
    """A KiCad library nickname (also the file stem) made from a source file's stem."""
    name = _ILLEGAL_LIBRARY.sub("_", stem.strip()).strip("_.")
    return name or "library"


def safe_item_name(name: str) -> str:
    """A symbol or footprint name KiCad can reference as Lib:Item."""
    cleaned = _ILLEGAL_ITEM.sub("_", name).strip()
    return cleaned or "unnamed"


def safe_file_name(name: str) -> str:
    """A file name for an item (footprint, 3D model) on any file system."""
    cleaned = re.sub(r'[\x00-\x1f\\/:*?"<>|]', "_", name).strip().rstrip(".")
    return cleaned or "unnamed"


class UniqueNames:
    """Hands out names unique within one scope, case-insensitively, suffixing clashes."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, wanted: str) -> tuple[str, bool]:
        """Returns the name to use and whether it had to change because of a clash."""
        name, n = wanted, 1
        while name.lower() in self._taken:
            n += 1
            name = f"{wanted}_{n}"
        self._taken.add(name.lower())
        return name, name != wanted
