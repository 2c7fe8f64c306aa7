"""The conversion cache for database libraries: an unchanged DbLib's parts table is not rewritten.

A DbLib's output depends on more than its own bytes: its parts table file (Access, Excel, CSV,
SQLite), every library its parts name and which nicknames the run had already given out. The
entry is found by the DbLib's bytes, the parts file's bytes, the converter, the options, the
run's names so far and the list of library files near the DbLib (a library added there may
answer a part that found none); it then lists every library file the conversion opened with its
hash, and is used only when all of them are unchanged.

A hit replays the conversion: the DbLib's own report rows, and at their places the libraries it
converted (through the run, so they are converted or restored once, in the same order), then
restores `database/<nick>.*`, leaving files that did not change alone. Parts read from a database
server, or written to one (`--output-database-url`), are never cached: their content cannot be
seen without reading it all.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .cache import (
    CacheEntry,
    ConversionCache,
    converter_fingerprint,
    digest_bytes,
    file_digest,
    make_key,
    options_fingerprint,
)
from .library_files import LIBRARY_EXTENSIONS
from .tasks import library_from_json, row_from_json

if TYPE_CHECKING:
    from .run import ConversionRun, ConvertedLibrary

DATABASE_FOLDER = "database"
FILE_SOURCES = ("access", "excel", "sqlite", "csv")


class Recorder:
    """What a DbLib conversion did, in order: its rows, its nickname claims, the libraries it used."""

    def __init__(self, run: ConversionRun) -> None:
        self.run = run
        self.events: list[list] = []
        self.mark = len(run.report.items)

    def flush(self) -> None:
        rows = self.run.report.items[self.mark :]
        if rows:
            self.events.append(["rows", [r.to_json() for r in rows]])
        self.mark = len(self.run.report.items)

    def library(self, method: str, path: Path, call):
        """Records a library the DbLib asked for; its own rows are the library's, not the DbLib's."""
        self.flush()
        self.events.append(["library", method, str(path)])
        try:
            return call()
        finally:
            self.mark = len(self.run.report.items)

    def claim(self, kind: str, stem: str) -> None:
        self.flush()
        self.events.append(["claim", kind, stem])


def _parts_files(run: ConversionRun, path: Path) -> list[Path] | None:
    """The files holding the DbLib's parts, or None when they are on a server (not cacheable)."""
    from .altium.dblib import DbLibError, read_dblib
    from .altium.parts_tables import choose_source

    try:
        library = read_dblib(path)
    except DbLibError:
        return []  # the job reports it; the DbLib's own bytes decide the outcome
    choice = choose_source(library, run.options.database_url)
    if choice.kind not in FILE_SOURCES and choice.kind != "none":
        return None
    if choice.kind == "none":
        return []
    target = Path(choice.target)
    if target.is_dir():
        return sorted(p for p in target.iterdir() if p.is_file())
    return [target]


def _nearby_libraries(run: ConversionRun, cache: ConversionCache, path: Path) -> list[str]:
    """Library files below the DbLib's folder (and the SVN checkout): names only, cheap to list."""
    roots = [path.parent] + ([Path(run.options.svn_checkout)] if run.options.svn_checkout else [])
    found: list[str] = []
    for root in roots:
        if root not in cache.listings:
            cache.listings[root] = sorted(
                str(p) for p in root.rglob("*") if p.suffix.lower() in LIBRARY_EXTENSIONS and p.is_file()
            )
        found += cache.listings[root]
    return found


def _key(run: ConversionRun, cache: ConversionCache, path: Path) -> str | None:
    if run.options.output_database_url:
        return None
    files = _parts_files(run, path)
    if files is None:
        return None
    try:
        sources = [cache.source_digest(path)] + [[str(f), cache.source_digest(f)] for f in files]
    except OSError:
        return None
    return make_key(
        "database",
        converter_fingerprint(),
        run.cache_context(),
        options_fingerprint(run.options),
        str(path),
        sources,
        run.names_fingerprint(),
        digest_bytes("\n".join(_nearby_libraries(run, cache, path)).encode()),
    )


def _deps_unchanged(cache: ConversionCache, entry: CacheEntry) -> bool:
    for dep, sha in entry.extra["deps"]:
        try:
            if cache.source_digest(Path(dep)) != sha:
                return False
        except OSError:
            return False
    return True


def _replay(
    run: ConversionRun, cache: ConversionCache, path: Path, entry: CacheEntry
) -> list[ConvertedLibrary] | None:
    if not _deps_unchanged(cache, entry) or not cache.restore(entry, run.out):
        return None
    for event in entry.extra["events"]:
        if event[0] == "rows":
            for row in event[1]:
                run.report.add(row_from_json(row))
        elif event[0] == "claim":
            run.take_nickname(event[1], path, event[2])
        else:
            try:
                getattr(run, event[1])(Path(event[2]))
            except Exception:  # the DbLib's rows already say what this library cost its parts
                pass
    libs = [library_from_json(d, run.out, run.library_type) for d in entry.libraries]
    used = [run.converted_library(Path(p), kind) for p, kind in entry.extra["used"]]
    return libs + [lib for lib in used if lib is not None]


def convert_database_cached(run: ConversionRun, path: Path) -> list[ConvertedLibrary]:
    """The DbLib's libraries, from the cache when nothing it depends on changed."""
    cache = run.cache
    key = _key(run, cache, path) if cache is not None else None
    if cache is None or key is None:
        return run.jobs.database(run, path)
    entry = cache.lookup(key)
    if entry is not None:
        replayed = _replay(run, cache, path, entry)
        if replayed is not None:
            cache.hits += 1
            return replayed
    recorder = Recorder(run)
    run.recorder = recorder
    try:
        libs = run.jobs.database(run, path)
    finally:
        run.recorder = None
    recorder.flush()
    cache.misses += 1
    own = [lib for lib in libs if lib.kind == "database"]
    used = [lib for lib in libs if lib.kind != "database"]
    files = {}
    for lib in own:
        for written in sorted((run.out / DATABASE_FOLDER).glob(f"{lib.nickname}.*")):
            if written.is_file():
                relative = written.relative_to(run.out).as_posix()
                sha = file_digest(written)
                files[relative] = [sha, written.stat().st_size]
                cache.record_output(run.out, relative, sha)
    deps = {}
    for event in recorder.events:
        if event[0] == "library":
            try:
                deps[event[2]] = cache.source_digest(Path(event[2]))
            except OSError:
                deps[event[2]] = ""
    entry = CacheEntry(
        rows=[],
        libraries=[
            {
                "source": str(lib.source),
                "kind": lib.kind,
                "nickname": lib.nickname,
                "path": lib.path.relative_to(run.out).as_posix(),
                "in_output": True,
                "items": lib.items,
            }
            for lib in own
        ],
        files=files,
        extra={
            "events": recorder.events,
            "deps": sorted(deps.items()),
            "used": [[str(lib.source), lib.kind] for lib in used],
        },
    )
    if str(run.out) not in str(recorder.events):
        cache.store(key, entry, run.out)
    return libs
