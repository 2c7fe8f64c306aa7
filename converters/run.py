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
from typing import Literal

from .cache import ConversionCache
from .database_cache import Recorder, convert_database_cached
from .library_files import (
    DATABASE_EXTENSIONS,
    FOOTPRINT_EXTENSIONS,
    INTEGRATED_EXTENSIONS,
    SYMBOL_EXTENSIONS,
)
from .naming import UniqueNames, safe_library_name, unescape
from .problems import ItemFailure
from .report import ConversionReport, ItemReport, Status
from .tasks import TaskRunner, name_key, row_from_json


@dataclass
class ConvertOptions:
    kicad_version: int = 9
    embed_3d: bool = False
    layer_map: Path | None = None  # user's layer mapping file (footprints)
    database_url: str | None = None  # parts database for a DbLib, overriding its own string
    svn_checkout: Path | None = None  # local checkout holding a SVNDbLib's libraries
    output_database_url: str | None = None  # where a DbLib's parts go (default: SQLite beside .kicad_dbl)
    # PostgreSQL output: one table partitioned by category into this many partitions (0: a table each)
    parts_partitions: int = 0
    partition_method: Literal["list", "hash"] = "list"
    # create_engine() keywords (pool sizes): they change how, not what, is converted
    engine_options: dict = field(default_factory=dict, metadata={"cache_key": False})
    # the parts tables an earlier reader of this run took (altium/parts_snapshot.py), read instead
    # of the database when they match the DbLib; the same rows, so not part of any cache key
    parts_snapshot: Path | None = field(default=None, metadata={"cache_key": False})


@dataclass
class ConvertedLibrary:
    """What one source library became: its KiCad nickname, file and item names."""

    source: Path
    kind: str  # "symbols" or "footprints"
    nickname: str
    path: Path
    items: dict[str, str] = field(default_factory=dict)  # source item name -> KiCad item name
    # source item name -> why it links where it does (a mapping rule's fix): every part that links
    # through that name carries it as a warning, so a substituted footprint is never silent
    notes: dict[str, str] = field(default_factory=dict)

    def lookup(self, source_item: str) -> str | None:
        """The KiCad item for a source item name, matching case-insensitively as Altium does."""
        if source_item in self.items:
            return self.items[source_item]
        folded = {k.casefold(): v for k, v in self.items.items()}
        return folded.get(source_item.casefold())


@dataclass(frozen=True)
class LibraryJobs:
    """The converter of each library kind (one `*_job.py` each), given to the run by `convert.py`,
    and how to learn the nicknames an IntLib's conversion will ask for before it starts."""

    symbols: Callable[[ConversionRun, Path], ConvertedLibrary]
    footprints: Callable[[ConversionRun, Path], ConvertedLibrary]
    integrated: Callable[[ConversionRun, Path], list[ConvertedLibrary]]
    database: Callable[[ConversionRun, Path], list[ConvertedLibrary]]
    integrated_nicknames: Callable[[Path], list[tuple[str, str]]] = lambda _path: []


def library_task_kind(path: Path) -> str | None:
    """The job kind of a file converted on its own (a DbLib is not: it runs in the run itself)."""
    ext = path.suffix.lower()
    if ext in SYMBOL_EXTENSIONS:
        return "symbols"
    if ext in FOOTPRINT_EXTENSIONS:
        return "footprints"
    if ext in INTEGRATED_EXTENSIONS:
        return "integrated"
    return None


class ConversionRun:
    """State of one run: output folder, options, report, and libraries already converted.

    Libraries (SchLib, PcbLib, IntLib) are converted as tasks (`tasks.py`): their nicknames are
    claimed in the order the run meets them, then each converts on its own, in a worker process
    when `workers` > 1 or straight from the cache when nothing it depends on changed, and its
    report rows join the report in that same order. So the output never depends on `workers`.
    """

    library_type = ConvertedLibrary  # what the cache modules rebuild, without importing this one

    def __init__(
        self,
        out: Path,
        options: ConvertOptions | None,
        jobs: LibraryJobs,
        cache: ConversionCache | None = None,
        workers: int = 1,
    ) -> None:
        self.out = out
        self.jobs = jobs
        self.options = options or ConvertOptions()
        self.report = ConversionReport(output=str(out))
        self.cache = cache
        self.workers = max(1, workers)
        self._nicknames = {"symbols": UniqueNames(), "footprints": UniqueNames()}
        self._given: list[tuple[str, str]] = []
        self._resolved: dict[Path, str] = {}
        self._reserved: dict[tuple[str, str, str], tuple[str, ItemReport | None]] = {}
        self._converted: dict[tuple[str, str], ConvertedLibrary] = {}
        self._tasks = TaskRunner(self, PlannedRun, ConvertedLibrary)
        self.recorder: Recorder | None = None  # set while a DbLib's conversion is recorded for the cache

    def resolved(self, path: Path) -> str:
        """The file's real path, the run's key for it (resolved once: a DbLib asks thousands of times)."""
        known = self._resolved.get(path)
        if known is None:
            known = self._resolved[path] = str(path.resolve())
        return known

    # -- naming ---------------------------------------------------------------------------
    def nickname_stem(self, stem: str) -> str:
        """The stem a library's nickname is made from (the pipeline applies its mapping rules)."""
        return stem

    def cache_context(self) -> object:
        """What else, beyond sources, converter and options, a library's output depends on."""
        return None

    def new_nickname(self, kind: str, source: Path, stem: str) -> tuple[str, ItemReport | None]:
        """Claims a nickname now: the name, and the warning row to report when it had to change."""
        stem = self.nickname_stem(stem)
        wanted = safe_library_name(stem)
        name, clashed = self._nicknames[kind].claim(wanted)
        self._given.append((kind, name))
        if not clashed:
            return name, None
        return name, ItemReport(
            str(source),
            stem,
            "library",
            name,
            Status.WARNING,
            [f"library name '{wanted}' already used in this run; written as '{name}'"],
        )

    def reserve_nickname(self, kind: str, source: Path, stem: str) -> None:
        """Claims the nickname a library will ask for later, so names follow the input order."""
        key = (kind, self.resolved(source), stem)
        if key not in self._reserved:
            self._reserved[key] = self.new_nickname(kind, source, stem)

    def take_nickname(self, kind: str, source: Path, stem: str) -> tuple[str, ItemReport | None]:
        """The reserved nickname, else a new one (and its clash row), without reporting it."""
        reserved = self._reserved.pop((kind, self.resolved(source), stem), None)
        return reserved or self.new_nickname(kind, source, stem)

    def claim_nickname(self, kind: str, source: Path, stem: str) -> str:
        if self.recorder is not None:
            self.recorder.claim(kind, stem)
        name, row = self.take_nickname(kind, source, stem)
        if row is not None:
            self.report.add(row)
        return name

    def names_fingerprint(self) -> list:
        """Every nickname given out or reserved so far: what a later library's names depend on."""
        return sorted(self._given)

    # -- dispatch -------------------------------------------------------------------------
    def plan(self, paths: Iterable[Path]) -> None:
        """Claims the nicknames of every listed library in input order and starts converting the
        libraries (in workers, or from the cache) before the run asks for them one by one."""
        for path in paths:
            kind = library_task_kind(path)
            if kind is not None:
                self._tasks.start(path, kind, submit=False)
            elif path.suffix.lower() in DATABASE_EXTENSIONS:
                self.reserve_nickname("symbols", path, path.stem)
        self._tasks.submit_largest_first()

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
            return self.database_library(path)
        self.fail_library(path, "library", f"not an Altium library ({path.suffix or 'no extension'})")
        return []

    def database_library(self, path: Path) -> list[ConvertedLibrary]:
        key = (self.resolved(path), "database")
        if key in self._converted:
            return [self._converted[key]]
        libs = convert_database_cached(self, path)
        for lib in libs:
            if lib.kind == "database":  # listed in sym-lib-table as a Database library
                self._converted[key] = lib
        return libs

    def converted_library(self, path: Path, kind: str) -> ConvertedLibrary | None:
        return self._converted.get((self.resolved(path), kind))

    def _library(self, path: Path, kind: str) -> ConvertedLibrary:
        known = self.converted_library(path, kind)
        if known is not None:
            return known
        libs = self._tasks.finish(path, kind)
        return libs[0] if libs else ConvertedLibrary(path, kind, "", path)

    def _recorded(self, method: str, path: Path, call: Callable):
        if self.recorder is None:
            return call()
        return self.recorder.library(method, path, call)

    def symbol_library(self, path: Path) -> ConvertedLibrary:
        return self._recorded("symbol_library", path, lambda: self._library(path, "symbols"))

    def footprint_library(self, path: Path) -> ConvertedLibrary:
        return self._recorded("footprint_library", path, lambda: self._library(path, "footprints"))

    def integrated_library(self, path: Path) -> list[ConvertedLibrary]:
        return self._recorded("integrated_library", path, lambda: self._tasks.finish(path, "integrated"))

    def register(self, path: Path, kind: str, libs: list[ConvertedLibrary]) -> None:
        """Remembers what a library task produced, so each file is converted once per run."""
        resolved = self.resolved(path)
        for lib in libs:
            self._converted[(resolved, lib.kind)] = lib
        if kind == "integrated":
            self._converted[(resolved, "integrated")] = ConvertedLibrary(path, "integrated", "", path)

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

        self._tasks.close()
        if self.cache is not None:
            self.cache.save_state()

        write_lib_tables(self.out, self.converted_libraries())
        if self.cache is not None:
            self.report.cache_stats = (self.cache.hits, self.cache.misses)
        self.report.write(self.out / "report.json")
        return self.report


class PlannedRun(ConversionRun):
    """The run a worker gives a library job: its nicknames were handed out by the main run."""

    def __init__(self, out: Path, options: ConvertOptions, jobs: LibraryJobs, names: dict) -> None:
        super().__init__(out, options, jobs)
        self.names = names  # "kind\0stem" -> (nickname, clash row as JSON or None)

    def claim_nickname(self, kind: str, source: Path, stem: str) -> str:
        planned = self.names.get(name_key(kind, stem))
        if planned is None:
            raise RuntimeError(
                f"{source}: the {kind} job asked for nickname '{stem}', which the run did not plan"
            )
        name, row = planned
        if row is not None:
            self.report.add(row_from_json(row))
        return name


def unique_item_names(names: Iterable[str], rule: Callable[[str], str]) -> Iterator[tuple[str, list[str]]]:
    """(KiCad name, warnings) for items of one library, made by the naming `rule` (naming.py) and
    unique case-insensitively; a warning says when KiCad will show another name than the source's
    (an escape such as `{dblquote}` shows as the character it stands for, so it is no rename)."""
    scope = UniqueNames()
    for name in names:
        final, _ = scope.claim(rule(name))
        changed = unescape(final) != name
        yield final, ([f"written as '{final}' (name not allowed or already used)"] if changed else [])
