"""Converts one symbol library: read the SchLib, write `OUT/symbols/<nick>.kicad_sym`.

One report row per symbol (ok, warning with what was approximated or lost, failed with why) and
one per symbol the reader could not read. A symbol whose rendering raises becomes a failed row
and the others are still written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .model.symbol import Implementation, Symbol, SymbolLibrary
from .naming import safe_footprint_name, safe_symbol_name
from .report import ItemReport
from .run import ConversionRun, ConvertedLibrary, unique_item_names

FootprintLookup = Callable[[Symbol, Implementation], str]


def convert_schlib(run: ConversionRun, path: Path) -> ConvertedLibrary:
    from .altium.compound import NotAnAltiumLibrary
    from .altium.schlib import read_schlib

    try:
        library = read_schlib(path)
    except (NotAnAltiumLibrary, OSError) as exc:
        run.fail_library(path, "library", str(exc))
        return ConvertedLibrary(path, "symbols", "", path)
    return write_symbol_library(run, library, path, path.stem)


def write_symbol_library(
    run: ConversionRun,
    library: SymbolLibrary,
    source: Path,
    stem: str,
    footprint_lookup: FootprintLookup | None = None,
) -> ConvertedLibrary:
    """Writes the library and reports every symbol. `footprint_lookup` may turn a footprint link
    into KiCad's `Nick:Footprint` (the IntLib and DbLib jobs know the footprint libraries);
    without it the Footprint field holds Altium's footprint name."""
    from .kicad.symbol_writer import library_text, symbol_expr

    nick = run.claim_nickname("symbols", source, stem)
    folder = run.out / "symbols"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{nick}.kicad_sym"
    converted = ConvertedLibrary(source, "symbols", nick, target)
    run.report_reader_problems(source, "symbol", nick, library.failures, library.warnings)
    for loss in library.losses:  # the file said it held more than any item accounts for
        run.fail_library(source, "library", loss)
    version = run.options.kicad_version
    exprs, rows = [], []
    names = unique_item_names((s.name for s in library.symbols), safe_symbol_name)
    for symbol, (kicad_name, renamed) in zip(library.symbols, names):
        try:
            links = [footprint_lookup(symbol, i) if footprint_lookup else "" for i in symbol.footprints]
            _apply_footprint(symbol, links[0] if links else "")
            _apply_footprint_filters(symbol, links)
            expr, notes = symbol_expr(symbol, kicad_name, version)
        except Exception as exc:  # a bug or odd symbol costs this symbol only
            run.fail_item(source, "symbol", symbol.name, exc)
            continue
        exprs.append(expr)
        converted.items[symbol.name] = kicad_name
        rows.append(
            ItemReport.from_warnings(
                str(source), symbol.name, "symbol", f"{nick}:{kicad_name}", symbol.warnings + renamed + notes
            )
        )
    target.write_text(library_text(exprs, version), encoding="utf-8")
    for row in rows:
        run.report.add(row)
    return converted


def _apply_footprint(symbol: Symbol, reference: str) -> None:
    """The Footprint field: the `Nick:Footprint` found, else the bare footprint name as its
    footprint would be written (naming.py), so KiCad can parse it and a user can find it."""
    field = symbol.get_field("Footprint")
    if field is None:
        return
    if reference:
        field.value = reference
    elif field.value.strip():
        field.value = safe_footprint_name(field.value)


def _apply_footprint_filters(symbol: Symbol, links: list[str]) -> None:
    """ki_fp_filters: each linked footprint as it was written (the `Nick:Item` found, else its name
    under naming.py). KiCad splits the filters at spaces and reads '?' as any one character, so '?'
    stands for a space in a name."""
    field = symbol.get_field("ki_fp_filters")
    names = [
        link.partition(":")[2] if link else safe_footprint_name(i.name)
        for i, link in zip(symbol.footprints, links, strict=True)
        if link or i.name.strip()
    ]
    if field is not None and names:
        field.value = " ".join(dict.fromkeys(n.replace(" ", "?") for n in names))
