"""Altium .SchLib -> SymbolLibrary (the neutral model).

The root `FileHeader` lists the symbols (COMPCOUNT, LIBREFn) and the font table; each symbol
lives in a storage named after it, truncated to 31 characters, with `SectionKeys` giving the
real storage name where truncation made names clash. A symbol that cannot be read becomes an
ItemFailure; the others are still returned.
"""

from __future__ import annotations

from pathlib import Path

from ..model.symbol import SymbolLibrary
from ..problems import ItemFailure
from .compound import CompoundFile, NotAnAltiumLibrary
from .records import Properties, parse_properties, split_records
from .schlib_common import DEFAULT_TEXT_MM, POINT_TO_KICAD_MM, Font
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
    fonts = _fonts(header)
    section_keys = _section_keys(compound)
    for listed, storage in _symbol_storages(compound, header, section_keys, library):
        name = listed or storage
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
    return library


def _header(compound: CompoundFile, library: SymbolLibrary) -> Properties:
    raw = compound.read_optional("FileHeader")
    if raw is None:
        library.warnings.append("no FileHeader stream: symbols found by their storages, default fonts")
        return Properties()
    records, error = split_records(raw)
    if error:
        library.warnings.append(f"FileHeader: {error}")
    return parse_properties(records[0].payload) if records and not records[0].binary else Properties()


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
    compound: CompoundFile, header: Properties, section_keys: dict[str, str], library: SymbolLibrary
) -> list[tuple[str, str]]:
    """(symbol name, storage) for every storage holding a Data stream, in the header's order.

    Storages the header does not list are still read (KiCad and Altium show them too); names the
    header lists without a storage are reported once on the library."""
    storages = {s.casefold(): s for s in compound.storages() if compound.has(s, "Data")}
    names = [header.text(f"LIBREF{i}") for i in range(header.integer("COMPCOUNT"))]
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
            f"FileHeader lists {len(missing)} symbol(s) with no storage in the file "
            f"(not in the library): {shown}"
        )
    return found
