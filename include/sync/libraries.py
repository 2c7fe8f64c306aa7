"""Component libraries to a site: the master's live version, its files and its parts database rows.

A site's store has the deployment layout (`versions/<v>/...` and a pointer), so a designer's library
tables point at `current` there exactly as at the master. The site switches to a new version only
when every file has arrived with the master's sha256 and, where the site has its own parts database
server, every table's rows are there too; until then it keeps the version it had.

Incremental and resumable: a file already at the site with the right checksum (from an interrupted
run, or unchanged since the site's previous version, copied within the site) does not travel again;
a table whose rows are unchanged since the site's last load is not reloaded.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from include.operations.stores import FailoverStore, LocalStore, S3Store, StoreError

Store = LocalStore | S3Store  # a site's store: written to
ReadStore = LocalStore | S3Store | FailoverStore  # the master's: read (primary, else secondary)
SYNC_PREFIX = "sync"  # per-version manifests the site keeps: {file: sha256}, tables, switched_at


class SyncError(Exception):
    """A sync that could not complete (the site keeps its previous version); says what and where."""


@dataclass
class LibrarySyncResult:
    site: str
    version: str | None
    previous: str | None
    files: int = 0
    sent: int = 0  # files copied from the master
    reused: int = 0  # already there, or copied within the site from its previous version
    tables_loaded: list[str] = field(default_factory=list)
    switched: bool = False

    def to_json(self) -> dict:
        return dict(self.__dict__)


def pointer_key(store: ReadStore) -> str:
    return "CURRENT" if isinstance(store, LocalStore) else "current.json"  # a FailoverStore maps it


def live_pointer(store: ReadStore) -> dict | None:
    """The pointer document of a store ({version, files, switched_at}), or None when nothing is live."""
    try:
        return json.loads(store.get(pointer_key(store)))
    except StoreError:
        return None
    except ValueError as exc:
        raise SyncError(f"{store.name}/{pointer_key(store)}: not a pointer document ({exc})") from None


def version_manifest(store: ReadStore, version: str) -> dict[str, str]:
    """sha256 of every file of one version, by path inside the version."""
    base = f"versions/{version}/"
    return {key[len(base) :]: _sha(store.get(key)) for key in store.list(base)}


def site_manifest(store: Store, version: str) -> dict | None:
    try:
        return json.loads(store.get(f"{SYNC_PREFIX}/{version}.json"))
    except StoreError:
        return None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sync_library(
    source: ReadStore,
    site_store: Store,
    site: str,
    parts_url: str | None = None,
    keep_versions: int = 5,
    after_file: Callable[[int], None] | None = None,
) -> LibrarySyncResult:
    """Brings the site to the master's live version; the pointer moves last."""
    pointer = live_pointer(source)
    here = live_pointer(site_store)
    result = LibrarySyncResult(
        site, pointer["version"] if pointer else None, here["version"] if here else None
    )
    if pointer is None:
        return result
    version = pointer["version"]
    wanted = version_manifest(source, version)
    result.files = len(wanted)
    previous = site_manifest(site_store, here["version"]) if here else None
    done = site_manifest(site_store, version)
    if here and here["version"] == version and done and done.get("files") == wanted:
        return result  # up to date
    old_files = (previous or {}).get("files", {})
    for n, (rel, sha) in enumerate(sorted(wanted.items()), 1):
        key = f"versions/{version}/{rel}"
        if site_store.exists(key) and _sha(site_store.get(key)) == sha:
            result.reused += 1
        elif here and old_files.get(rel) == sha:
            _put_checked(site_store, key, site_store.get(f"versions/{here['version']}/{rel}"), sha)
            result.reused += 1
        else:
            _put_checked(site_store, key, source.get(key), sha)
            result.sent += 1
        if after_file:
            after_file(n)
    tables = (previous or {}).get("tables", {}) if parts_url else {}
    if parts_url:
        tables, result.tables_loaded = load_parts(site_store, version, wanted, parts_url, tables, site)
    manifest = {
        "version": version,
        "files": wanted,
        "tables": tables,
        "switched_at": datetime.now(UTC).isoformat(),
        "master_switched_at": pointer.get("switched_at"),
    }
    site_store.put(f"{SYNC_PREFIX}/{version}.json", json.dumps(manifest, indent=1).encode())
    switch(site_store, version, len(wanted))
    result.switched = True
    prune(site_store, keep_versions, version)
    return result


def _put_checked(store: Store, key: str, data: bytes, sha: str) -> None:
    if _sha(data) != sha:
        raise SyncError(f"{key}: read back with sha256 {_sha(data)[:12]}, the manifest says {sha[:12]}")
    store.put(key, data)
    if _sha(store.get(key)) != sha:
        raise SyncError(f"{store.name}/{key}: written but reads back differently; the site keeps its version")


def switch(store: Store, version: str, files: int) -> None:
    """The site's pointer to the new version, as a deployment writes it (atomic)."""
    from include.deployment import pointer_doc, switch_local

    if isinstance(store, LocalStore):
        switch_local(store.root, version, files)
    else:
        store.put(pointer_key(store), json.dumps(pointer_doc(version, files), indent=1).encode())


def prune(store: Store, keep: int, live: str) -> list[str]:
    """Keeps the live version and the `keep` newest others at the site (by when they were switched to)."""
    manifests = []
    for key in store.list(f"{SYNC_PREFIX}/"):
        doc = json.loads(store.get(key))
        manifests.append((doc.get("switched_at", ""), doc["version"]))
    doomed = [v for _, v in sorted(manifests)[: -keep - 1] if v != live]
    for version in doomed:
        for key in store.list(f"versions/{version}/"):
            store.delete(key)
        store.delete(f"{SYNC_PREFIX}/{version}.json")
    return doomed


# -- the parts database at a site ----------------------------------------------------------------
def load_parts(
    store: Store, version: str, files: dict[str, str], url: str, loaded: dict[str, str], site: str
) -> tuple[dict[str, str], list[str]]:
    """Every table of the version's parts databases into the site's server; unchanged ones skipped.

    Returns the {table: checksum} the server now holds and the tables (re)loaded. Each table is
    replaced in one transaction, so a reader at the site sees the old rows or the new, never half."""
    from sqlalchemy import MetaData, create_engine, insert
    from sqlalchemy import text as sql_text

    from include.sites.engines import configured_pool_options

    engine = create_engine(url, **configured_pool_options(url))
    held = dict(loaded)
    changed: list[str] = []
    try:
        for rel in sorted(r for r in files if r.startswith("database/") and r.endswith(".sqlite")):
            for name, columns, key, rows, digest in _sqlite_tables(store.get(f"versions/{version}/{rel}")):
                if held.get(name) == digest:
                    continue
                meta = MetaData()
                table = _parts_table(meta, name, columns, key)
                with engine.begin() as conn:
                    table.drop(conn, checkfirst=True)
                    table.create(conn)
                    for start in range(0, len(rows), 1000):
                        conn.execute(insert(table), rows[start : start + 1000])
                    count = conn.execute(sql_text(f"SELECT COUNT(*) FROM {_quoted(engine, name)}")).scalar()
                if count != len(rows):
                    raise SyncError(f"site {site}: table {name} holds {count} rows, {len(rows)} sent")
                held[name] = digest
                changed.append(name)
    except SyncError:
        raise
    except Exception as exc:  # a server the site cannot reach or that refuses a table
        raise SyncError(f"site {site}: parts database: {str(getattr(exc, 'orig', exc)).strip()}") from None
    finally:
        engine.dispose()
    return held, changed


def _quoted(engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)


def _parts_table(meta, name: str, columns: list[str], key: str | None):
    from sqlalchemy import Column, Table, Text

    return Table(
        name, meta, *[Column(c, Text(), primary_key=(c == key), nullable=(c != key)) for c in columns]
    )


def _sqlite_tables(data: bytes):
    """(table, columns, key column, rows, checksum) for each table of a SQLite parts database."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".sqlite") as tmp:
        Path(tmp.name).write_bytes(data)
        conn = sqlite3.connect(tmp.name)
        try:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
            ]
            for name in names:
                info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
                columns = [r[1] for r in info]
                key = next((r[1] for r in info if r[5]), None)
                raw = conn.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
                rows = [dict(zip(columns, r, strict=True)) for r in raw]
                digest = _sha(json.dumps([columns, raw], default=str).encode())
                yield name, columns, key, rows, digest
        finally:
            conn.close()
