"""A PostgreSQL cluster of the test's own that archives WAL, and a moto S3 server: what the
point-in-time and DR tests back up from and into. The machine's server is never reconfigured."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class ArchivedCluster:
    cluster: object  # include.operations.pg_cluster.Cluster
    spool: Path  # where archive_command copies finished WAL files
    work: Path  # a folder PostgreSQL's user may use (scratch data directories go here)

    def url(self, database: str = "library") -> str:
        return self.cluster.url(database)


@contextmanager
def archived_cluster(database: str = "library") -> Iterator[ArchivedCluster]:
    """initdb in a temporary folder (1 MB WAL segments: fast to fill and ship), archive_mode=on,
    wal_level=replica, its own port; `database` created; everything removed afterwards."""
    from sqlalchemy import create_engine, text

    from include.operations.pg_cluster import Cluster, ClusterError, free_port, hand_over, pg_bin

    try:
        pg_bin("initdb")
    except ClusterError as exc:
        pytest.skip(str(exc))
    work = Path(tempfile.mkdtemp(prefix="a2k-pg-"))
    work.chmod(0o755)  # PostgreSQL's user must reach the folders inside
    spool = work / "spool"
    spool.mkdir()
    hand_over(spool)
    cluster = Cluster(work / "source", free_port())
    try:
        cluster.initdb(
            {
                "wal_level": "replica",
                "archive_mode": "on",
                "archive_command": f"'cp %p {spool}/%f.tmp && mv {spool}/%f.tmp {spool}/%f'",
                "max_wal_senders": "4",
                "fsync": "off",
            },
            wal_segsize_mb=1,
        ).start()
        eng = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        eng.dispose()
        yield ArchivedCluster(cluster, spool, work)
    finally:
        cluster.remove()
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def moto_s3(*buckets: str) -> Iterator[str]:
    """moto's S3 server on a free port with the given buckets; yields its endpoint URL."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from include.operations.pg_cluster import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
