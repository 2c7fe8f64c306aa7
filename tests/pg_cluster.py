"""A primary and a streaming standby for fault tests, on include/operations/pg_cluster.py's
scratch clusters (initdb, pg_ctl, run as `postgres` when we are root)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from include.operations.pg_cluster import Cluster, ClusterError, free_port, hand_over, pg_bin, run_pg

__all__ = ["Cluster", "multi_host_url", "primary", "promote", "scratch_root", "server_binaries", "standby"]


def server_binaries() -> bool:
    try:
        pg_bin("initdb")
        return True
    except ClusterError:
        return False


def scratch_root() -> Path:
    """A folder the `postgres` user can reach (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="a2k-pg-"))
    root.chmod(0o755)
    hand_over(root)
    return root


def primary(root: Path) -> Cluster:
    """A new primary that streams to standbys (replication over loopback, trust: a test's own)."""
    cluster = Cluster(root / "primary", free_port())
    settings = {"wal_level": "replica", "max_wal_senders": "5", "hot_standby": "on", "fsync": "off"}
    return cluster.initdb(settings).start()


def standby(root: Path, of: Cluster) -> Cluster:
    """A streaming standby of `of` (pg_basebackup -R writes standby.signal and primary_conninfo)."""
    node = Cluster(root / f"standby{free_port()}", free_port())
    run_pg(
        [pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(of.port), "-U", of.user,
         "-D", str(node.data_dir), "-R", "-X", "stream", "-c", "fast", "--no-sync"],
        f"base backup of {of.data_dir}",
    )  # fmt: skip
    node.configure(node.settings())
    return node.start()


def promote(node: Cluster) -> None:
    """What the cluster manager does: the standby becomes the primary."""
    run_pg([pg_bin("pg_ctl"), "-D", str(node.data_dir), "-w", "promote"], f"promote {node.data_dir}")


def multi_host_url(nodes: list[Cluster], database: str) -> str:
    """libpq's multi-host form: a new connection reaches whichever node accepts writes now."""
    hosts = "&".join(f"host=127.0.0.1:{n.port}" for n in nodes)
    return f"postgresql+psycopg2://postgres@/{database}?{hosts}&target_session_attrs=read-write"
