"""Restores from a backup set: every object is fetched and authenticated first, so a corrupted,
truncated or tampered backup is refused before the target is touched."""

from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from include.operations.backup import Progress, Vault
from include.operations.databases import RestoreRefused, check_dump, fingerprints, is_empty, load
from include.operations.sealing import BackupIntegrityError


class VerificationFailed(Exception):
    """A restored target differs from what the manifest recorded."""


@dataclass
class RestoreResult:
    what: str
    target: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def compare_database(manifest_entry: dict, url: str) -> list[str]:
    """Row count and checksum of every table against the manifest."""
    expected = manifest_entry["tables"]
    actual = {t: f.__dict__ for t, f in fingerprints(url).items()}
    problems = [f"table {t}: missing after restore" for t in sorted(set(expected) - set(actual))]
    problems += [f"table {t}: not in the backup" for t in sorted(set(actual) - set(expected))]
    for t in sorted(set(expected) & set(actual)):
        if expected[t] != actual[t]:
            problems.append(
                f"table {t}: {actual[t]['rows']} rows checksum {actual[t]['checksum'][:12]}, "
                f"backup has {expected[t]['rows']} rows checksum {expected[t]['checksum'][:12]}"
            )
    return problems


def compare_tree(manifest_entry: dict, root: Path) -> list[str]:
    expected = manifest_entry["files"]
    actual = (
        {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()} if root.is_dir() else {}
    )
    problems = [f"{rel}: missing after restore" for rel in sorted(set(expected) - set(actual))]
    problems += [f"{rel}: not in the backup" for rel in sorted(set(actual) - set(expected))]
    for rel in sorted(set(expected) & set(actual)):
        if hashlib.sha256(actual[rel].read_bytes()).hexdigest() != expected[rel]["sha256"]:
            problems.append(f"{rel}: content differs from the backup")
    return problems


def restore_database(
    vault: Vault,
    manifest: dict,
    name: str,
    url: str,
    force: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
) -> RestoreResult:
    entry = manifest["databases"].get(name)
    if entry is None:
        raise KeyError(
            f"set {manifest['set_id']} has no database '{name}' (has: {sorted(manifest['databases'])})"
        )
    data = vault.get_object(entry["object"])  # authenticates before anything else happens
    check_dump(entry["format"], data)
    if not force and not is_empty(url):
        raise RestoreRefused(f"database target for '{name}' is not empty; pass --force to overwrite it")
    load(entry["format"], data, url, force=force)
    if progress:
        progress(name, len(data))
    result = RestoreResult(f"database {name}", url)
    if verify:
        result.problems = compare_database(entry, url)
    return result


def restore_tree(
    vault: Vault,
    manifest: dict,
    name: str,
    root: Path,
    force: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
) -> RestoreResult:
    entry = manifest["trees"].get(name)
    if entry is None:
        raise KeyError(
            f"set {manifest['set_id']} has no file tree '{name}' (has: {sorted(manifest['trees'])})"
        )
    staging = root.with_name(root.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for rel, f in entry["files"].items():  # everything authenticated into staging first
            dst = staging / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            data = vault.get_object(f["sha256"])
            dst.write_bytes(data)
            if progress:
                progress(f"{name}/{rel}", len(data))
        if root.exists() and any(root.iterdir()) and not force:
            raise RestoreRefused(f"folder {root} is not empty; pass --force to overwrite it")
        staging.mkdir(parents=True, exist_ok=True)
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result = RestoreResult(f"files {name}", str(root))
    if verify:
        result.problems = compare_tree(entry, root)
    return result


def restore_site(
    vault: Vault,
    manifest: dict,
    databases: dict[str, str],
    trees: dict[str, Path],
    max_workers: int = 1,
    force: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
) -> list[RestoreResult]:
    """Every database and tree of the set into the given targets, in parallel when asked."""
    missing = [n for n in manifest["databases"] if n not in databases]
    missing += [n for n in manifest["trees"] if n not in trees]
    if missing:
        raise KeyError(f"no target given for: {', '.join(sorted(missing))}")
    from include.operations.backup import verify_objects

    if problems := verify_objects(vault, manifest):  # refuse a damaged set before touching any target
        raise BackupIntegrityError("; ".join(problems))
    if not force:
        busy = [u for u in databases.values() if not is_empty(u)]
        busy += [str(p) for p in trees.values() if p.exists() and any(p.iterdir())]
        if busy:
            raise RestoreRefused(f"targets not empty: {', '.join(busy)}; pass --force to overwrite them")
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures = [
            pool.submit(restore_database, vault, manifest, n, url, force, verify, progress)
            for n, url in databases.items()
            if n in manifest["databases"]
        ]
        futures += [
            pool.submit(restore_tree, vault, manifest, n, root, force, verify, progress)
            for n, root in trees.items()
            if n in manifest["trees"]
        ]
        return [f.result() for f in futures]
