"""The command line's contract: exit codes, report.json, clear errors naming the file."""

import json
import subprocess
import sys

import pytest

from converters.cli import main


def test_usage_error_exits_2(capsys):
    assert main(["convert"]) == 2
    assert main(["frobnicate"]) == 2


def test_missing_path_exits_2_and_names_it(tmp_path, capsys):
    missing = tmp_path / "nope.SchLib"
    assert main(["convert", str(missing), "-o", str(tmp_path / "out")]) == 2
    assert str(missing) in capsys.readouterr().err


def test_folder_without_libraries_exits_2(tmp_path, capsys):
    (tmp_path / "readme.txt").write_text("not a library")
    assert main(["convert", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    assert "no Altium library" in capsys.readouterr().err


def test_not_a_compound_file_is_a_failed_row_naming_the_file(tmp_path, capsys):
    bogus = tmp_path / "Bogus.SchLib"
    bogus.write_bytes(b"this is plain text, not an OLE compound file")
    out = tmp_path / "out"
    assert main(["convert", str(bogus), "-o", str(out), "-q"]) == 2
    report = json.loads((out / "report.json").read_text())
    [row] = report["items"]
    assert row["status"] == "failed" and row["source"] == str(bogus)
    assert "Bogus.SchLib" in " ".join(row["messages"])
    assert "Traceback" not in capsys.readouterr().err


def test_extensions_match_in_any_case_and_folders_recurse(tmp_path):
    from converters.library_files import find_libraries

    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/x.SCHLIB", "a/b/y.pcblib", "a/b/z.IntLib", "a/w.DbLib", "a/notes.txt"):
        (tmp_path / name).write_bytes(b"")
    found = sorted(p.name for p in find_libraries([tmp_path]))
    assert found == ["w.DbLib", "x.SCHLIB", "y.pcblib", "z.IntLib"]


def test_installed_command_runs():
    done = subprocess.run([sys.executable, "-m", "converters", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "altium2kicad" in done.stdout


@pytest.mark.kicad
@pytest.mark.parametrize(
    "version, symbol_format, footprint_format", [("8", 20231120, 20240108), ("9", 20241209, 20241229)]
)
def test_both_kicad_versions_load_in_kicad(
    tmp_path, kicad_validate, version, symbol_format, footprint_format
):
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(tmp_path / "src")
    out = tmp_path / "out"
    assert main(["convert", str(tmp_path / "src"), "-o", str(out), "-q", "--kicad-version", version]) == 0
    symbols = sorted((out / "symbols").glob("*.kicad_sym"))
    footprints = sorted((out / "footprints").glob("*.pretty"))
    assert symbols and footprints
    assert f"(version {symbol_format})" in symbols[0].read_text(encoding="utf-8")
    assert f"(version {footprint_format})" in next(footprints[0].glob("*.kicad_mod")).read_text(
        encoding="utf-8"
    )
    done = subprocess.run(
        [str(kicad_validate), *map(str, symbols + footprints)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("OK ") == len(symbols) + len(footprints)


def test_rerun_into_the_same_folder_leaves_no_stale_footprints(tmp_path):
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(tmp_path / "src")
    out = tmp_path / "out"
    pretty = out / "footprints" / "Sample.pretty"
    assert main(["convert", str(tmp_path / "src" / "Sample.PcbLib"), "-o", str(out), "-q"]) == 0
    first = sorted(p.name for p in pretty.iterdir())
    (pretty / "Renamed-in-the-source.kicad_mod").write_text('(footprint "Renamed-in-the-source")')
    (out / "3dmodels" / "Sample.3dshapes" / "old.step").write_text("ISO-10303-21;")
    assert main(["convert", str(tmp_path / "src" / "Sample.PcbLib"), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in pretty.iterdir()) == first
    assert [p.name for p in (out / "3dmodels" / "Sample.3dshapes").iterdir()] == ["LED0805.step"]
