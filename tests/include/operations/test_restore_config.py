"""`altium2kicad-admin restore-config`: byte-identical restore, tampered backups refused before
anything is written, a non-empty target needs --force, --restart-services restarts real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from include.config import DEFAULT_CONFIG
from include.operations.admin import main as admin
from include.operations.backup import Vault
from include.operations.sealing import load_key, new_key
from include.operations.stores import LocalStore
from include.operations.updates import backup_configuration


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copyfile(DEFAULT_CONFIG, folder / "altium2kicad.yaml")
    (folder / "rules").mkdir()
    (folder / "rules" / "mapping.yaml").write_bytes(b"symbols: {}\n\xc3\xa9\n")
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(folder / "altium2kicad.yaml"))
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", new_key())
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    stores = [tmp_path / "primary", tmp_path / "secondary"]
    vault = Vault([LocalStore(s) for s in stores], load_key("ALTIUM2KICAD_BACKUP_KEY", None))
    original = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    set_id = backup_configuration(vault, folder)
    return {"folder": folder, "stores": stores, "set_id": set_id, "original": original}


def _args(site, *more: str) -> list[str]:
    return [a for s in site["stores"] for a in ("--store", str(s))] + ["restore-config", *more]


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _break_config(folder: Path) -> dict:
    (folder / "altium2kicad.yaml").write_text("broken: [\n")
    (folder / "stray.yaml").write_text("x: 1\n")
    return _files(folder)


def test_restore_is_byte_identical_and_needs_force(site, capsys):
    broken = _break_config(site["folder"])
    assert admin(_args(site, "--backup-file", site["set_id"])) == 2
    assert "--force" in capsys.readouterr().err
    assert _files(site["folder"]) == broken  # refused: untouched
    assert admin(_args(site, "--backup-file", "latest", "--target-server", "local", "--force")) == 0
    assert _files(site["folder"]) == site["original"]  # stray file gone, every byte as backed up
    elsewhere = site["folder"].parent / "elsewhere"
    assert admin(_args(site, "--target-server", str(elsewhere))) == 0  # an empty target needs no --force
    assert _files(elsewhere) == site["original"]


def test_tampered_backup_refused_before_writing(site, capsys):
    import hashlib

    digest = hashlib.sha256(site["original"][Path("rules/mapping.yaml")]).hexdigest()
    for store in site["stores"]:
        obj = store / "objects" / digest
        data = bytearray(obj.read_bytes())
        data[-5] ^= 0x01
        obj.write_bytes(bytes(data))
    broken = _break_config(site["folder"])
    assert admin(_args(site, "--force")) == 2
    assert "authentication failed" in capsys.readouterr().err
    assert _files(site["folder"]) == broken


def test_restart_services_restarts_the_process_of_a_pid_file(site, capsys):
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir()
    stand_in = [sys.executable, "-c", "import time; time.sleep(600)", "scheduler"]
    old = subprocess.Popen(stand_in, cwd=home, start_new_session=True)
    (home / "airflow-scheduler.pid").write_text(str(old.pid))
    new_pid = None
    try:
        assert admin(_args(site, "--force", "--restart-services")) == 0
        out = capsys.readouterr().out
        new_pid = int((home / "airflow-scheduler.pid").read_text())
        assert old.wait(timeout=10) == -signal.SIGTERM
        assert new_pid != old.pid and f"restarted airflow-scheduler: {old.pid} -> {new_pid}" in out
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the new process may still be between fork and exec
            cmdline = [a.decode() for a in Path(f"/proc/{new_pid}/cmdline").read_bytes().split(b"\0")[:-1]]
            if cmdline == stand_in:
                break
            time.sleep(0.05)
        assert cmdline == stand_in
        assert os.readlink(f"/proc/{new_pid}/cwd") == str(home)
        assert "no pid file" in out  # the other services are not running here
    finally:
        old.kill()
        if new_pid:
            os.kill(new_pid, signal.SIGKILL)
            time.sleep(0.1)
