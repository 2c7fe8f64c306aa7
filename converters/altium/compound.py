"""Altium library files are OLE compound files; this opens them from a path or from bytes.

IntLib files hold whole SchLib/PcbLib compound files as (compressed) streams, so readers take
bytes as readily as paths. Stream names are matched case-insensitively, as Altium writes both
`Data` and `DATA` in the wild.
"""

from __future__ import annotations

import io
from pathlib import Path

import olefile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class NotAnAltiumLibrary(Exception):
    """The file is not a compound file (or is damaged beyond reading)."""


class CompoundFile:
    """Read-only view of a compound file: list storages and read streams by path."""

    def __init__(self, source: Path | bytes, name: str | None = None) -> None:
        self.name = name or (str(source) if isinstance(source, Path) else "<bytes>")
        data = source.read_bytes() if isinstance(source, Path) else source
        if not data.startswith(OLE_MAGIC):
            raise NotAnAltiumLibrary(f"{self.name}: not an Altium library (no compound-file header)")
        try:
            self._ole = olefile.OleFileIO(io.BytesIO(data))
        except Exception as exc:  # olefile raises several kinds on damaged files
            raise NotAnAltiumLibrary(f"{self.name}: damaged compound file ({exc})") from exc
        self._paths = {"/".join(p).casefold(): p for p in self._ole.listdir(streams=True, storages=False)}
        # storages with no stream left in them (damage) are still items the file says it holds
        self._top_storages = {p[0] for p in self._ole.listdir(streams=False, storages=True) if p}

    def streams(self) -> list[tuple[str, ...]]:
        """Every stream path, as tuples of names."""
        return [tuple(p) for p in self._paths.values()]

    def storages(self) -> list[str]:
        """Top-level storage names (one per symbol in a SchLib, per footprint in a PcbLib), empty ones
        included."""
        return sorted({p[0] for p in self._paths.values() if len(p) > 1} | self._top_storages)

    def has(self, *path: str) -> bool:
        return "/".join(path).casefold() in self._paths

    def read(self, *path: str) -> bytes:
        key = "/".join(path).casefold()
        if key not in self._paths:
            raise KeyError(f"{self.name}: no stream {'/'.join(path)}")
        return self._ole.openstream(self._paths[key]).read()

    def read_optional(self, *path: str) -> bytes | None:
        return self.read(*path) if self.has(*path) else None

    def close(self) -> None:
        self._ole.close()
