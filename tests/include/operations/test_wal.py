"""WAL in the stores without a server: archive_command's idempotence and refusal, restore_command's
end of archive, and retention (the window of `keep` batches, never the newest verified base)."""

from __future__ import annotations

import base64
import json

from include.operations.admin import main as admin
from include.operations.backup import Vault
from include.operations.sealing import new_key
from include.operations.stores import LocalStore
from include.operations.wal import batches, wal_names, wal_retention


def _segment(n: int) -> str:
    return f"00000001{0:08X}{n:08X}"


def test_archive_and_restore_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", new_key())
    stores = ["--store", str(tmp_path / "a"), "--store", str(tmp_path / "b")]
    wal = tmp_path / _segment(3)
    wal.write_bytes(b"\x01" * 4096)
    assert admin([*stores, "archive-wal", str(wal), wal.name]) == 0
    assert (tmp_path / "a" / "wal" / wal.name).exists() and (tmp_path / "b" / "wal" / wal.name).exists()
    assert admin([*stores, "archive-wal", str(wal), wal.name]) == 0  # PostgreSQL retried: same bytes
    wal.write_bytes(b"\x02" * 4096)
    assert admin([*stores, "archive-wal", str(wal), wal.name]) == 2  # other bytes: never overwritten
    assert "different bytes" in capsys.readouterr().err
    out = tmp_path / "pg_wal" / "RECOVERYXLOG"
    out.parent.mkdir()
    assert admin([*stores, "restore-wal", wal.name, str(out)]) == 0
    assert out.read_bytes() == b"\x01" * 4096
    assert admin([*stores, "restore-wal", _segment(4), str(out)]) == 1  # the end of the archive
    assert admin([*stores, "archive-wal", str(wal), "not-a-wal-name"]) == 2


def _set(vault: Vault, set_id: str, start: int, stop_time: str, verified: bool = False) -> None:
    base = {"object": "0" * 64, "start_wal": _segment(start), "stop_time": stop_time}
    manifest = {
        "set_id": set_id,
        "kind": "full",
        "parent": None,
        "databases": {"library_db": {"base_backup": base}},
    }
    vault.put(f"sets/{set_id}/manifest", json.dumps(manifest).encode())
    if verified:
        vault.put(f"sets/{set_id}/verified", b'{"ok": true}')


def test_retention_keeps_the_window_and_the_newest_verified_base(tmp_path):
    vault = Vault([LocalStore(tmp_path / "a"), LocalStore(tmp_path / "b")], base64.b64decode(new_key()))
    for n in range(1, 13):
        vault.put(f"wal/{_segment(n)}", b"wal")
    vault.put("wal/00000002.history", b"history")
    _set(vault, "20260101T000000000000Z-full", 2, "2026-01-01T00:10:00+00:00", verified=True)
    _set(vault, "20260102T000000000000Z-full", 6, "2026-01-02T00:10:00+00:00")
    _set(vault, "20260103T000000000000Z-full", 9, "2026-01-03T00:10:00+00:00")
    for i, day in enumerate(("01", "02", "03", "04")):
        batch = {"at": f"2026-01-{day}T12:00:00+00:00", "last": _segment(3 * i + 3)}
        vault.put(f"wal-batches/2026010{i + 1}T120000000000Z-transaction_logs", json.dumps(batch).encode())

    # keep 2 batches: the window starts 2026-01-03 12:00; the base that ended before it starts at
    # segment 9, but the newest verified base (segment 2) is never cut off
    done = wal_retention(vault, keep=2)
    assert done["cutoff"] == _segment(2) and done["wal_deleted"] == [_segment(1)]
    assert len(batches(vault)) == 2
    # once the newer base is verified, the WAL before segment 9 goes, in both stores
    vault.put("sets/20260103T000000000000Z-full/verified", b'{"ok": true}')
    done = wal_retention(vault, keep=2)
    assert done["cutoff"] == _segment(9)
    assert wal_names(vault) == [*(_segment(n) for n in range(9, 13)), "00000002.history"]
    assert sorted(p.name for p in (tmp_path / "b" / "wal").iterdir())[0] == _segment(9)
