"""A SchLib's root `FileHeader`: library properties, font table and the list of its symbols.

The stream starts with one text record (HEADER, fonts `SIZEn`..., and in most files COMPCOUNT and
LIBREFn). Some Altium versions list the symbols after that record instead, in binary: a uint32
count, then per symbol a block (uint32 length, low 24 bits) holding a Pascal string (one length
byte, Latin-1 name), the layout AltiumSharp reads and writes. KiCad's importer reads the first
record only and ignores the rest; framing the list as records misreads the count as a record
length, so the tail is read here in its own layout.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .records import Properties, parse_properties

HEADER_TEXT = "Protel for Windows - Schematic Library Editor Binary File Version 5.0"


@dataclass
class FileHeader:
    """What the FileHeader says: its properties, the symbol names it lists, and what was odd."""

    properties: Properties = field(default_factory=Properties)
    names: list[str] = field(default_factory=list)  # symbols the header lists, in its order
    warnings: list[str] = field(default_factory=list)


class _ListError(Exception):
    pass


def read_file_header(raw: bytes) -> FileHeader:
    """Parses FileHeader bytes; never raises: what cannot be read becomes a warning."""
    header = FileHeader()
    if len(raw) < 4:
        header.warnings.append(f"FileHeader is {len(raw)} bytes long: damaged, no symbol list")
        return header
    (word,) = struct.unpack_from("<I", raw, 0)
    length, binary = word & 0xFFFFFF, word >> 24 != 0
    if binary:
        header.warnings.append(
            "FileHeader: its first record is binary, not the library's properties (damaged)"
        )
        return header
    if 4 + length > len(raw):
        header.warnings.append(
            f"FileHeader: its first record claims {length} bytes but only {len(raw) - 4} remain "
            f"(damaged): no font table or symbol list"
        )
        return header
    header.properties = parse_properties(raw[4 : 4 + length])
    if not header.properties.text("HEADER"):
        header.warnings.append("FileHeader has no HEADER property (damaged?)")
    listed = [
        header.properties.text(f"LIBREF{i}") for i in range(max(0, header.properties.integer("COMPCOUNT")))
    ]
    tail = raw[4 + length :]
    if tail.strip(b"\x00"):
        try:
            header.names = _binary_name_list(tail)
            return header
        except _ListError as exc:
            header.warnings.append(
                f"FileHeader: the {len(tail)} bytes after its properties are not a symbol list ({exc})"
            )
    header.names = listed
    return header


def _binary_name_list(tail: bytes) -> list[str]:
    """uint32 count, then count blocks of [uint32 length][u8 n][n bytes]; only zero bytes may follow."""
    if len(tail) < 4:
        raise _ListError(f"{len(tail)} bytes cannot hold a count")
    (count,) = struct.unpack_from("<I", tail, 0)
    pos, names = 4, []
    for i in range(count):
        if pos + 4 > len(tail):
            raise _ListError(f"the list of {count} ends after {i} names")
        (word,) = struct.unpack_from("<I", tail, pos)
        size = word & 0xFFFFFF
        block = tail[pos + 4 : pos + 4 + size]
        if len(block) < size or (block and 1 + block[0] > size):
            raise _ListError(f"name {i} of {count} at byte {pos} claims more bytes than remain")
        names.append(block[1 : 1 + block[0]].decode("latin-1") if block else "")
        pos += 4 + size
    if tail[pos:].strip(b"\x00"):
        raise _ListError(f"{len(tail) - pos} stray bytes after the list of {count} names")
    return names
