"""Point-in-time restore through altium2kicad-admin: a base backup plus archived WAL, sealed in a
local store and an S3 (moto) store, replayed into a new cluster up to T. Changes before T are
there, changes after T are not; a tampered WAL file is refused before the target exists."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import boto3
import pytest
from sqlalchemy import create_engine, text

from include.operations.admin import main as admin
from include.operations.backup import SiteSources, Vault, create_backup
from include.operations.pg_cluster import Cluster, free_port
from include.operations.sealing import new_key, seal
from include.operations.stores import LocalStore, S3Store
from include.operations.wal import transaction_logs, wal_names
from tests.archived_cluster import archived_cluster, moto_s3


@pytest.fixture(scope="module")
def endpoint():
    with moto_s3("backups") as url:
        yield url


def _insert(url: str, *names: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        for name in names:
            conn.execute(text("INSERT INTO part (name) VALUES (:n)"), {"n": name})
    eng.dispose()


def _names(url: str) -> list[str]:
    eng = create_engine(url)
    with eng.connect() as conn:
        names = [r[0] for r in conn.execute(text("SELECT name FROM part ORDER BY id"))]
    eng.dispose()
    return names


def test_restore_to_a_point_in_time(endpoint, monkeypatch, capsys):
    key = new_key()
    monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", key)
    with archived_cluster() as src:
        url = src.url()
        prefix = src.work.name
        vault = Vault(
            [
                LocalStore(src.work / "primary"),
                S3Store(boto3.client("s3", endpoint_url=endpoint), "backups", prefix),
            ],
            base64.b64decode(key),
        )
        eng = create_engine(url)
        with eng.begin() as conn:
            conn.execute(text("CREATE TABLE part (id serial primary key, name text)"))
        eng.dispose()
        _insert(url, "R1-in-base-backup")
        full = create_backup(vault, SiteSources({"library_db": url}), "full")
        base = full["databases"]["library_db"]["base_backup"]
        assert base["format"] == "pg_basebackup-tar" and base["start_wal"]
        _insert(url, "R2-before-T")
        time.sleep(0.3)
        point = datetime.now(UTC)
        time.sleep(0.3)
        _insert(url, "R3-after-T")
        hourly = transaction_logs(vault, url, src.spool, keep=24)
        assert hourly["switched"] in hourly["files"] and not list(src.spool.iterdir())
        # retention keeps the WAL from the base backup's start segment on, and only that
        kept = {n for n in hourly["files"] if n[8:24] >= base["start_wal"][8:24]}
        assert set(wal_names(vault)) == kept and set(hourly["retention"]["wal_deleted"]) == (
            set(hourly["files"]) - kept
        )

        stores = ["--store", str(src.work / "primary"), "--store", f"s3://backups/{prefix}"]
        stores += ["--s3-endpoint", endpoint]
        port = free_port()
        target = f"postgresql://postgres@127.0.0.1:{port}/library"
        data_dir = src.work / "restored"
        restore = [
            *stores,
            "restore-database",
            "--backup-file",
            "latest",
            "--target-server",
            target,
            "--data-dir",
            str(data_dir),
            "--restore-point",
        ]
        # a tampered WAL file (in both stores) is refused before the data directory exists
        victim = hourly["switched"]
        good = [s.get(f"wal/{victim}") for s in vault.stores]
        for store in vault.stores:
            store.put(f"wal/{victim}", seal(b"forged WAL", base64.b64decode(new_key()), f"wal/{victim}"))
        assert admin([*restore, point.isoformat(), "--verify"]) == 2
        assert "authentication failed" in capsys.readouterr().err and not data_dir.exists()
        for store, data in zip(vault.stores, good, strict=True):
            store.put(f"wal/{victim}", data)

        assert admin([*restore, point.isoformat(), "--verify"]) == 0, capsys.readouterr().err
        restored = Cluster(data_dir, port)
        try:
            assert _names(target) == ["R1-in-base-backup", "R2-before-T"]
            out = capsys.readouterr().out
            assert "newest change replayed" in out and "tables readable" in out
            # the data directory is not empty now: a second restore asks for --force
            assert admin([*restore, "latest"]) == 2
            assert "--force" in capsys.readouterr().err
            # a point after the newest archived commit: PostgreSQL cannot reach it (no later commit
            # in the archive), so every archived change is restored, and the command says so
            # ('latest' is what the dr_test DAG restores)
            assert admin([*restore, datetime.now(UTC).isoformat(), "--force", "--verify"]) == 0
            assert "the archive ends before" in capsys.readouterr().out
            assert _names(target) == ["R1-in-base-backup", "R2-before-T", "R3-after-T"]
        finally:
            restored.remove()
