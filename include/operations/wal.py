"""PostgreSQL transaction logs: archived WAL in the backup stores, so a restore reaches any point
in time between backups.

How WAL reaches the stores (either, or both):
- direct: `archive_command = 'altium2kicad-admin --store … archive-wal %p %f'` seals each segment
  into every store the moment PostgreSQL has filled it (needs our program and the key on the
  database host, like WAL-G's `wal-push`);
- spool: `archive_command` copies into a folder (backup.transaction_logs.spool) and the hourly
  `transaction_logs` step seals and ships it (like pgBackRest's `archive-async` spool).
Each hourly step forces a segment switch (so a quiet hour is archived too), waits until the server
has archived it, ships the spool, records a batch (`wal-batches/<id>`: the segments that arrived
since the previous batch, each opened once to prove it authenticates) and applies retention.

Store layout: `wal/<file name>` (sealed, the name is the associated data) and `wal-batches/<id>`.
A base backup (`pg_basebackup -Ft -X fetch`, self-contained) is part of every backup set of an
archived cluster; its start segment is where the WAL a restore needs begins.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

from include.operations.backup import Vault, new_set_id
from include.operations.sealing import BackupIntegrityError

log = logging.getLogger(__name__)
SEGMENT = re.compile(r"^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$")
HISTORY = re.compile(r"^[0-9A-F]{8}\.history$")
SPOOL_TEMP = (".tmp", ".part", ".partial.tmp")  # written by archive_command, renamed when complete


class WalArchiveError(Exception):
    """WAL archiving is off, failing, or the stores disagree with the server."""


def _position(name: str) -> str:
    """Log and segment number of a WAL file name, without its timeline (how pg_archivecleanup
    compares: a new timeline continues the numbering of the one it branched from)."""
    return name[8:24]


def wal_names(vault: Vault) -> list[str]:
    """Every WAL file any store holds (segments, .backup and .history files)."""
    names = {k.split("/", 1)[1] for s in vault.stores for k in s.list("wal/")}
    return sorted(n for n in names if SEGMENT.match(n) or HISTORY.match(n))


def archive_file(vault: Vault, path: Path, name: str) -> bool:
    """Seals one archived WAL file into every store that lacks it; False when all held it already.

    A name the stores hold with other bytes is refused (two clusters archiving into one store, or a
    timeline mix-up): archive_command then fails and PostgreSQL keeps the segment and retries."""
    if not (SEGMENT.match(name) or HISTORY.match(name)):
        raise WalArchiveError(f"{name}: not a WAL file name")
    data = path.read_bytes()
    key = f"wal/{name}"
    missing = [s for s in vault.stores if not s.exists(key)]
    if len(missing) < len(vault.stores):
        if vault.get(key) != data:
            raise WalArchiveError(f"{key}: the stores hold different bytes under this name; not overwritten")
    if missing:
        Vault(missing, vault.key).put(key, data)
    return bool(missing)


def ship_spool(vault: Vault, spool: Path) -> list[str]:
    """Seals every complete file of the archive spool into the stores, then removes it there."""
    if not spool.is_dir():
        raise WalArchiveError(f"backup.transaction_logs.spool {spool}: no such folder")
    shipped = []
    for path in sorted(spool.iterdir()):
        if not path.is_file() or path.name.endswith(SPOOL_TEMP):
            continue
        archive_file(vault, path, path.name)
        path.unlink()
        shipped.append(path.name)
    return shipped


def fetch_file(vault: Vault, name: str, destination: Path) -> bool:
    """restore_command's job: authenticates and writes one WAL file; False when no store has it."""
    key = f"wal/{name}"
    if not any(s.exists(key) for s in vault.stores):
        return False
    data = vault.get(key)
    tmp = destination.with_name(destination.name + ".restoring")
    tmp.write_bytes(data)
    tmp.replace(destination)
    return True


def archive_settings(url: str) -> tuple[str, int]:
    """(archive_mode, server major version) of the server holding `url`."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            mode = str(conn.execute(text("SHOW archive_mode")).scalar())
            major = int(str(conn.execute(text("SHOW server_version_num")).scalar())) // 10000
            return mode, major
    finally:
        eng.dispose()


def is_archived(url: str) -> bool:
    """True for a PostgreSQL database whose server archives WAL (then backups take a base backup)."""
    from include.operations.databases import dialect

    return dialect(url) == "postgresql" and archive_settings(url)[0] in ("on", "always")


def switch_and_wait(url: str, timeout: float = 300) -> str:
    """Closes the current WAL segment and waits until the server's archive_command has taken it."""
    from sqlalchemy import create_engine, text

    from include.operations.databases import _safe

    if not is_archived(url):
        raise WalArchiveError(
            f"{_safe(url)}: archive_mode is off, so there are no transaction logs to back up; set "
            "archive_mode = on and an archive_command (docs/operations.md)"
        )
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            asked = datetime.now(UTC)
            name = str(conn.execute(text("SELECT pg_walfile_name(pg_switch_wal())")).scalar())
            deadline = time.monotonic() + timeout
            while True:
                done, failed, failed_at = conn.execute(
                    text("SELECT last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver")
                ).one()
                if done and _position(str(done)) >= _position(name):
                    return name
                if failed and failed_at and failed_at > asked and _position(str(failed)) >= _position(name):
                    raise WalArchiveError(
                        f"{_safe(url)}: archive_command failed for {failed} (see the server's log)"
                    )
                if time.monotonic() > deadline:
                    raise WalArchiveError(f"{_safe(url)}: {name} not archived within {timeout:g} s")
                time.sleep(0.1)
    finally:
        eng.dispose()


def base_backup(url: str) -> tuple[bytes, dict]:
    """A self-contained physical backup of the whole cluster (tar, with the WAL it needs)."""
    from include.operations.databases import _libpq, _pg_tool, _safe
    from include.operations.pg_cluster import pg_bin

    _, major = archive_settings(url)
    libpq, env = _libpq(url)
    label = f"altium2kicad {datetime.now(UTC).isoformat()}"
    out = _pg_tool(  # with databases.PG_TOOL_TIMEOUT: a server that stops answering fails the backup
        [pg_bin("pg_basebackup"), "-d", libpq, "-D", "-", "-Ft", "-X", "fetch", "-c", "fast"]
        + ["--no-manifest", "-l", label],
        _safe(url),
        env,
    )
    if out.returncode:
        raise RuntimeError(f"pg_basebackup {_safe(url)}: {out.stderr.decode(errors='replace').strip()}")
    stopped = datetime.now(UTC)  # an upper bound of the consistency point: restores start here
    label_text = _member(out.stdout, "backup_label").decode()
    start = re.search(r"START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)", label_text)
    if not start:
        raise RuntimeError(f"pg_basebackup {_safe(url)}: no START WAL LOCATION in backup_label")
    return out.stdout, {
        "format": "pg_basebackup-tar",
        "start_wal": start.group(1),
        "stop_time": stopped.isoformat(),
        "server_major": major,
        "label": label,
    }


def _member(tar_bytes: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        member = tar.extractfile(name)
        if member is None:
            raise RuntimeError(f"base backup has no {name}")
        return member.read()


def batches(vault: Vault) -> list[str]:
    return sorted({k.split("/", 1)[1] for s in vault.stores for k in s.list("wal-batches/")})


def record_batch(vault: Vault, switched: str | None, shipped: list[str]) -> dict:
    """Notes the WAL files that arrived since the previous batch; each is opened (authenticated)."""
    previous = batches(vault)
    last = json.loads(vault.get(f"wal-batches/{previous[-1]}"))["last"] if previous else None
    files = [n for n in wal_names(vault) if last is None or (SEGMENT.match(n) and n > last)]
    problems = []
    for name in files:
        try:
            vault.get(f"wal/{name}")
        except BackupIntegrityError as exc:
            problems.append(str(exc))
    if problems:
        raise BackupIntegrityError("archived WAL does not open: " + "; ".join(problems))
    segments = [n for n in files if SEGMENT.match(n)]
    batch = {
        "batch_id": new_set_id("transaction_logs"),
        "at": datetime.now(UTC).isoformat(),
        "switched": switched,
        "shipped_from_spool": shipped,
        "files": files,
        "last": segments[-1] if segments else last,
    }
    vault.put(f"wal-batches/{batch['batch_id']}", json.dumps(batch).encode())
    return batch


def base_backups(vault: Vault) -> list[dict]:
    """Every base backup the sets hold (oldest first), with the set it belongs to."""
    found = []
    for set_id in vault.set_ids():
        for name, entry in vault.manifest(set_id)["databases"].items():
            if "base_backup" in entry:
                found.append({"set_id": set_id, "database": name, **entry["base_backup"]})
    return found


def wal_retention(vault: Vault, keep: int) -> dict:
    """Keeps the newest `keep` batches (the point-in-time window) and the WAL they need.

    A restore to a point in the window needs WAL from the newest base backup that ended before
    the window began; the newest verified set's base backup is never cut off either. Without any
    base backup nothing is deleted. .history files are always kept (they are tiny and every
    later timeline needs them)."""
    ids = batches(vault)
    doomed, kept = ids[: max(0, len(ids) - keep)], ids[max(0, len(ids) - keep) :]
    bases = base_backups(vault)
    cutoff = None
    if bases and kept:
        window_start = json.loads(vault.get(f"wal-batches/{kept[0]}"))["at"]
        before = [b for b in bases if b["stop_time"] <= window_start]
        cutoff = (before[-1] if before else bases[0])["start_wal"]
        verified = [b for b in bases if vault.verified(b["set_id"])]
        if verified and _position(verified[-1]["start_wal"]) < _position(cutoff):
            cutoff = verified[-1]["start_wal"]
    deleted = []
    if cutoff:
        deleted = [n for n in wal_names(vault) if SEGMENT.match(n) and _position(n) < _position(cutoff)]
    for store in vault.stores:
        for name in deleted:
            store.delete(f"wal/{name}")
        for batch_id in doomed:
            store.delete(f"wal-batches/{batch_id}")
    return {"batches_deleted": doomed, "wal_deleted": deleted, "cutoff": cutoff}


def transaction_logs(vault: Vault, url: str, spool: Path | None, keep: int) -> dict:
    """The hourly step: switch, wait for the archiver, ship the spool, record a batch, retention."""
    switched = switch_and_wait(url)
    shipped = ship_spool(vault, spool) if spool else []
    if not any(s.exists(f"wal/{switched}") for s in vault.stores):
        raise WalArchiveError(
            f"the server archived {switched} but no backup store holds it: archive_command must copy "
            "into backup.transaction_logs.spool or call `altium2kicad-admin archive-wal %p %f`"
        )
    batch = record_batch(vault, switched, shipped)
    return {**batch, "retention": wal_retention(vault, keep)}
