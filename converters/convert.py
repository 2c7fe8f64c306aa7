"""One conversion: find the source libraries, convert each once with its kind's job, write the report.

Readers and writers never decide where things go; the run (`run.py`) does. This module wires the
library jobs into a run and converts the paths a user named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from .cache import ConversionCache
from .library_files import UsageError, find_libraries
from .report import ConversionReport
from .run import ConversionRun, ConvertedLibrary, ConvertOptions, LibraryJobs


# The jobs are imported when first used: a re-run served from the cache imports no reader or writer.
def convert_schlib(run: ConversionRun, path: Path) -> ConvertedLibrary:
    from .symbols_job import convert_schlib as job

    return job(run, path)


def convert_pcblib(run: ConversionRun, path: Path) -> ConvertedLibrary:
    from .footprints_job import convert_pcblib as job

    return job(run, path)


def convert_intlib(run: ConversionRun, path: Path) -> list[ConvertedLibrary]:
    from .intlib_job import convert_intlib as job

    return job(run, path)


def planned_nicknames(path: Path) -> list[tuple[str, str]]:
    from .intlib_job import planned_nicknames as plan

    return plan(path)


def convert_database_library(run: ConversionRun, path: Path) -> list[ConvertedLibrary]:
    from .dblib_job import convert_database_library as job

    return job(run, path)


LIBRARY_JOBS = LibraryJobs(
    symbols=convert_schlib,
    footprints=convert_pcblib,
    integrated=convert_intlib,
    database=convert_database_library,
    integrated_nicknames=planned_nicknames,
)


def start_run(
    out: Path, options: ConvertOptions | None = None, cache: Path | None = None, jobs: int = 1
) -> ConversionRun:
    """A run into `out` that converts every library kind, with a conversion cache in `cache`
    (none when None) and up to `jobs` libraries at once."""
    return ConversionRun(out, options, LIBRARY_JOBS, ConversionCache(cache) if cache else None, jobs)


def convert_paths(
    paths: Iterable[Path],
    out: Path,
    options: ConvertOptions | None = None,
    progress: Callable[[Iterable[Path]], Iterable[Path]] | None = None,
    cache: Path | None = None,
    jobs: int = 1,
) -> ConversionReport:
    """Converts every library under `paths` into `out` and writes `out/report.json`.

    `cache`: the conversion cache folder (None: no cache); `jobs`: libraries converted at once.
    Neither changes the output: the bytes and the report are those of a clean run with one job.
    """
    libraries = find_libraries(paths)
    if not libraries:
        raise UsageError("no Altium library (.SchLib, .PcbLib, .IntLib, .DbLib, .SVNDbLib) found")
    run = start_run(out, options, cache, jobs)
    out.mkdir(parents=True, exist_ok=True)
    run.plan(libraries)
    for path in progress(libraries) if progress else libraries:
        try:
            run.convert(path)
        except UsageError:
            raise
        except Exception as exc:  # a bug or unforeseen input costs this file, never the run
            run.fail_library(path, "library", f"could not be converted: {type(exc).__name__}: {exc}")
    return run.finish()
