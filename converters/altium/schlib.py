"""Altium .SchLib -> SymbolLibrary (the neutral model).

The root `FileHeader` lists the symbols and the font table (`schlib_header.py`); each symbol
lives in a storage named after it, truncated to 31 characters, with `SectionKeys` giving the
real storage name where truncation made names clash. A symbol that cannot be read becomes an
ItemFailure; the others are still returned. A file that yields no symbol at all gets a loss (a
failed library row), and symbols its header lists but the file lacks a warning, so a damaged
library never vanishes silently.
"""

from __future__ import annotations

from pathlib import Path

from ..model.symbol import SymbolLibrary
from ..problems import ItemFailure
from .compound import CompoundFile, NotAnAltiumLibrary
from .records import Properties, parse_properties, split_records
from .schlib_common import DEFAULT_TEXT_MM, POINT_TO_KICAD_MM, Font
from .schlib_header import FileHeader, read_file_header
from .schlib_symbol import SymbolError, read_symbol

__all__ = ["read_schlib", "read_schlib_data", "NotAnAltiumLibrary"]


def read_schlib(path: Path) -> SymbolLibrary:
    """Reads a .SchLib file; raises NotAnAltiumLibrary when it is not a compound file."""
    return read_schlib_data(path.read_bytes(), str(path))


def read_schlib_data(data: bytes, source_name: str) -> SymbolLibrary:
    """Reads SchLib bytes (a file's, or a stream embedded in an IntLib)."""
    compound = CompoundFile(data, name=source_name)
    stem = Path(source_name.replace("\\", "/")).stem
    library = SymbolLibrary(name=stem, source=source_name)
    header = _header(compound, library)
    fonts = _fonts(header.properties)
    section_keys = _section_keys(compound)
    for listed, storage in _symbol_storages(compound, header.names, section_keys, library):
        name = listed or storage
        if not compound.has(storage, "Data"):
            library.failures.append(
                ItemFailure(
                    name, f"{source_name}: symbol '{name}': its storage has no Data stream (damaged file)"
                )
            )
            continue
        try:
            data_stream = compound.read(storage, "Data")
            symbol = read_symbol(
                data_stream,
                fonts,
                name,
                compound.read_optional(storage, "PinFrac"),
                compound.read_optional(storage, "PinWideText"),
                compound.read_optional(storage, "PinTextData"),
            )
        except SymbolError as exc:
            library.failures.append(ItemFailure(name, f"{source_name}: symbol '{name}': {exc}"))
            continue
        except Exception as exc:  # a reader bug or unforeseen damage costs this symbol only
            library.failures.append(
                ItemFailure(
                    name, f"{source_name}: symbol '{name}' could not be read: {type(exc).__name__}: {exc}"
                )
            )
            continue
        if listed and symbol.name != listed:
            # the header's name is what Altium lists; the component record may disagree
            symbol.warnings.append(
                f"library lists it as '{listed}', its component record says '{symbol.name}'"
            )
        library.symbols.append(symbol)
    compound.close()
    if not library.symbols and not library.failures:
        listed = f"its FileHeader lists {len(header.names)}" if header.names else "its FileHeader lists none"
        damage = "; ".join(library.warnings) or "the file holds no symbol storage"
        library.losses.append(f"{source_name}: no symbol could be read ({listed}; {damage})")
        library.warnings.clear()  # they are in the loss's message: one row says it all
    return library


def _header(compound: CompoundFile, library: SymbolLibrary) -> FileHeader:
    try:
        raw = compound.read_optional("FileHeader")
    except Exception as exc:  # olefile's errors on damaged sectors vary
        raw = None
        library.warnings.append(f"FileHeader could not be read ({type(exc).__name__}: {exc})")
    if raw is None:
        if not library.warnings:
            library.warnings.append("no FileHeader stream: symbols found by their storages, default fonts")
        return FileHeader()
    header = read_file_header(raw)
    library.warnings.extend(header.warnings)
    return header


def _fonts(header: Properties) -> list[Font]:
    """FONTIDCOUNT fonts: SIZEn in points, BOLDn, ITALICn, FONTNAMEn."""
    count = header.integer("FONTIDCOUNT")
    fonts = []
    for i in range(1, count + 1):
        points = header.number(f"SIZE{i}")
        size = round(points * POINT_TO_KICAD_MM, 4) if points > 0 else DEFAULT_TEXT_MM
        fonts.append(
            Font(
                size=size,
                bold=header.boolean(f"BOLD{i}"),
                italic=header.boolean(f"ITALIC{i}"),
                name=header.text(f"FONTNAME{i}"),
                points=points if points > 0 else 10.0,
            )
        )
    return fonts


def _section_keys(compound: CompoundFile) -> dict[str, str]:
    raw = compound.read_optional("SectionKeys")
    if not raw:
        return {}
    records, _ = split_records(raw)
    if not records or records[0].binary:
        return {}
    props = parse_properties(records[0].payload)
    return {
        props.text(f"LIBREF{i}"): props.text(f"SECTIONKEY{i}")
        for i in range(props.integer("KEYCOUNT"))
        if props.text(f"LIBREF{i}")
    }


def _storage_name(name: str) -> str:
    """Altium's storage name for a symbol without a section key: 31 characters, '/' replaced."""
    return name[:31].replace("/", "_")


def _symbol_storages(
    compound: CompoundFile, names: list[str], section_keys: dict[str, str], library: SymbolLibrary
) -> list[tuple[str, str]]:
    """(symbol name, storage) for every top-level storage (each is a symbol), in the header's order.

    Storages the header does not list are still read (KiCad and Altium show them too); names the
    header lists without a storage are reported once on the library."""
    storages = {s.casefold(): s for s in compound.storages()}
    found: list[tuple[str, str]] = []
    missing: list[str] = []
    for name in names:
        wanted = section_keys.get(name) or _storage_name(name)
        storage = storages.pop(wanted.casefold(), None) or storages.pop(_storage_name(name).casefold(), None)
        if storage is None:
            missing.append(name)
        else:
            found.append((name, storage))
    found += [("", s) for s in sorted(storages.values())]
    if missing:
        shown = ", ".join(f"'{m}'" for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        library.warnings.append(
            f"FileHeader lists {len(names)} symbol(s), {len(missing)} of them with no storage in the "
            f"file (not in the library): {shown}"
        )
    return found
