"""Backup verification: the newest backup set restored into scratch targets and compared with its
manifest (row count and checksum of every table, sha256 of every file), not only its seals checked.

Scratch targets: a temporary SQLite file, a scratch PostgreSQL database created on the same server as
the source (its user needs CREATEDB) and dropped afterwards, a temporary folder per file tree. The
manifest of an incremental set names every object of its chain, so restoring it restores the chain.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from include.operations.backup import Vault, verify_objects

log = logging.getLogger(__name__)


@contextmanager
def scratch_postgres(source_url: str) -> Iterator[str]:
    """An empty database beside `source_url`'s (same server and user), dropped on exit."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    source = make_url(source_url)
    name = f"a2k_verify_{uuid.uuid4().hex[:12]}"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield source.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def latest_data_set(vault: Vault) -> str:
    """The newest full or incremental set (a `config` set holds only the configuration)."""
    ids = [i for i in vault.set_ids() if not i.endswith("-config")]
    if not ids:
        raise RuntimeError("backup verification: no full or incremental backup set in the stores")
    return ids[-1]


def verify_by_restore(vault: Vault, manifest: dict, source_urls: dict[str, str]) -> dict:
    """Restores every database and tree of `manifest` into scratch targets; returns what was
    compared and the problems (empty: identical to the manifest)."""
    from include.operations.restore import restore_database, restore_tree

    problems = verify_objects(vault, manifest)
    checked: dict[str, str] = {}
    if problems:
        return {"set_id": manifest["set_id"], "checked": checked, "problems": problems}
    with tempfile.TemporaryDirectory(prefix="a2k-verify-") as tmp:
        for name, entry in sorted(manifest["databases"].items()):
            if entry["format"] == "sqlite":
                target = f"sqlite:///{Path(tmp) / (name + '.db')}"
                result = restore_database(vault, manifest, name, target, verify=True)
            elif name in source_urls:
                with scratch_postgres(source_urls[name]) as target:
                    result = restore_database(vault, manifest, name, target, verify=True)
            else:
                problems.append(f"database {name}: no server to restore a {entry['format']} dump into")
                continue
            problems += [f"database {name}: {p}" for p in result.problems]
            checked[f"database {name}"] = f"{len(entry['tables'])} tables"
        for i, (name, entry) in enumerate(sorted(manifest["trees"].items())):
            result = restore_tree(vault, manifest, name, Path(tmp) / "trees" / str(i), verify=True)
            problems += [f"files {name}: {p}" for p in result.problems]
            checked[f"files {name}"] = f"{len(entry['files'])} files"
    log.info("verification of %s: %s; problems: %s", manifest["set_id"], checked, problems or "none")
    return {"set_id": manifest["set_id"], "checked": checked, "problems": problems}


def verify_latest(vault: Vault, source_urls: dict[str, str]) -> dict:
    """Verifies the newest data set by restoring it; marks it verified, or raises naming each problem."""
    import json

    set_id = latest_data_set(vault)
    outcome = verify_by_restore(vault, vault.manifest(set_id), source_urls)
    if outcome["problems"]:
        raise RuntimeError(
            f"backup {set_id} failed verification (restored into scratch targets): "
            + "; ".join(outcome["problems"])
        )
    vault.put(f"sets/{set_id}/verified", json.dumps({**outcome, "ok": True}).encode())
    return {"set_id": set_id, "ok": True, "checked": outcome["checked"]}
