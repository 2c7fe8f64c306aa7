"""Every corpus DbLib converted once; checked against the sources read independently.

- The parts tables: read straight from the .mdb files with mdb-export; every row and value must be
  in the written SQLite database.
- The links: which symbol/footprint a part can have is decided here from the Altium files
  themselves (the SchLib FileHeader's LibRefN, the PcbLib footprints' PATTERN), finding the files
  by a case-insensitive walk written for this test; every such part must point at a symbol in a
  written .kicad_sym and at footprint files in the written .pretty folders.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import olefile
import pytest

from converters.convert import start_run
from converters.run import ConversionRun

from .dblib_helpers import mdb_rows, mdb_tables

CORPUS = "corpus/ubc-thunderbots/libraries-v2.0"
pytestmark = pytest.mark.corpus


def _convert(shared: Path, out: Path) -> ConversionRun:
    run = start_run(out)
    for dblib in sorted((shared / CORPUS).glob("*.DbLib")):
        run.convert(dblib)
    run.finish()
    return run


@pytest.fixture(scope="module")
def converted(shared, tmp_path_factory):
    out = tmp_path_factory.mktemp("dblib_corpus") / "out"
    return _convert(shared, out), out


@pytest.fixture(scope="module")
def corpus_files(shared):
    """Lower-cased relative path -> real path, for every file under the corpus library folder."""
    root = shared / CORPUS
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            real = Path(folder) / name
            files[str(real.relative_to(root)).lower()] = real
    return files


def _find(files: dict[str, Path], raw: str | None) -> Path | None:
    if not raw:
        return None
    return files.get(raw.replace("\\", "/").lower())


def _schlib_symbols(path: Path) -> set[str]:
    with olefile.OleFileIO(str(path)) as ole:
        header = ole.openstream("FileHeader").read().decode("latin-1")
    return {m.lower() for m in re.findall(r"\|LibRef\d+=([^|\x00]*)", header)}


def _pcblib_footprints(path: Path) -> set[str]:
    names = set()
    with olefile.OleFileIO(str(path)) as ole:
        for entry in ole.listdir():
            if len(entry) == 2 and entry[1] == "Parameters":
                text = ole.openstream(entry).read().decode("latin-1")
                match = re.search(r"\|PATTERN=([^|\x00]*)", text)
                names.add((match.group(1) if match else entry[0]).lower())
    return names


def _kicad_symbols(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r'^\t?\s*\(symbol "((?:[^"\\]|\\.)*)"', text, re.MULTILINE))


def _dbl_tables(out: Path):
    for dbl_path in sorted((out / "database").glob("*.kicad_dbl")):
        dbl = json.loads(dbl_path.read_text(encoding="utf-8"))
        db = sqlite3.connect(dbl_path.with_suffix(".sqlite"))
        db.row_factory = sqlite3.Row
        for lib in dbl["libraries"]:
            rows = [dict(r) for r in db.execute(f'SELECT * FROM "{lib["table"]}" ORDER BY rowid')]
            yield dbl_path, lib, rows
        db.close()


def test_every_dblib_converts_with_all_rows(shared, converted):
    run, out = converted
    folder = shared / CORPUS
    seen = 0
    for dbl_path, lib, rows in _dbl_tables(out):
        dblib = next(p for p in folder.glob("*.DbLib") if p.stem == dbl_path.stem)
        mdb = next((folder / "database").glob(f"{dbl_path.stem.split('_')[0].lower()}_database.mdb"))
        expected = mdb_rows(mdb, mdb_tables(mdb)[0])
        assert len(rows) == len(expected) > 0, dblib.name
        for got, want in zip(rows, expected, strict=False):
            for column, value in want.items():
                assert got[column] == (value or None), (dblib.name, column)
        keys = [r[lib["key"]] for r in rows]
        assert len(set(keys)) == len(keys) and all(keys)
        part_rows = [r for r in run.report.items if r.kind == "part" and r.source == str(dblib)]
        assert len(part_rows) == len(rows)
        seen += 1
    assert seen == 7


def test_parts_with_existing_sources_resolve_to_written_items(converted, corpus_files):
    run, out = converted
    resolvable = unresolvable = 0
    symbol_cache: dict[Path, set[str]] = {}
    footprint_cache: dict[Path, set[str]] = {}
    for _, lib, rows in _dbl_tables(out):
        for row in rows:
            sym_file = _find(corpus_files, row.get("Library Path"))
            ref = (row.get("Library Ref") or "").lower()
            ok = (
                bool(sym_file) and ref in symbol_cache.setdefault(sym_file, _schlib_symbols(sym_file))
                if sym_file
                else False
            )
            wanted_footprints = []
            for n in ("", " 2", " 3"):
                fp_ref = row.get(f"Footprint Ref{n}")
                if not fp_ref:
                    continue
                fp_file = _find(corpus_files, row.get(f"Footprint Path{n}"))
                if fp_file is None or fp_ref.lower() not in footprint_cache.setdefault(
                    fp_file, _pcblib_footprints(fp_file)
                ):
                    ok = False
                wanted_footprints.append(fp_ref)
            if not ok:
                unresolvable += 1
                assert row["Conversion Status"] in ("failed", "warning") and row["Conversion Notes"]
                continue
            resolvable += 1
            assert row["Conversion Status"] in ("ok", "warning"), row
            nickname, item = row[lib["symbols"]].split(":", 1)
            sym_path = out / "symbols" / f"{nickname}.kicad_sym"
            assert item in _kicad_symbols(sym_path), (row[lib["key"]], sym_path)
            targets = row[lib["footprints"]].split(";") if row[lib["footprints"]] else []
            assert len(targets) == len(set(f.lower() for f in wanted_footprints))
            for target in targets:
                nickname, item = target.split(":", 1)
                mods = list((out / "footprints" / f"{nickname}.pretty").glob("*.kicad_mod"))
                names = {
                    re.search(r'\(footprint "((?:[^"\\]|\\.)*)"', m.read_text(encoding="utf-8")).group(1)
                    for m in mods
                }
                assert item in names, (row[lib["key"]], target)
    # 100 parts have every source item; the rest name files missing from the corpus
    # (RES_Default, CAP_Default, IND, ...) or footprints a library does not hold.
    assert (resolvable, unresolvable) == (100, 322)


def test_sym_lib_table_lists_each_database_library(converted):
    _, out = converted
    table = (out / "sym-lib-table").read_text(encoding="utf-8")
    for dbl_path in (out / "database").glob("*.kicad_dbl"):
        entry = re.search(
            rf'\(name "{re.escape(dbl_path.stem)}"\)\s*\(type "([^"]+)"\)\s*\(uri "([^"]+)"\)', table
        )
        assert entry and entry.group(1) == "Database" and Path(entry.group(2)) == dbl_path.resolve()


def test_report_rows_say_why(converted):
    run, _ = converted
    parts = [r for r in run.report.items if r.kind == "part"]
    assert len(parts) == 422
    for row in parts:
        if row.status.value != "ok":
            assert row.messages
    missing = [r for r in parts if any("RES_Default.Schlib" in m for m in r.messages)]
    assert missing and all(r.status.value == "failed" for r in missing)


def test_converting_twice_gives_identical_output(shared, converted, tmp_path):
    """The second conversion runs in another process with another hash seed than this one."""
    _, first = converted
    second = tmp_path / "again"
    env = os.environ | {"PYTHONHASHSEED": "4242", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    dblibs = [str(p) for p in sorted((shared / CORPUS).glob("*.DbLib"))]
    result = subprocess.run(
        [sys.executable, "-m", "converters", "convert", *dblibs, "-o", str(second), "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode in (0, 1), result.stderr
    compared = 0
    for path in sorted(first.rglob("*")):
        if path.is_dir() or path.name == "report.json":
            continue
        twin = second / path.relative_to(first)
        assert twin.exists(), twin
        if path.name.endswith("-lib-table"):  # library tables hold absolute paths of the output folder
            assert path.read_text().replace(str(first), "OUT") == twin.read_text().replace(str(second), "OUT")
        else:
            assert filecmp.cmp(path, twin, shallow=False), path.relative_to(first)
        compared += 1
    assert compared > 100
    one = json.loads((first / "report.json").read_text())
    two = json.loads((second / "report.json").read_text())
    one.pop("output"), two.pop("output")
    assert one == two
