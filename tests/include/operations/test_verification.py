"""Backup verification restores the newest set into scratch targets (PostgreSQL, SQLite, a folder)
and compares every table and file with the manifest; a difference fails naming it."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import create_engine, text

from include.operations.backup import SiteSources, Vault, create_backup
from include.operations.sealing import new_key
from include.operations.stores import LocalStore
from include.operations.verification import verify_latest
from tests.scratch_databases import scratch_database


def _verify_databases() -> set[str]:
    eng = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    with eng.connect() as conn:
        names = {
            r[0]
            for r in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'a2k_verify_%'"))
        }
    eng.dispose()
    return names


@pytest.fixture
def backed_up(tmp_path):
    import base64

    vault = Vault([LocalStore(tmp_path / "p"), LocalStore(tmp_path / "s")], base64.b64decode(new_key()))
    lite = tmp_path / "parts.db"
    conn = sqlite3.connect(lite)
    conn.execute("CREATE TABLE part (id int primary key, value text)")
    conn.executemany("INSERT INTO part VALUES (?, ?)", [(i, f"{i}k") for i in range(100)])
    conn.commit()
    conn.close()
    tree = tmp_path / "deploy"
    (tree / "symbols").mkdir(parents=True)
    (tree / "symbols" / "R.kicad_sym").write_text("(kicad_symbol_lib)")
    with scratch_database("postgresql") as url:
        eng = create_engine(url)
        with eng.begin() as c:
            c.execute(text("CREATE TABLE run (id serial primary key, body jsonb)"))
            c.execute(
                text("INSERT INTO run (body) SELECT json_build_object('g', g) FROM generate_series(1, 500) g")
            )
        eng.dispose()
        sources = SiteSources({"library_db": url, "parts": f"sqlite:///{lite}"}, {"deploy/production": tree})
        create_backup(vault, sources, "full")
        yield vault, sources


def test_latest_set_restored_and_compared(backed_up):
    vault, sources = backed_up
    before = _verify_databases()
    result = verify_latest(vault, sources.databases)
    assert result["ok"] and result["checked"] == {
        "database library_db": "1 tables",
        "database parts": "1 tables",
        "files deploy/production": "1 files",
    }
    assert vault.verified(result["set_id"])["checked"] == result["checked"]
    assert _verify_databases() == before  # the scratch database is gone again


def test_restore_that_differs_from_the_manifest_fails_naming_it(backed_up):
    vault, sources = backed_up
    set_id = vault.set_ids()[-1]
    manifest = vault.manifest(set_id)  # as if the dump had been taken while the table changed
    manifest["databases"]["library_db"]["tables"]["run"]["rows"] = 501
    manifest["trees"]["deploy/production"]["files"]["symbols/extra.kicad_sym"] = {
        "sha256": "0" * 64,
        "size": 1,
    }
    vault.put(f"sets/{set_id}/manifest", json.dumps(manifest).encode())
    with pytest.raises(RuntimeError) as failed:
        verify_latest(vault, sources.databases)
    message = str(failed.value)
    assert f"backup {set_id} failed verification" in message
    assert "symbols/extra.kicad_sym" in message  # the object is missing: named before any restore
    assert vault.verified(set_id) is None
    del manifest["trees"]["deploy/production"]["files"]["symbols/extra.kicad_sym"]
    vault.put(f"sets/{set_id}/manifest", json.dumps(manifest).encode())
    with pytest.raises(
        RuntimeError, match=r"database library_db: table run: 500 rows .* backup has 501 rows"
    ):
        verify_latest(vault, sources.databases)
