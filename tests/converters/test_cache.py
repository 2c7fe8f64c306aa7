"""The conversion cache: a cached re-run writes exactly what a clean run writes, reads no unchanged
library, rewrites no unchanged file, notices a changed one and survives a damaged cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from converters.cache import CACHE_FOLDER_NAME
from converters.cli import main
from converters.convert import convert_paths
from converters.fixtures.dblib_writer import write_sample_dblib
from converters.fixtures.sample_library import sample_symbols, write_sample_library
from converters.fixtures.schlib_writer import write_schlib


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    write_sample_library(folder)
    write_sample_dblib(folder)
    return folder


def output_files(out: Path) -> dict[str, bytes]:
    """Every output file and its bytes (the cache folder is not output)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and CACHE_FOLDER_NAME not in p.parts
    }


def mtimes(out: Path) -> dict[str, int]:
    return {
        p.relative_to(out).as_posix(): p.stat().st_mtime_ns
        for p in out.rglob("*")
        if p.is_file() and CACHE_FOLDER_NAME not in p.parts
    }


def clean_run(source: Path, out: Path) -> dict[str, bytes]:
    """What a run without any cache writes into `out` (then `out` is removed again)."""
    convert_paths([source], out)
    files = output_files(out)
    shutil.rmtree(out)
    return files


def cached_run(source: Path, out: Path):
    return convert_paths([source], out, cache=out / CACHE_FOLDER_NAME)


def test_cached_reruns_and_a_run_after_deleting_the_cache_are_byte_identical_to_a_clean_run(source, tmp_path):
    out = tmp_path / "out"
    clean = clean_run(source, out)
    assert any(name.endswith(".sqlite") for name in clean) and any(".pretty/" in n for n in clean)
    first = cached_run(source, out)
    assert output_files(out) == clean
    second = cached_run(source, out)
    assert output_files(out) == clean
    assert [r.to_json() for r in second.items] == [r.to_json() for r in first.items]
    shutil.rmtree(out / CACHE_FOLDER_NAME)
    cached_run(source, out)
    assert output_files(out) == clean


def test_an_unchanged_rerun_reads_no_library_and_rewrites_no_file(source, tmp_path, monkeypatch):
    out = tmp_path / "out"
    cached_run(source, out)
    before = mtimes(out)

    def must_not_read(*args, **kwargs):
        raise AssertionError("an unchanged library was read again")

    import converters.altium.pcblib as pcblib
    import converters.altium.schlib as schlib
    import converters.kicad.parts_database as parts_database

    for module, name in [
        (schlib, "read_schlib"),
        (schlib, "read_schlib_data"),
        (pcblib, "read_pcblib"),
        (pcblib, "read_pcblib_data"),
        (parts_database, "write_sqlite_file"),
    ]:
        monkeypatch.setattr(module, name, must_not_read)
    import converters.dblib_job as dblib_job

    monkeypatch.setattr(dblib_job, "read_dblib", must_not_read)
    monkeypatch.setattr(dblib_job, "open_parts_source", must_not_read)  # the parts table is not read
    report = cached_run(source, out)
    assert report.counts()["failed"] == 1  # the sample's part whose library is missing, as before
    after = mtimes(out)
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert changed == ["report.json"]  # library files, lib tables and the parts table untouched


def test_a_changed_library_is_converted_again_and_only_it(source, tmp_path, monkeypatch):
    out = tmp_path / "out"
    cached_run(source, out)
    symbols = sample_symbols()[:2]
    symbols[0].name = "CHANGED"
    write_schlib(source / "Sample.SchLib", symbols)
    before = mtimes(out)
    report = cached_run(source, out)
    text = (out / "symbols" / "Sample.kicad_sym").read_text(encoding="utf-8")
    assert '(symbol "CHANGED"' in text
    after = mtimes(out)
    footprint = "footprints/Sample.pretty/C0603.kicad_mod"
    assert after[footprint] == before[footprint]  # the unchanged PcbLib was not rewritten
    assert after["symbols/Sample.kicad_sym"] != before["symbols/Sample.kicad_sym"]
    assert any(r.item == "CHANGED" for r in report.items)
    cached = output_files(out)
    shutil.move(out, tmp_path / "cached")
    assert clean_run(source, out) == cached


def test_a_damaged_cache_is_noticed_and_rebuilt(source, tmp_path):
    out = tmp_path / "out"
    clean = clean_run(source, out)
    cached_run(source, out)
    cache = out / CACHE_FOLDER_NAME
    entries = sorted((cache / "entries").rglob("*.json"))
    blobs = sorted(p for p in (cache / "blobs").rglob("*") if p.is_file())
    entries[0].write_bytes(entries[0].read_bytes()[:50])  # a partial manifest
    for blob in blobs[::2]:
        blob.write_bytes(b"x" * blob.stat().st_size)  # same size, wrong bytes
    shutil.rmtree(out / "symbols")
    shutil.rmtree(out / "footprints")
    (out / "database" / "SampleParts.sqlite").unlink()
    cached_run(source, out)
    assert output_files(out) == clean
    cached_run(source, out)
    assert output_files(out) == clean


def test_edited_output_files_are_restored(source, tmp_path):
    out = tmp_path / "out"
    clean = clean_run(source, out)
    cached_run(source, out)
    (out / "symbols" / "Sample.kicad_sym").write_text("edited", encoding="utf-8")
    (out / "footprints" / "Sample.pretty" / "stale.kicad_mod").write_text("(footprint)", encoding="utf-8")
    cached_run(source, out)
    assert output_files(out) == clean


def test_options_are_part_of_the_key(source, tmp_path):
    out = tmp_path / "out"
    convert_paths([source], out)
    convert_paths([source], tmp_path / "out8", cache=out / CACHE_FOLDER_NAME)
    from converters.run import ConvertOptions

    v8 = convert_paths(
        [source], tmp_path / "v8", ConvertOptions(kicad_version=8), cache=out / CACHE_FOLDER_NAME
    )
    text = (tmp_path / "v8" / "symbols" / "Sample.kicad_sym").read_text(encoding="utf-8")
    assert "(version 20231120)" in text and v8.counts()["ok"] > 0


def test_cli_cache_options(source, tmp_path):
    out = tmp_path / "out"
    assert main(["convert", str(source), "-o", str(out), "-q", "--no-cache"]) == 1
    assert not (out / CACHE_FOLDER_NAME).exists()
    elsewhere = tmp_path / "elsewhere"
    assert main(["convert", str(source), "-o", str(out), "-q", "--cache", str(elsewhere), "-j", "1"]) == 1
    assert (elsewhere / "entries").is_dir() and not (out / CACHE_FOLDER_NAME).exists()
    assert main(["convert", str(source), "-o", str(out), "-q"]) == 1
    assert (out / CACHE_FOLDER_NAME / "entries").is_dir()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["counts"]["failed"] == 1
    assert main(["convert", str(source), "-o", str(out), "-q", "--jobs", "0"]) == 2


def test_a_changed_parts_table_or_part_library_rebuilds_the_database(source, tmp_path, monkeypatch):
    import openpyxl

    out = tmp_path / "out"
    cached_run(source, out)
    book = openpyxl.load_workbook(source / "SampleParts.xlsx")
    sheet = book["Capacitors"]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == "CL10B104KB8NNNC":
            row[7].value = "99n"  # the Value column
    book.save(source / "SampleParts.xlsx")
    cached_run(source, out)
    cached = output_files(out)
    assert b"99n" in cached["database/SampleParts.sqlite"]
    shutil.move(out, tmp_path / "cached")
    assert clean_run(source, out) == cached

    cached_run(source, out)
    symbols = [s for s in sample_symbols() if s.name != "CAP"]  # a symbol the parts use is gone
    write_schlib(source / "Sample.SchLib", symbols)
    report = cached_run(source, out)
    failed = [r for r in report.items if r.kind == "part" and r.status.value == "failed"]
    assert any("CAP" in " ".join(r.messages) for r in failed)
    cached = output_files(out)
    shutil.move(out, tmp_path / "cached2")
    assert clean_run(source, out) == cached


@pytest.mark.corpus
@pytest.mark.slow
def test_corpus_collection_with_dblibs_cached_and_parallel_is_byte_identical(shared, tmp_path):
    """Real DbLibs over Access with the 170 libraries their parts use: a clean serial run, then
    two jobs with a cache, a re-run, and a run after deleting the cache write the same bytes."""
    collection = shared / "corpus" / "ubc-thunderbots"
    out = tmp_path / "out"
    convert_paths([collection], out, jobs=1)
    clean = output_files(out)
    clean_rows = json.loads((out / "report.json").read_text(encoding="utf-8"))["items"]
    shutil.rmtree(out)
    assert sum(name.endswith(".sqlite") for name in clean) >= 5
    for attempt in ("cold", "unchanged", "cache deleted"):
        if attempt == "cache deleted":
            shutil.rmtree(out / CACHE_FOLDER_NAME)
        report = convert_paths([collection], out, jobs=2, cache=out / CACHE_FOLDER_NAME)
        assert output_files(out) == clean, attempt
        assert [r.to_json() for r in report.items] == clean_rows, attempt
