"""Backup -> wipe -> restore through altium2kicad-admin on real PostgreSQL and a moto S3 server."""

from __future__ import annotations

import json
import socket

import pytest
from sqlalchemy import create_engine, text

from include.operations.admin import main as admin
from include.operations.backup import SiteSources, Vault, create_backup
from include.operations.databases import fingerprints
from include.operations.sealing import new_key
from include.operations.stores import LocalStore, S3Store
from tests.scratch_databases import scratch_database


@pytest.fixture(scope="module")
def s3_endpoint():
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket="backups")
    yield endpoint
    server.stop()


@pytest.fixture
def env(monkeypatch, s3_endpoint):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    key = new_key()
    monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", key)
    return key


def _fill(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE part (id serial primary key, name text, facts jsonb)"))
        conn.execute(text("CREATE TABLE note (id int primary key, body text)"))
        for i in range(50):
            conn.execute(
                text("INSERT INTO part (name, facts) VALUES (:n, :f)"), {"n": f"R{i}", "f": f'{{"i": {i}}}'}
            )
        conn.execute(text("INSERT INTO note VALUES (1, 'hello')"))
    eng.dispose()


def _vault(tmp_path, s3_endpoint, key):
    import base64

    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    return Vault(
        [LocalStore(tmp_path / "primary"), S3Store(client, "backups", tmp_path.name)], base64.b64decode(key)
    )


def test_round_trip_and_tamper_refused(tmp_path, env, s3_endpoint, capsys):
    files = tmp_path / "deploy"
    (files / "symbols").mkdir(parents=True)
    (files / "symbols" / "Lib.kicad_sym").write_text("(kicad_symbol_lib)")
    (files / "report.json").write_bytes(b"{}")
    vault = _vault(tmp_path, s3_endpoint, env)
    with scratch_database("postgresql") as url:
        _fill(url)
        before = fingerprints(url)
        full = create_backup(vault, SiteSources({"library_db": url}, {"deploy": files}), "full")
        assert full["stats"]["objects_written"] == 3
        # incremental: of the files only the changed one is stored (a pg_dump is new every time:
        # its header holds the dump's time; PostgreSQL's incremental part is the archived WAL)
        (files / "report.json").write_bytes(b'{"changed": 1}')
        inc = create_backup(vault, SiteSources({"library_db": url}, {"deploy": files}), "incremental")
        assert inc["parent"] == full["set_id"]
        assert inc["stats"]["objects_written"] + inc["stats"]["objects_reused"] == 3
        dump_new = inc["databases"]["library_db"]["object"] != full["databases"]["library_db"]["object"]
        assert inc["stats"]["objects_written"] == 1 + dump_new
        # wipe
        eng = create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        eng.dispose()
        stores = [
            "--store",
            str(tmp_path / "primary"),
            "--store",
            f"s3://backups/{tmp_path.name}",
            "--s3-endpoint",
            s3_endpoint,
        ]
        assert admin([*stores, "list-backups"]) == 0
        assert admin([*stores, "verify-backup", "--backup-file", "latest"]) == 0
        assert (
            admin(
                [
                    *stores,
                    "restore-database",
                    "--backup-file",
                    inc["set_id"],
                    "--target-server",
                    url,
                    "--verify",
                ]
            )
            == 0
        )
        assert fingerprints(url) == before
        restored = tmp_path / "restored"
        site = json.dumps({"trees": {"deploy": str(restored)}, "databases": {"library_db": url}})
        # the database is not empty now: a second restore asks for --force
        assert admin([*stores, "restore-site", "--backup-set", "latest", "--target-site", site]) == 2
        assert "--force" in capsys.readouterr().err
        assert (
            admin(
                [
                    *stores,
                    "restore-site",
                    "--backup-set",
                    "latest",
                    "--target-site",
                    site,
                    "--parallel-restore",
                    "--max-workers",
                    "2",
                    "--verify-after-restore",
                    "--force",
                ]
            )
            == 0
        )
        assert (restored / "report.json").read_bytes() == b'{"changed": 1}'
        assert (restored / "symbols" / "Lib.kicad_sym").read_text() == "(kicad_symbol_lib)"
        # tamper with the database dump in both stores: refused, target untouched
        digest = inc["databases"]["library_db"]["object"]
        for store in vault.stores:
            data = bytearray(store.get(f"objects/{digest}"))
            data[-5] ^= 0xFF
            store.put(f"objects/{digest}", bytes(data))
        eng = create_engine(url)
        with eng.begin() as conn:
            conn.execute(text("INSERT INTO note VALUES (2, 'after')"))
        eng.dispose()
        marked = fingerprints(url)
        assert admin([*stores, "restore-database", "--target-server", url, "--force", "--verify"]) == 2
        err = capsys.readouterr().err
        assert "authentication failed" in err
        assert fingerprints(url) == marked
        assert admin([*stores, "verify-backup"]) == 2


def test_sqlite_round_trip(tmp_path, monkeypatch):
    import base64
    import sqlite3

    src = tmp_path / "lib.db"
    conn = sqlite3.connect(src)
    conn.execute("CREATE TABLE t (a int, b text)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, str(i)) for i in range(20)])
    conn.commit()
    conn.close()
    key = new_key()
    vault = Vault([LocalStore(tmp_path / "p"), LocalStore(tmp_path / "s")], base64.b64decode(key))
    url = f"sqlite:///{src}"
    create_backup(vault, SiteSources({"library_db": url}), "full")
    monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", key)
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    args = ["--store", str(tmp_path / "p"), "--store", str(tmp_path / "s")]
    assert admin([*args, "restore-database", "--target-server", target, "--verify"]) == 0
    assert fingerprints(target) == fingerprints(url)
    # the primary copy lost: the secondary serves
    for p in (tmp_path / "p" / "objects").iterdir():
        p.unlink()
    assert admin([*args, "restore-database", "--target-server", target, "--verify", "--force"]) == 0
    # a wrong key is refused
    monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", new_key())
    assert admin([*args, "list-backups"]) == 2
