"""The same input gives the same bytes in another process: fixtures and conversion output alike.

Twice in one process proves little (set and dict orders repeat within a process); here each run is
a fresh interpreter with a different PYTHONHASHSEED, so an order that follows string hashes (a set
iterated into a file, a hash-keyed name) shows up as a byte difference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# Writes the sample library and its DbLib, then converts the folder: one whole run in one process.
RUN = """
import sys
from pathlib import Path
from converters.cli import main
from converters.fixtures.dblib_writer import write_sample_dblib
from converters.fixtures.sample_library import write_sample_library

root = Path(sys.argv[1])
write_sample_library(root / "src")
write_sample_dblib(root / "src")
sys.exit(main(["convert", str(root / "src"), "-o", str(root / "out"), "-q"]))
"""


def _run(root: Path, hash_seed: str) -> dict[str, bytes]:
    """Every file the run wrote (sources and output), by path below `root`; `root` is emptied after."""
    env = os.environ | {"PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", RUN, str(root)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stderr  # the sample DbLib has one part whose library is gone
    # the conversion cache is internal state keyed on source bytes (the .xlsx differs, see below)
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".altium2kicad-cache" not in p.parts
    }
    shutil.rmtree(root)
    return files


def test_two_processes_with_different_hash_seeds_write_the_same_bytes(tmp_path):
    root = tmp_path / "run"  # the same folder both times: library tables and the report hold its path
    first = _run(root, "1")
    second = _run(root, "4242")
    assert sorted(first) == sorted(second)
    kinds = {Path(name).suffix for name in first}
    assert {
        ".SchLib",
        ".PcbLib",
        ".IntLib",
        ".DbLib",
        ".kicad_sym",
        ".kicad_mod",
        ".step",
        ".sqlite",
    } <= kinds
    assert "out/report.json" in first
    differ = [name for name in first if first[name] != second[name]]
    assert differ == ["src/SampleParts.xlsx"]  # an .xlsx is a zip stamped with its save time ...
    assert _cells(first["src/SampleParts.xlsx"]) == _cells(second["src/SampleParts.xlsx"])  # ... same cells


def _cells(xlsx: bytes) -> dict[str, list[tuple]]:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}
