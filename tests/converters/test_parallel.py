"""Libraries converted in parallel: the same bytes and the same report, in the same order, as one
job; nicknames follow the input order; a library a DbLib uses and the command lists is converted
once."""

from __future__ import annotations

import shutil
from pathlib import Path

from converters.cache import CACHE_FOLDER_NAME
from converters.convert import convert_paths
from converters.fixtures.dblib_writer import write_sample_dblib
from converters.fixtures.pcblib_writer import write_pcblib
from converters.fixtures.sample_library import sample_footprints, sample_symbols, write_sample_library
from converters.fixtures.schlib_writer import write_schlib


def output_files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and CACHE_FOLDER_NAME not in p.parts
    }


def collection(folder: Path) -> list[Path]:
    """The sample library and DbLib, plus same-named libraries in sub-folders (nickname clashes)."""
    write_sample_library(folder)
    write_sample_dblib(folder)
    for n in range(3):
        sub = folder / f"more{n}"
        sub.mkdir(parents=True)
        write_schlib(sub / "Sample.SchLib", sample_symbols()[n : n + 3])
        write_pcblib(sub / "Sample.PcbLib", sample_footprints()[n : n + 4])
    return sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in (".schlib", ".pcblib", ".intlib", ".dblib")
    )


def test_two_jobs_write_what_one_job_writes_in_the_same_order(tmp_path):
    files = collection(tmp_path / "src")
    # the DbLib (listed first) uses Sample.SchLib/PcbLib, which are also listed after it
    files.sort(key=lambda p: p.suffix.lower() != ".dblib")
    out = tmp_path / "out"
    one = convert_paths(files, out, jobs=1)
    serial = output_files(out)
    shutil.rmtree(out)
    two = convert_paths(files, out, jobs=2)
    assert output_files(out) == serial
    assert [r.to_json() for r in two.items] == [r.to_json() for r in one.items]
    shutil.rmtree(out)
    cached = convert_paths(files, out, jobs=2, cache=out / CACHE_FOLDER_NAME)
    again = convert_paths(files, out, jobs=2, cache=out / CACHE_FOLDER_NAME)
    assert output_files(out) == serial
    assert (
        [r.to_json() for r in again.items]
        == [r.to_json() for r in cached.items]
        == [r.to_json() for r in one.items]
    )


def test_nicknames_follow_the_input_order_and_shared_libraries_convert_once(tmp_path):
    src = tmp_path / "src"
    files = collection(src)
    files.sort(key=lambda p: p.suffix.lower() != ".dblib")  # the DbLib first: it uses Sample.*
    report = convert_paths(files, tmp_path / "out", jobs=2)

    def nicknames(kind: str, extension: str) -> list[str]:
        found = []
        for path in (f for f in files if f.suffix == extension):
            rows = [r for r in report.items if r.kind == kind and r.source == str(path)]
            found.append(rows[0].target.split(":")[0])
        return found

    assert nicknames("symbol", ".SchLib") == ["Sample", "Sample_2", "Sample_3", "Sample_4"]
    assert nicknames("footprint", ".PcbLib") == ["Sample", "Sample_2", "Sample_3", "Sample_4"]
    rows = [r for r in report.items if r.kind == "symbol" and r.source == str(src / "Sample.SchLib")]
    assert len(rows) == len({r.item for r in rows}) > 0  # converted once, though listed and used
    parts = [r for r in report.items if r.kind == "part" and r.status.value == "ok"]
    assert parts and all(r.source == str(src / "SampleParts.DbLib") for r in parts)


def test_a_library_whose_conversion_raises_costs_only_itself_in_a_worker_too(tmp_path, monkeypatch):
    files = collection(tmp_path / "src")
    import converters.symbols_job as symbols_job

    real = symbols_job.write_symbol_library

    def planted_bug(run, library, source, stem, footprint_lookup=None):
        if source.parent.name == "more1":
            raise RuntimeError("planted bug")
        return real(run, library, source, stem, footprint_lookup)

    monkeypatch.setattr(symbols_job, "write_symbol_library", planted_bug)  # forked workers inherit it
    reports = []
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        reports.append(
            [r.to_json() for r in convert_paths(files, out, jobs=jobs, cache=out / CACHE_FOLDER_NAME).items]
        )
        assert not (out / ".altium2kicad-work").exists()  # staging folders are gone
    assert reports[0] == reports[1]
    failed = [r for r in reports[0] if r["status"] == "failed" and "planted bug" in " ".join(r["messages"])]
    assert [r["source"] for r in failed] == [str(tmp_path / "src" / "more1" / "Sample.SchLib")]
    assert "could not be converted: RuntimeError: planted bug" in failed[0]["messages"][0]
    assert any(r["kind"] == "symbol" and "more2" in r["source"] for r in reports[0])


def test_a_worker_that_dies_costs_nothing(tmp_path, monkeypatch):
    import os

    files = collection(tmp_path / "src")
    serial = tmp_path / "serial"
    rows = [r.to_json() for r in convert_paths(files, serial, jobs=1).items]
    import converters.symbols_job as symbols_job

    real, main_process = symbols_job.write_symbol_library, os.getpid()

    def killed_in_a_worker(run, library, source, stem, footprint_lookup=None):
        if os.getpid() != main_process and source.parent.name == "more0":
            os._exit(9)  # as if the kernel killed the worker (out of memory)
        return real(run, library, source, stem, footprint_lookup)

    monkeypatch.setattr(symbols_job, "write_symbol_library", killed_in_a_worker)
    out = tmp_path / "out"
    report = convert_paths(files, out, jobs=2)
    assert [r.to_json() for r in report.items] == rows

    def libraries(folder: Path) -> dict[str, bytes]:
        return {k: v for k, v in output_files(folder).items() if "/" in k}  # not the tables naming `folder`

    assert libraries(out) == libraries(serial)
