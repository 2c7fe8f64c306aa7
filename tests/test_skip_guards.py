"""The skip guards skip only when a tool or server is absent; one that is there but errors fails.

A skipped test passes silently in CI, so a broken KiCad or a database that refuses CREATE DATABASE
must not look like a machine without them.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests import scratch_databases
from tests.conftest import require_kicad
from tests.scratch_databases import SERVERS, Server, scratch_database, server_absent


def _tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)


def test_absent_kicad_skips(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="KiCad tools not found"):
        require_kicad(tmp_path)


def test_kicad_that_fails_fails_the_test(tmp_path):
    _tool(tmp_path, "kicad-validate", "exit 0")
    _tool(tmp_path, "kicad-cli", "echo 'libkicad.so: cannot open' >&2; exit 127")
    with pytest.raises(pytest.fail.Exception, match=r"exited 127: .*libkicad\.so"):
        require_kicad(tmp_path)


def test_kicad_that_hangs_fails_the_test(tmp_path):
    _tool(tmp_path, "kicad-validate", "exit 0")
    _tool(tmp_path, "kicad-cli", "sleep 30")
    with pytest.raises(pytest.fail.Exception, match="does not run: .*timed out"):
        require_kicad(tmp_path, timeout=0.5)


def test_working_kicad_passes(tmp_path):
    _tool(tmp_path, "kicad-validate", "exit 0")
    _tool(tmp_path, "kicad-cli", "echo 9.0.0")
    assert require_kicad(tmp_path) == tmp_path / "kicad-validate"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_nobody_listens_for_is_absent(monkeypatch):
    port = _free_port()
    monkeypatch.setitem(
        SERVERS, "postgresql", Server(f"postgresql+psycopg2://postgres@127.0.0.1:{port}", "postgres", "", "")
    )
    assert f"127.0.0.1:{port}" in server_absent("postgresql")
    with pytest.raises(pytest.skip.Exception, match=f"no postgresql server at 127.0.0.1:{port}"):
        with scratch_database("postgresql"):
            pass


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_a_server_that_refuses_create_database_fails_the_test(monkeypatch, kind):
    """The real server, asked for a database it refuses to make: the error surfaces, no skip."""
    if server_absent(kind):
        pytest.skip(server_absent(kind))
    refused = {
        "postgresql": 'CREATE DATABASE "{name}" OWNER a2k_no_such_role',
        "mariadb": "CREATE DATABASE `{name}` CHARACTER SET a2k_no_such_charset",
    }[kind]
    server = SERVERS[kind]
    monkeypatch.setitem(
        SERVERS, kind, Server(server.url, server.admin_database, refused, server.drop, server.query)
    )
    from sqlalchemy.exc import DatabaseError

    with pytest.raises(DatabaseError, match="a2k_no_such"):
        with scratch_databases.scratch_database(kind):
            pass
