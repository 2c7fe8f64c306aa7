"""mdbtools that hang on a file are stopped with an error naming the file and table."""

from __future__ import annotations

import pytest

from converters.altium import parts_tables


@pytest.fixture
def hanging_mdbtools(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (("mdb-tables", "echo Parts"), ("mdb-export", "sleep 30")):
        script = bin_dir / tool
        script.write_text(f"#!/bin/sh\n{body}\n")  # stand-ins for mdbtools stuck on a corrupt file
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(parts_tables, "MDB_TIMEOUT", 1)
    return tmp_path / "Parts.mdb"


def test_hanging_mdb_export_is_stopped(hanging_mdbtools):
    source = parts_tables.AccessSource(hanging_mdbtools)
    assert source.table_names() == ["Parts"]
    with pytest.raises(
        parts_tables.TableError, match="mdb-export did not finish within 1 s on table 'Parts'"
    ):
        source.read_all("Parts")
