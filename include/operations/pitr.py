"""Point-in-time restore: a base backup into a new data directory, then WAL replayed up to T.

Everything is fetched and authenticated before the target is touched: the base backup and every
archived WAL file from its start segment on go to a staging folder first (a tampered or truncated
one is refused there). Then the base backup is unpacked, `recovery.signal` written, and
postgresql.auto.conf given `restore_command` (copying from the staging folder),
`recovery_target_time`, `recovery_target_action = promote` and `archive_mode = off` (a restored
copy must never archive into the site's stores). The cluster is started and watched until
recovery ends.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from include.operations.backup import Progress, Vault
from include.operations.databases import RestoreRefused
from include.operations.pg_cluster import Cluster, ClusterError, as_owner, hand_over
from include.operations.stores import StoreError
from include.operations.wal import HISTORY, SEGMENT, _position, base_backups, wal_names

log = logging.getLogger(__name__)
STAGING = "restore_wal"  # folder inside the data directory restore_command copies from
NOT_REACHED = "recovery ended before configured recovery target was reached"


@dataclass
class PointInTimeRestore:
    cluster: Cluster
    set_id: str
    target_time: str | None  # None: every archived change
    target_reached: bool
    replayed_until: str | None  # commit time of the newest transaction replayed
    wal_files: int
    seconds: float


def parse_point(value: str) -> datetime | None:
    """--restore-point: an ISO time (UTC when it names no zone) or 'latest'."""
    if value == "latest":
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--restore-point {value!r}: not an ISO time (2026-12-02T13:05:00+00:00) or 'latest'"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def choose_base(vault: Vault, database: str, when: datetime | None, set_id: str | None) -> dict:
    """The newest base backup of `database` that ended before `when` (in `set_id` when given)."""
    bases = [b for b in base_backups(vault) if b["database"] == database]
    if set_id:
        bases = [b for b in bases if b["set_id"] == set_id]
    if not bases:
        where = f"set {set_id}" if set_id else "the stores"
        raise StoreError(
            f"{where} hold(s) no base backup of '{database}' (is the server archiving WAL? "
            "docs/operations.md)"
        )
    usable = [b for b in bases if when is None or datetime.fromisoformat(b["stop_time"]) <= when]
    if not usable:
        assert when is not None  # without a point every base backup is usable
        raise StoreError(
            f"no base backup of '{database}' ended before {when.isoformat()}; the oldest ended "
            f"{bases[0]['stop_time']} (set {bases[0]['set_id']})"
        )
    return usable[-1]


def stage_wal(vault: Vault, start_wal: str, folder: Path, progress: Progress | None = None) -> int:
    """Authenticates every archived WAL file a restore from `start_wal` can need into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name in wal_names(vault):
        if HISTORY.match(name) or (SEGMENT.match(name) and _position(name) >= _position(start_wal)):
            data = vault.get(f"wal/{name}")  # raises BackupIntegrityError naming the file
            (folder / name).write_bytes(data)
            count += 1
            if progress:
                progress(f"wal/{name}", len(data))
    return count


def restore_to_point(
    vault: Vault,
    database: str,
    when: datetime | None,
    data_dir: Path,
    port: int,
    user: str,
    set_id: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> PointInTimeRestore:
    """Restores the cluster holding `database` as of `when` (None: all archived WAL) into
    `data_dir` and leaves it running on `port`."""
    started = time.monotonic()
    base = choose_base(vault, database, when, set_id)
    tar_bytes = vault.get_object(base["object"])
    with tempfile.TemporaryDirectory(prefix="a2k-wal-") as tmp:
        staged = stage_wal(vault, base["start_wal"], Path(tmp) / STAGING, progress)
        if data_dir.exists() and any(data_dir.iterdir()):
            if not force:
                raise RestoreRefused(f"data directory {data_dir} is not empty; pass --force to overwrite it")
            Cluster(data_dir, port).remove()
        cluster = Cluster(data_dir, port, base.get("server_major"), user)
        targets = [when, None] if when else [None]
        for target in targets:
            _unpack(tar_bytes, data_dir, Path(tmp) / STAGING, cluster, target)
            try:
                cluster.start()
                cluster.wait_until_promoted()
                break
            except ClusterError as exc:
                if target is None or NOT_REACHED not in cluster.log_tail(40) + str(exc):
                    cluster.stop("immediate")  # a restore that failed leaves no server running
                    raise
                # the archive ends before T: every archived change is older than T, so the state
                # at T (as far as it was archived) is all of it
                log.warning("WAL archive ends before %s; restoring every archived change", target)
                cluster.stop("immediate")
    shutil.rmtree(data_dir / STAGING, ignore_errors=True)
    replayed = _replayed_until(cluster)
    return PointInTimeRestore(
        cluster,
        base["set_id"],
        when.isoformat() if when else None,
        target is not None or when is None,
        replayed,
        staged,
        round(time.monotonic() - started, 3),
    )


def _unpack(tar_bytes: bytes, data_dir: Path, staging: Path, cluster: Cluster, when: datetime | None):
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    data_dir.chmod(0o700)
    hand_over(data_dir)
    # tar(1) run as PostgreSQL's user: the files are born with the right owner (and it is faster
    # than tarfile on a slow disk)
    out = subprocess.run(as_owner(["tar", "-x", "-C", str(data_dir)]), input=tar_bytes, capture_output=True)
    if out.returncode:
        raise ClusterError(f"unpacking the base backup into {data_dir}: {out.stderr.decode().strip()}")
    for leftover in ("postmaster.pid", "standby.signal", "server.log"):
        (data_dir / leftover).unlink(missing_ok=True)
    if not (data_dir / "postgresql.conf").exists():  # Debian keeps it in /etc: start from defaults
        (data_dir / "postgresql.conf").write_text("")
    if not (data_dir / "pg_hba.conf").exists():
        (data_dir / "pg_hba.conf").write_text(
            "# written by altium2kicad-admin: the restored copy listens on the loopback only\n"
            "local all all trust\nhost all all 127.0.0.1/32 trust\n"
        )
    shutil.copytree(staging, data_dir / STAGING)
    hand_over(data_dir / STAGING)
    settings = {
        **cluster.settings(),
        "archive_mode": "off",
        "restore_command": f'\'cp "{data_dir / STAGING}/%f" "%p"\'',
        "recovery_target_action": "'promote'",
    }
    if when:
        settings["recovery_target_time"] = f"'{when.isoformat(sep=' ')}'"
    cluster.configure(settings)
    for written in ("recovery.signal", "postgresql.conf", "pg_hba.conf", "postgresql.auto.conf"):
        (data_dir / written).touch()
        hand_over(data_dir / written)


def _replayed_until(cluster: Cluster) -> str | None:
    from sqlalchemy import create_engine, text

    eng = create_engine(cluster.url())
    try:
        with eng.connect() as conn:
            value = conn.execute(text("SELECT pg_last_xact_replay_timestamp()")).scalar()
            return value.astimezone(UTC).isoformat() if value else None
    finally:
        eng.dispose()
