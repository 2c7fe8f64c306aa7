"""Damaged libraries never vanish silently (issue 8, section 4): a file that yields fewer items than
its own header or directory says, or none, is a row in report.json naming the file, and the exit
code says so. Inputs are the project's own fixtures, damaged here."""

from __future__ import annotations

import json

from converters.altium.pcblib import read_pcblib
from converters.cli import main
from converters.fixtures import broken
from converters.fixtures.sample_library import sample_footprints, write_sample_library


def _rows(out):
    return json.loads((out / "report.json").read_text())["items"]


def test_footprints_listed_but_lost_are_reported(tmp_path):
    library = read_pcblib(broken.pcblib_lost_storages(tmp_path))
    names = [f.name for f in sample_footprints()]
    assert len(library.footprints) == len(names) - 3
    assert [f.name for f in library.failures] == [names[2]]
    assert "no Data stream" in library.failures[0].reason
    [warning] = library.warnings
    assert f"lists {len(names)} footprint(s), the file holds {len(names) - 2}" in warning
    assert f"'{names[0]}'" in warning and f"'{names[1]}'" in warning


def test_a_library_that_yields_nothing_is_a_failed_row_and_a_failing_exit(tmp_path, capsys):
    """The issue's `convert ARCS_TEST-truncated.PcbLib`: once "no items" and exit 0."""
    damaged = broken.pcblib_empty_directory(tmp_path)
    out = tmp_path / "out"
    assert main(["convert", str(damaged), "-o", str(out), "-q"]) == 2  # nothing could be read
    [row] = _rows(out)
    assert row["status"] == "failed" and row["source"] == str(damaged) and row["kind"] == "library"
    assert "no footprint could be read" in row["messages"][0] and str(damaged) in row["messages"][0]
    assert "FAILED" in capsys.readouterr().err


def test_a_partly_lost_library_beside_good_ones_exits_1(tmp_path):
    good = write_sample_library(tmp_path / "good")
    damaged = broken.pcblib_lost_storages(tmp_path)
    out = tmp_path / "out"
    assert main(["convert", str(good[1]), str(damaged), "-o", str(out), "-q"]) == 1
    rows = [r for r in _rows(out) if r["source"] == str(damaged)]
    failed = [r for r in rows if r["status"] == "failed"]
    warned = [r for r in rows if r["kind"] == "library" and r["status"] == "warning"]
    assert [r["item"] for r in failed] == [sample_footprints()[2].name]
    assert len(warned) == 1 and "2 not in the library" in warned[0]["messages"][0]


def test_damaged_copies_of_the_sample_are_each_named(tmp_path):
    """Copies of the sample SchLib and PcbLib with a run of zeros at every twentieth of the file, or
    cut short: each copy that yields fewer items than the intact file has a failed or warning row
    of its own (zeros over the directory once gave a PcbLib of no footprints and no message)."""
    intact = [p for p in write_sample_library(tmp_path / "intact") if p.suffix in (".SchLib", ".PcbLib")]
    copies = tmp_path / "damaged"
    copies.mkdir()
    made = {}
    for source in intact:
        data = source.read_bytes()
        for step in range(20):
            for kind, damaged in (
                ("zeroed", broken.zeroed(data, step / 20, 0.1)),
                ("truncated", broken.truncated(data, 0.5 + step / 40)),
            ):
                copy = copies / f"{source.stem}-{kind}{step}{source.suffix}"
                copy.write_bytes(damaged)
                made[copy] = source
    main(["convert", str(tmp_path / "intact"), "-o", str(tmp_path / "out_intact"), "-q"])
    main(["convert", str(copies), "-o", str(tmp_path / "out"), "-q"])
    items_of = _item_counter(_rows(tmp_path / "out_intact"))
    rows = _rows(tmp_path / "out")
    damaged_items = _item_counter(rows)
    fewer = [copy for copy, source in made.items() if damaged_items(copy) < items_of(source)]
    assert fewer, "the damage should cost items somewhere"
    unnamed = [copy.name for copy in fewer if not _named(rows, copy)]
    assert unnamed == []


def _item_counter(rows):
    def count(path):
        return sum(
            1
            for r in rows
            if r["source"] == str(path) and r["kind"] in ("symbol", "footprint") and r["status"] != "failed"
        )

    return count


def _named(rows, path) -> bool:
    """A row of its own says something went wrong with the file (a failed item or a library row)."""
    return any(
        r["source"] == str(path)
        and (r["status"] == "failed" or (r["kind"] == "library" and r["status"] == "warning"))
        for r in rows
    )
