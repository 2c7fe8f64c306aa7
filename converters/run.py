"""The state of one conversion run: output folder, options, report, and what it already converted.

The run owns the output layout (DEVELOPERS.md / README): `symbols/<Lib>.kicad_sym`,
`footprints/<Lib>.pretty/`, `3dmodels/<Lib>.3dshapes/`, `report.json`. The library jobs
(`*_job.py`) import this module; the run reaches them only through the `LibraryJobs` that
`convert.py` hands it, so imports run one way: convert -> jobs -> run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .library_files import (
    DATABASE_EXTENSIONS,
    FOOTPRINT_EXTENSIONS,
    INTEGRATED_EXTENSIONS,
    SYMBOL_EXTENSIONS,
)
from .naming import UniqueNames, safe_library_name, unescape
from .problems import ItemFailure
from .report import ConversionReport, ItemReport, Status


@dataclass
class ConvertOptions:
    kicad_version: int = 9
    embed_3d: bool = False
    layer_map: Path | None = None  # user's layer mapping file (footprints)
    database_url: str | None = None  # parts database for a DbLib, overriding its own string
    svn_checkout: Path | None = None  # local checkout holding a SVNDbLib's libraries
    output_database_url: str | None = None  # where a DbLib's parts go (default: SQLite beside .kicad_dbl)


@dataclass
class ConvertedLibrary:
    """What one source library became: its KiCad nickname, file and item names."""

    source: Path
    kind: str  # "symbols" or "footprints"
    nickname: str
    path: Path
    items: dict[str, str] = field(default_factory=dict)  # source item name -> KiCad item name

    def lookup(self, source_item: str) -> str | None:
        """The KiCad item for a source item name, matching case-insensitively as Altium does."""
        if source_item in self.items:
            return self.items[source_item]
        folded = {k.casefold(): v for k, v in self.items.items()}
        return folded.get(source_item.casefold())


@dataclass(frozen=True)
class LibraryJobs:
    """The converter of each library kind (one `*_job.py` each), given to the run by `convert.py`."""

    symbols: Callable[[ConversionRun, Path], ConvertedLibrary]
    footprints: Callable[[ConversionRun, Path], ConvertedLibrary]
    integrated: Callable[[ConversionRun, Path], list[ConvertedLibrary]]
    database: Callable[[ConversionRun, Path], list[ConvertedLibrary]]


class ConversionRun:
    """State of one run: output folder, options, report, and libraries already converted."""

    def __init__(self, out: Path, options: ConvertOptions | None, jobs: LibraryJobs) -> None:
        self.out = out
        self.jobs = jobs
        self.options = options or ConvertOptions()
        self.report = ConversionReport(output=str(out))
        self._nicknames = {"symbols": UniqueNames(), "footprints": UniqueNames()}
        self._converted: dict[tuple[str, str], ConvertedLibrary] = {}

    # -- naming ---------------------------------------------------------------------------
    def claim_nickname(self, kind: str, source: Path, stem: str) -> str:
        wanted = safe_library_name(stem)
        name, clashed = self._nicknames[kind].claim(wanted)
        if clashed:
            self.report.add(
                ItemReport(
                    str(source),
                    stem,
                    "library",
                    name,
                    Status.WARNING,
                    [f"library name '{wanted}' already used in this run; written as '{name}'"],
                )
            )
        return name

    # -- dispatch -------------------------------------------------------------------------
    def convert(self, path: Path) -> list[ConvertedLibrary]:
        """Converts one library file of any supported kind; a file is converted once per run."""
        ext = path.suffix.lower()
        if ext in SYMBOL_EXTENSIONS:
            return [self.symbol_library(path)]
        if ext in FOOTPRINT_EXTENSIONS:
            return [self.footprint_library(path)]
        if ext in INTEGRATED_EXTENSIONS:
            return self.integrated_library(path)
        if ext in DATABASE_EXTENSIONS:
            libs = self.jobs.database(self, path)
            for lib in libs:
                if lib.kind == "database":  # listed in sym-lib-table as a Database library
                    self._converted[(str(path.resolve()), "database")] = lib
            return libs
        self.fail_library(path, "library", f"not an Altium library ({path.suffix or 'no extension'})")
        return []

    def _cached(self, path: Path, kind: str, make: Callable[[], ConvertedLibrary]) -> ConvertedLibrary:
        key = (str(path.resolve()), kind)
        if key not in self._converted:
            self._converted[key] = make()
        return self._converted[key]

    def symbol_library(self, path: Path) -> ConvertedLibrary:
        return self._cached(path, "symbols", lambda: self.jobs.symbols(self, path))

    def footprint_library(self, path: Path) -> ConvertedLibrary:
        return self._cached(path, "footprints", lambda: self.jobs.footprints(self, path))

    def integrated_library(self, path: Path) -> list[ConvertedLibrary]:
        key = (str(path.resolve()), "integrated")
        if key not in self._converted:
            libs = self.jobs.integrated(self, path)
            for lib in libs:
                self._converted[(str(path.resolve()), lib.kind)] = lib
            self._converted[key] = ConvertedLibrary(path, "integrated", "", path)
            return libs
        return [
            lib
            for (p, kind), lib in self._converted.items()
            if p == key[0] and kind in ("symbols", "footprints")
        ]

    def fail_library(self, path: Path, kind: str, reason: str) -> None:
        """A whole file could not be read: one failed row that names it (once: readers' errors
        often start with the file already)."""
        message = reason if reason.startswith(str(path)) else f"{path}: {reason}"
        self.report.add(ItemReport(str(path), path.name, kind, "", Status.FAILED, [message]))

    def report_reader_problems(
        self, source: Path, kind: str, nick: str, failures: Iterable[ItemFailure], warnings: list[str]
    ) -> None:
        """Rows for what a reader could not read: each failed item (its reason names the file), and
        the library's own warnings (what was lost outside any one item)."""
        for failure in failures:
            self.report.add(ItemReport(str(source), failure.name, kind, "", Status.FAILED, [failure.reason]))
        if warnings:
            self.report.add(
                ItemReport(str(source), source.name, "library", nick, Status.WARNING, list(warnings))
            )

    def fail_item(self, source: Path, kind: str, name: str, exc: Exception) -> None:
        """The row for one item whose writing raised: it costs that item, never its library."""
        self.report.add(
            ItemReport(
                str(source),
                name,
                kind,
                "",
                Status.FAILED,
                [f"{source}: {kind} '{name}': {type(exc).__name__}: {exc}"],
            )
        )

    def converted_libraries(self) -> list[ConvertedLibrary]:
        """Every symbol, footprint and database library this run wrote (once each)."""
        seen: dict[int, ConvertedLibrary] = {}
        for lib in self._converted.values():
            if lib.kind in ("symbols", "footprints", "database") and lib.nickname:
                seen.setdefault(id(lib), lib)
        return list(seen.values())

    def finish(self) -> ConversionReport:
        self.out.mkdir(parents=True, exist_ok=True)
        from .kicad.lib_tables import write_lib_tables

        write_lib_tables(self.out, self.converted_libraries())
        self.report.write(self.out / "report.json")
        return self.report


def unique_item_names(names: Iterable[str], rule: Callable[[str], str]) -> Iterator[tuple[str, list[str]]]:
    """(KiCad name, warnings) for items of one library, made by the naming `rule` (naming.py) and
    unique case-insensitively; a warning says when KiCad will show another name than the source's
    (an escape such as `{dblquote}` shows as the character it stands for, so it is no rename)."""
    scope = UniqueNames()
    for name in names:
        final, _ = scope.claim(rule(name))
        changed = unescape(final) != name
        yield final, ([f"written as '{final}' (name not allowed or already used)"] if changed else [])
