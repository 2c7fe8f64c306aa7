"""Backup sets: a manifest (what, when, sizes, sha256, source versions) plus content-addressed,
sealed objects, written to a primary and a secondary store.

Layout in each store:  sets/<set_id>/manifest  (sealed JSON)
                       sets/<set_id>/verified  (sealed JSON, written by verification)
                       objects/<sha256>         (sealed blob; name = digest of the plain bytes)
                       wal/<segment>            (sealed archived PostgreSQL WAL, include/operations/wal.py)
                       wal-batches/<id>         (sealed JSON: what each transaction_logs run saw)
An incremental set stores only objects the store does not hold yet; a full set rewrites all of its
objects so it never depends on an older set's bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from include.operations.sealing import BackupIntegrityError, seal, unseal
from include.operations.stores import StoreError

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]  # (label, bytes done) for progress bars


@dataclass
class SiteSources:
    """What a site's state is: databases by name (SQLAlchemy URLs) and file trees by name."""

    databases: dict[str, str] = field(default_factory=dict)
    trees: dict[str, Path] = field(default_factory=dict)


@dataclass
class Vault:
    """The key and the stores one backup goes to (primary first)."""

    stores: list
    key: bytes

    def put(self, key: str, plain: bytes, skip_existing: bool = False) -> tuple[int, bool]:
        """Seals and writes to every store, each copy read back and checked by sha256; returns
        (stored size, whether anything was written)."""
        sealed = seal(plain, self.key, key)
        digest = hashlib.sha256(sealed).hexdigest()
        wrote = False
        for store in self.stores:
            if skip_existing and store.exists(key):
                continue
            store.put(key, sealed)
            back = hashlib.sha256(store.get(key)).hexdigest()
            if back != digest:
                raise BackupIntegrityError(
                    f"{store.name}/{key}: written, but reads back with sha256 {back[:12]} "
                    f"instead of {digest[:12]}"
                )
            wrote = True
        return len(sealed), wrote

    def get(self, key: str) -> bytes:
        """Opens from the first store whose copy authenticates; names every failure otherwise."""
        problems = []
        for store in self.stores:
            try:
                return unseal(store.get(key), self.key, key)
            except (StoreError, BackupIntegrityError) as exc:
                problems.append(f"{store.name}: {exc}")
        raise BackupIntegrityError(f"{key}: no store holds a valid copy ({'; '.join(problems)})")

    def get_object(self, digest: str) -> bytes:
        plain = self.get(f"objects/{digest}")
        if hashlib.sha256(plain).hexdigest() != digest:
            raise BackupIntegrityError(f"objects/{digest}: content does not match its digest")
        return plain

    def set_ids(self) -> list[str]:
        ids = {k.split("/")[1] for s in self.stores for k in s.list("sets/") if k.endswith("/manifest")}
        return sorted(ids)

    def manifest(self, set_id: str) -> dict:
        try:
            return json.loads(self.get(f"sets/{set_id}/manifest"))
        except ValueError:
            raise BackupIntegrityError(f"sets/{set_id}/manifest: not JSON") from None

    def verified(self, set_id: str) -> dict | None:
        key = f"sets/{set_id}/verified"
        if not any(s.exists(key) for s in self.stores):
            return None
        return json.loads(self.get(key))


def source_versions(sources: SiteSources) -> dict[str, str]:
    """Versions a restore must know about: the program, schemas, database servers."""
    from converters import __version__
    from include.operations.databases import server_version

    versions = {"altium2kicad": __version__}
    for name, url in sources.databases.items():
        try:
            versions[f"{name}.server"] = server_version(url)
            versions[f"{name}.schema"] = _alembic_revision(url)
        except Exception as exc:  # noqa: BLE001 - the backup itself will report an unreachable DB
            versions[f"{name}.server"] = f"unknown ({exc.__class__.__name__})"
    return versions


def _alembic_revision(url: str) -> str:
    from sqlalchemy import create_engine, inspect, text

    from include.library_db.database import VERSION_TABLE
    from include.sites.engines import configured_pool_options

    eng = create_engine(url, **configured_pool_options(url))
    try:
        for table in (VERSION_TABLE, "alembic_version"):
            if table in inspect(eng).get_table_names():
                with eng.connect() as conn:
                    return conn.execute(text(f"SELECT version_num FROM {table}")).scalar() or ""
        return ""
    finally:
        eng.dispose()


def new_set_id(kind: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{kind}"


def create_backup(
    vault: Vault, sources: SiteSources, kind: str = "full", progress: Progress | None = None
) -> dict:
    """Writes one backup set and returns its manifest. kind: full | incremental | config (the
    configuration alone, before an application update; never a parent of an incremental)."""
    from include.operations.databases import dump, fingerprints
    from include.operations.wal import base_backup, is_archived

    if kind not in ("full", "incremental", "config"):
        raise ValueError(f"backup kind must be full, incremental or config, not {kind}")
    previous = [i for i in vault.set_ids() if not i.endswith("-config")]
    started = datetime.now(UTC)
    manifest: dict = {
        "set_id": new_set_id(kind, started),
        "kind": kind,
        "parent": previous[-1] if kind == "incremental" and previous else None,
        "started_at": started.isoformat(),
        "source_versions": source_versions(sources),
        "databases": {},
        "trees": {},
        "stores": [s.name for s in vault.stores],
    }
    stats = {"objects_written": 0, "objects_reused": 0, "plain_bytes": 0, "stored_bytes": 0}

    def put_object(plain: bytes, label: str) -> str:
        digest = hashlib.sha256(plain).hexdigest()
        stored, wrote = vault.put(f"objects/{digest}", plain, skip_existing=kind == "incremental")
        stats["objects_written" if wrote else "objects_reused"] += 1
        stats["plain_bytes"] += len(plain)
        stats["stored_bytes"] += stored if wrote else 0
        if progress:
            progress(label, len(plain))
        return digest

    for name, url in sorted(sources.databases.items()):
        before = fingerprints(url)
        fmt, data = dump(url)
        entry = manifest["databases"][name] = {
            "format": fmt,
            "object": put_object(data, name),
            "size": len(data),
            "tables": {t: f.__dict__ for t, f in before.items()},
        }
        if is_archived(url):  # its WAL reaches the stores: a base backup is where replay starts
            tar, info = base_backup(url)
            entry["base_backup"] = {
                **info,
                "object": put_object(tar, f"{name} (base backup)"),
                "size": len(tar),
            }
    for name, root in sorted(sources.trees.items()):
        files = {}
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).is_dir() else []:
            data = path.read_bytes()
            rel = path.relative_to(root).as_posix()
            files[rel] = {"sha256": put_object(data, f"{name}/{rel}"), "size": len(data)}
        manifest["trees"][name] = {"root": str(root), "files": files}
    manifest["finished_at"] = datetime.now(UTC).isoformat()
    manifest["stats"] = stats
    vault.put(f"sets/{manifest['set_id']}/manifest", json.dumps(manifest, indent=1).encode())
    log.info("backup %s: %s", manifest["set_id"], stats)
    return manifest


def chain(vault: Vault, set_id: str) -> list[str]:
    """The set and its ancestors back to the full it builds on (oldest first)."""
    ids, current = [], set_id
    while current:
        ids.append(current)
        current = vault.manifest(current)["parent"]
    return ids[::-1]


def verify_objects(vault: Vault, manifest: dict, progress: Progress | None = None) -> list[str]:
    """Opens every object a manifest names: returns the problems (empty when all authenticate)."""
    problems = []
    digests = [(n, d["object"]) for n, d in manifest["databases"].items()]
    digests += [
        (f"{n} (base backup)", d["base_backup"]["object"])
        for n, d in manifest["databases"].items()
        if "base_backup" in d
    ]
    digests += [
        (f"{t}/{r}", f["sha256"]) for t, tree in manifest["trees"].items() for r, f in tree["files"].items()
    ]
    for label, digest in digests:
        try:
            data = vault.get_object(digest)
            if progress:
                progress(label, len(data))
        except BackupIntegrityError as exc:
            problems.append(f"{label}: {exc}")
    return problems
