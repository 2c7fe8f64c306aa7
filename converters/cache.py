"""The content-addressed conversion cache: an unchanged library is neither read nor rewritten.

An entry is found by a key made of everything a library's output depends on: the source bytes,
the converter's own code, the options (with the bytes of a layer-map file), the nicknames the run
gave the library and whatever the caller adds (the pipeline's mapping rules). It holds the
report rows the conversion produced, what the library became (nicknames, items) and the written
files, stored once each by content in `blobs/`.

Why the layout (all below one folder, `OUT/.altium2kicad-cache` by default):
- `entries/ab/<key>.json`  one manifest per conversion, with its own checksum;
- `blobs/ab/<sha256>`      file contents, named by their hash (checked again when copied out);
- `state/<out>.json`       size and mtime of the sources hashed and the outputs written last time,
                           so an unchanged re-run neither re-hashes a source nor rewrites a file.
Everything is written to a temporary name and renamed, so a crash leaves no half entry; a damaged
or missing piece is a miss (the library is converted again and the entry rewritten). Deleting the
folder is always safe.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import __version__

CACHE_FOLDER_NAME = ".altium2kicad-cache"
FORMAT = 1  # bump when the entry layout changes


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=1)
def converter_fingerprint() -> str:
    """The converter's version and the hash of its own source: a code change is a new converter,
    even when nobody bumped the version number."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256(f"altium2kicad {__version__} format {FORMAT}".encode())
    for path in sorted(package.rglob("*.py")):
        if "fixtures" in path.relative_to(package).parts:
            continue  # the test-library writer does not convert anything
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def options_fingerprint(options: object) -> dict:
    """Every option as JSON; a path option that names a file stands for that file's bytes."""
    result = {}
    for f in dataclasses.fields(options):  # type: ignore[arg-type]
        if not f.metadata.get("cache_key", True):
            continue
        value = getattr(options, f.name)
        if isinstance(value, Path):
            value = f"file:{file_digest(value)}" if value.is_file() else f"path:{value}"
        result[f.name] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
    return result


def make_key(*parts: object) -> str:
    return digest_bytes(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode())


@dataclass
class CacheEntry:
    """What one conversion produced, enough to replay it without reading the source."""

    rows: list[dict]  # report rows, in order
    libraries: list[dict]  # ConvertedLibrary fields, paths relative to the output folder
    files: dict[str, list]  # output path (relative, '/') -> [sha256, size]
    owned: list[str] = field(default_factory=list)  # folders (relative) holding only this library's files
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stat_tuple(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


class ConversionCache:
    """One cache folder. Safe to share between processes: every write is a rename."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sources: dict[str, list] | None = None
        self._outputs: dict[str, dict[str, list]] = {}
        self._output_names: dict[Path, str] = {}
        self._resolved: dict[Path, str] = {}
        self.listings: dict[Path, list[str]] = {}  # library files below a folder, once per run
        self.hits = 0
        self.misses = 0

    # -- sources -------------------------------------------------------------------------
    def _state_path(self, name: str) -> Path:
        return self.folder / "state" / f"{name}.json"

    def _load_state(self, name: str) -> dict:
        try:
            data = json.loads(self._state_path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def source_digest(self, path: Path) -> str:
        """The sha256 of a source file; re-read only when its size or mtime changed."""
        if self._sources is None:
            self._sources = self._load_state("sources")
        key = self._resolved.get(path)
        if key is None:
            key = self._resolved[path] = str(path.resolve())
        stat = _stat_tuple(path)
        known = self._sources.get(key)
        if stat is not None and isinstance(known, list) and len(known) == 3 and known[:2] == stat:
            return known[2]
        sha = file_digest(path)
        if stat is not None:
            self._sources[key] = stat + [sha]
        return sha

    # -- outputs -------------------------------------------------------------------------
    def _output_state(self, out: Path) -> dict[str, list]:
        name = self._output_names.get(out)
        if name is None:
            name = self._output_names[out] = "out-" + digest_bytes(str(out.resolve()).encode())[:16]
        if name not in self._outputs:
            self._outputs[name] = self._load_state(name)
        return self._outputs[name]

    def record_output(self, out: Path, relative: str, sha: str) -> None:
        """Remembers a written output file's size and mtime, so a later run can skip rewriting it."""
        stat = _stat_tuple(out / relative)
        if stat is not None:
            self._output_state(out)[relative] = stat + [sha]

    def output_unchanged(self, out: Path, relative: str, sha: str) -> bool:
        known = self._output_state(out).get(relative)
        return (
            isinstance(known, list)
            and len(known) == 3
            and known[2] == sha
            and (known[:2] == _stat_tuple(out / relative))
        )

    def save_state(self) -> None:
        if self._sources is not None:
            merged = self._load_state("sources")  # another process may have added sources meanwhile
            merged.update(self._sources)
            _atomic_write(self._state_path("sources"), json.dumps(merged).encode())
        for name, state in self._outputs.items():
            _atomic_write(self._state_path(name), json.dumps(state, sort_keys=True).encode())

    # -- entries -------------------------------------------------------------------------
    def _entry_path(self, key: str) -> Path:
        return self.folder / "entries" / key[:2] / f"{key}.json"

    def _blob_path(self, sha: str) -> Path:
        return self.folder / "blobs" / sha[:2] / sha

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry under `key`, or None when it is missing or damaged (a damaged one is removed)."""
        path = self._entry_path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            wrapper = json.loads(raw)
            body = wrapper["entry"]
            if wrapper.get("checksum") != make_key(body) or wrapper.get("key") != key:
                raise ValueError("checksum mismatch")
            entry = CacheEntry(**body)
            for sha, size in entry.files.values():
                blob = self._blob_path(sha)
                if not blob.is_file() or blob.stat().st_size != size:
                    raise ValueError(f"blob {sha} missing")
        except (ValueError, KeyError, TypeError, OSError):
            path.unlink(missing_ok=True)
            return None
        return entry

    def store(self, key: str, entry: CacheEntry, out: Path, link: bool = False) -> None:
        """Stores the entry; its files are read from `out` (blobs first, manifest last).

        `link`: the files are fresh (a task's staging folder) and become blobs by a hard link
        where the file system allows, which costs no copy; if an output is later edited in place,
        its blob no longer matches its name, which `restore` notices."""
        for relative, (sha, _size) in entry.files.items():
            blob = self._blob_path(sha)
            if blob.is_file():
                continue
            if link:
                blob.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(out / relative, blob)
                    continue
                except FileExistsError:
                    continue
                except OSError:
                    pass  # another file system, or no hard links: copy
            _atomic_write(blob, (out / relative).read_bytes())
        body = entry.to_json()
        wrapper = {"key": key, "checksum": make_key(body), "entry": body}
        _atomic_write(self._entry_path(key), json.dumps(wrapper, ensure_ascii=False).encode())

    def restore(self, entry: CacheEntry, out: Path) -> bool:
        """Puts the entry's files into `out`, leaving unchanged ones alone and removing files of an
        earlier run from the folders the library owns. False when a blob is damaged (the entry is
        then useless: the caller converts again)."""
        for relative, (sha, _size) in entry.files.items():
            if self.output_unchanged(out, relative, sha):
                continue
            try:
                data = self._blob_path(sha).read_bytes()
            except OSError:
                return False
            if digest_bytes(data) != sha:
                self._blob_path(sha).unlink(missing_ok=True)
                return False
            _atomic_write(out / relative, data)
            self.record_output(out, relative, sha)
        remove_stale(out, entry.owned, set(entry.files))
        return True


def remove_stale(out: Path, owned: list[str], keep: set[str]) -> None:
    """Removes files of an earlier run (items renamed or deleted in the source) from a library's
    own folders, as a fresh conversion does."""
    for folder in owned:
        path = out / folder
        if not path.is_dir():
            continue
        for stale in path.iterdir():
            if stale.is_file() and f"{folder}/{stale.name}" not in keep:
                stale.unlink()


def default_cache_folder(out: Path) -> Path:
    return out / CACHE_FOLDER_NAME
