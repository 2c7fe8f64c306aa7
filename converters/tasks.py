"""Library tasks: one SchLib, PcbLib or IntLib converted on its own, in a worker or from the cache.

Why tasks: libraries are independent once their nicknames are known, so the run claims the
nicknames first (in input order), then each library converts without the run's state: into a
private staging folder, whose files are then moved into the output and, with a cache, stored by
content. The report rows come back as values and join the report in the run's order, so neither
the number of workers nor the cache changes a byte of the output or the order of the report.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import (
    CacheEntry,
    ConversionCache,
    converter_fingerprint,
    digest_bytes,
    make_key,
    options_fingerprint,
)
from .cache import remove_stale as remove_stale_files
from .report import ItemReport, Status

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from .run import ConversionRun, ConvertedLibrary, ConvertOptions, LibraryJobs

STAGING_FOLDER = ".altium2kicad-work"
OwnedNames = dict[str, tuple[str, dict | None]]  # "kind\0stem" -> (nickname, clash row)


@dataclass
class TaskSpec:
    """Everything a worker needs to convert one library (picklable: sent to another process)."""

    kind: str  # symbols (SchLib), footprints (PcbLib), integrated (IntLib)
    path: Path
    out: Path
    staging: Path
    options: ConvertOptions
    jobs: LibraryJobs
    names: OwnedNames
    key: str | None
    cache_folder: Path | None
    run_class: type  # the run a job is given: names from `names` (run.PlannedRun)


@dataclass
class TaskResult:
    entry: CacheEntry
    error: BaseException | None = None


@dataclass
class Task:
    path: Path
    kind: str
    key: str | None
    entry: CacheEntry | None = None  # restored from the cache
    spec: TaskSpec | None = None  # to run in this process when first needed
    future: Future | None = None  # running in a worker
    libraries: list | None = None  # once finished
    error: BaseException | None = None
    owned: list[str] = field(default_factory=list)


def name_key(kind: str, stem: str) -> str:
    return f"{kind}\0{stem}"


def row_to_json(row: ItemReport, staging: Path, out: Path) -> dict:
    data = row.to_json()
    if str(staging) in str(data):  # a message naming a written file names its real place
        old, new = str(staging), str(out)
        data = {k: (v.replace(old, new) if isinstance(v, str) else v) for k, v in data.items()}
        data["messages"] = [m.replace(old, new) for m in data["messages"]]
    return data


def row_from_json(data: dict) -> ItemReport:
    return ItemReport(
        data["source"],
        data["item"],
        data["kind"],
        data["target"],
        Status(data["status"]),
        list(data["messages"]),
        data.get("shape_pads", 0),
    )


def library_to_json(lib: ConvertedLibrary, staging: Path) -> dict:
    data = asdict(lib)
    data["source"] = str(lib.source)
    try:
        data["path"] = lib.path.relative_to(staging).as_posix()
        data["in_output"] = True
    except ValueError:
        data["path"], data["in_output"] = str(lib.path), False
    return data


def library_from_json(data: dict, out: Path, library_class: type) -> ConvertedLibrary:
    path = out / data["path"] if data["in_output"] else Path(data["path"])
    return library_class(Path(data["source"]), data["kind"], data["nickname"], path, dict(data["items"]))


def owned_folders(libraries: list[dict]) -> list[str]:
    """The output folders that hold one library's files only (emptied of older files on write)."""
    owned = []
    for lib in libraries:
        if lib["kind"] == "footprints" and lib["nickname"]:
            owned += [f"footprints/{lib['nickname']}.pretty", f"3dmodels/{lib['nickname']}.3dshapes"]
    return owned


def _picklable(exc: Exception) -> Exception:
    """The exception, or one with the same text when it cannot travel back from a worker."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def run_library_task(spec: TaskSpec) -> TaskResult:
    """Converts one library into its staging folder, stores it in the cache, moves it into place."""
    staging = spec.staging
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    run = spec.run_class(staging, spec.options, spec.jobs, spec.names)
    job = {
        "symbols": spec.jobs.symbols,
        "footprints": spec.jobs.footprints,
        "integrated": spec.jobs.integrated,
    }
    error: BaseException | None = None
    libs: list = []
    try:
        result = job[spec.kind](run, spec.path)
        libs = result if isinstance(result, list) else [result]
    except Exception as exc:  # reported by the main run at this library's turn
        error = _picklable(exc)
    libraries = [library_to_json(lib, staging) for lib in libs]
    files = {}
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        data = path.read_bytes()
        files[path.relative_to(staging).as_posix()] = [digest_bytes(data), len(data)]
    entry = CacheEntry(
        rows=[row_to_json(r, staging, spec.out) for r in run.report.items],
        libraries=libraries,
        files=files,
        owned=owned_folders(libraries),
    )
    cacheable = error is None and str(spec.out) not in str(entry.rows)
    if spec.cache_folder is not None and spec.key is not None and cacheable:
        ConversionCache(spec.cache_folder).store(spec.key, entry, staging, link=True)
    for relative in files:
        target = spec.out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, target)
    remove_stale_files(spec.out, entry.owned, set(files))
    shutil.rmtree(staging, ignore_errors=True)
    return TaskResult(entry, error)


class TaskRunner:
    """The run's library tasks: started in the order the run meets them, finished on demand."""

    def __init__(self, run: ConversionRun, run_class: type, library_class: type) -> None:
        self.run = run
        self.run_class = run_class  # the worker's run (run.PlannedRun): no import back up to run.py
        self.library_class = library_class
        self._tasks: dict[tuple[str, str], Task] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._count = 0
        self._options_fingerprint: dict | None = None

    @property
    def staging_root(self) -> Path:
        return self.run.out / STAGING_FOLDER

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._pool = ProcessPoolExecutor(self.run.workers, mp_context=context)
        return self._pool

    def _claims(self, path: Path, kind: str, source_sha: str | None) -> list[tuple[str, str]]:
        if kind != "integrated":
            return [(kind, path.stem)]
        cache = self.run.cache
        key = make_key("intlib-nicknames", converter_fingerprint(), source_sha) if source_sha else None
        if cache is not None and key is not None:
            entry = cache.lookup(key)
            if entry is not None:
                return [(claim_kind, stem) for claim_kind, stem in entry.extra["claims"]]
        claims = self.run.jobs.integrated_nicknames(path)
        if cache is not None and key is not None:
            cache.store(key, CacheEntry([], [], {}, extra={"claims": claims}), self.run.out)
        return [(claim_kind, stem) for claim_kind, stem in claims]

    def _key(self, path: Path, kind: str, names: OwnedNames, source_sha: str | None) -> str | None:
        if self.run.cache is None or source_sha is None:
            return None
        if self._options_fingerprint is None:
            self._options_fingerprint = options_fingerprint(self.run.options)
        return make_key(
            "library",
            converter_fingerprint(),
            self.run.cache_context(),
            self._options_fingerprint,
            kind,
            str(path),
            source_sha,
            names,
        )

    def start(self, path: Path, kind: str, submit: bool = True) -> Task:
        """The task converting `path` with `kind`'s job; claims its nicknames when new."""
        task_key = (self.run.resolved(path), kind)
        if task_key in self._tasks:
            return self._tasks[task_key]
        source_sha = None
        if self.run.cache is not None:
            try:
                source_sha = self.run.cache.source_digest(path)
            except OSError:
                source_sha = None  # the job reports the unreadable file
        names: OwnedNames = {}
        for claim_kind, stem in self._claims(path, kind, source_sha):
            name, row = self.run.new_nickname(claim_kind, path, stem)
            names[name_key(claim_kind, stem)] = (name, row.to_json() if row is not None else None)
        key = self._key(path, kind, names, source_sha)
        task = Task(path, kind, key)
        self._tasks[task_key] = task
        cache = self.run.cache
        if cache is not None and key is not None:
            entry = cache.lookup(key)
            if entry is not None and cache.restore(entry, self.run.out):
                cache.hits += 1
                task.entry = entry
                return task
        self._count += 1
        spec = TaskSpec(
            kind,
            path,
            self.run.out,
            self.staging_root / str(self._count),
            self.run.options,
            self.run.jobs,
            names,
            key,
            cache.folder if cache is not None else None,
            self.run_class,
        )
        task.spec = spec
        if submit and self.run.workers > 1:
            task.future = self._executor().submit(run_library_task, spec)
        return task

    def submit_largest_first(self) -> None:
        """Hands the waiting tasks to the workers, largest source first, so a large library at the
        end of the list does not leave a core idle (names and report order are already fixed)."""
        if self.run.workers <= 1:
            return

        def size(task: Task) -> int:
            try:
                return task.path.stat().st_size
            except OSError:
                return 0

        waiting = [
            t for t in self._tasks.values() if t.spec is not None and t.future is None and t.entry is None
        ]
        for task in sorted(waiting, key=size, reverse=True):
            assert task.spec is not None  # only tasks with a spec are waiting
            task.future = self._executor().submit(run_library_task, task.spec)

    def finish(self, path: Path, kind: str) -> list[ConvertedLibrary]:
        """What the library became; its report rows join the run's report now (once)."""
        task = self.start(path, kind)
        if task.libraries is None:
            if task.entry is not None:
                entry, error = task.entry, None
            else:
                result = self._result(task)
                entry, error = result.entry, result.error
                cache = self.run.cache
                if cache is not None:
                    cache.misses += 1
                    for relative, (sha, _size) in entry.files.items():
                        cache.record_output(self.run.out, relative, sha)
            for row in entry.rows:
                self.run.report.add(row_from_json(row))
            task.libraries = [
                library_from_json(lib, self.run.out, self.library_class) for lib in entry.libraries
            ]
            task.error = error
            self.run.register(path, kind, task.libraries)
        if task.error is not None:
            raise task.error
        return task.libraries

    def _result(self, task: Task) -> TaskResult:
        from concurrent.futures.process import BrokenProcessPool
        from dataclasses import replace

        spec = task.spec
        assert spec is not None, "a task not restored from the cache has a spec"
        if task.future is None:
            return run_library_task(spec)
        try:
            return task.future.result()
        except Exception as exc:  # the worker died (killed, out of memory) or the pool broke: once more here
            if isinstance(exc, BrokenProcessPool) and self._pool is not None:
                # the pool's other workers may still be writing: wait until they are gone
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            # in a staging folder of its own: the first attempt's, if it is still alive, is not touched
            return run_library_task(
                replace(spec, staging=spec.staging.with_name(f"{spec.staging.name}-again"))
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.staging_root.is_dir():
            shutil.rmtree(self.staging_root, ignore_errors=True)
