"""include/gate_frames.py: the rows the quality gates check, built from a real source inventory, a
real conversion and the written files, then tampered with to show each column tells the truth.

Fast: the project's sample library (SchLib, PcbLib, IntLib, DbLib over Excel) made by the fixture
writers, converted in-process. Expected numbers come from the fixture (sample_library.py), not
from the code under test.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from converters.convert import convert_paths
from converters.fixtures.dblib_writer import SAMPLE_PARTS, write_sample_dblib
from converters.fixtures.sample_library import sample_footprints, sample_symbols, write_sample_library
from include import gate_frames
from include.inventory import Inventory, InventoryItem, analyze
from include.library_facts import WrittenLibraries
from include.quality_gates import run_suite


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, Inventory, Path, list[dict]]:
    """(source folder, its inventory, the pristine output folder, report rows)."""
    root = tmp_path_factory.mktemp("frames")
    source = root / "src"
    write_sample_library(source)
    write_sample_dblib(source)
    inventory = analyze(source)
    out = root / "out"
    convert_paths([source], out)
    rows = json.loads((out / "report.json").read_text(encoding="utf-8"))["items"]
    return source, inventory, out, rows


@pytest.fixture
def run(converted, tmp_path) -> tuple[Inventory, Path, list[dict]]:
    """A copy of the output this test may damage."""
    _, inventory, out, rows = converted
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return inventory, copy, rows


def _by_item(rows: list[dict]) -> dict[str, dict]:
    return {r["item"]: r for r in rows}


def _drop_last_block(path: Path, head: str) -> None:
    """Removes the last top-level-in-its-parent `(head ...)` block of a KiCad file, by lines."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = max(i for i, line in enumerate(lines) if re.match(rf"^(\t+)\({head} ", line))
    indent = re.match(r"^\t+", lines[start]).group(0)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].rstrip("\n") == f"{indent})")
    path.write_text("".join(lines[:start] + lines[end + 1 :]), encoding="utf-8")


# --- source_parts -------------------------------------------------------------------------------


def test_source_parts_are_the_dblib_rows(converted):
    _, inventory, _, _ = converted
    rows = gate_frames.source_parts(inventory)
    expected = [(table, part[0], part[2]) for table, parts in SAMPLE_PARTS.items() for part in parts]
    assert [(r["table_key"].split("$/")[0], r["key"], r["symbol_ref"]) for r in rows] == expected
    assert rows[0]["item"] == "SampleParts.DbLib: Resistors/RC0603FR-0710KL"


def test_source_parts_without_key_or_symbol_are_null():
    inventory = Inventory("src")
    inventory.items.append(
        InventoryItem("P.DbLib", "T/row 1", "part", {"table": "T", "key": "", "symbol_ref": ""})
    )
    assert gate_frames.source_parts(inventory) == [
        {"item": "P.DbLib: T/row 1", "key": None, "table_key": None, "symbol_ref": None}
    ]
    assert not run_suite("source_parts", "full", gate_frames.source_parts(inventory)).success


# --- conversion_results ---------------------------------------------------------------------------


def test_conversion_results_keep_only_the_kinds_asked_and_name_failures(converted):
    _, _, _, rows = converted
    parts = gate_frames.conversion_results(rows, {"part"})
    assert len(parts) == sum(len(p) for p in SAMPLE_PARTS.values())
    failed = [r for r in parts if r["status"] == "failed"]
    assert (
        len(failed) == 1 and "LEGACY-CAP-1206 (symbol library not found: Legacy.SchLib" in failed[0]["item"]
    )
    assert failed[0]["target"] == "SampleParts:Capacitors/LEGACY-CAP-1206"
    symbols = gate_frames.conversion_results(rows, {"symbol"})
    assert {r["kind"] for r in symbols} == {"symbol"} and len(symbols) == 2 * len(sample_symbols())


# --- symbols ---------------------------------------------------------------------------------------


def test_symbols_frame_counts_pins_of_the_written_file_against_the_source(run):
    inventory, out, rows = run
    frame = _by_item(gate_frames.symbols(inventory, rows, WrittenLibraries.find([out])))
    expected = {f"Sample:{s.name}": len({(p.designator, p.part) for p in s.pins}) for s in sample_symbols()}
    assert {k: v["pins_written"] for k, v in frame.items() if k.startswith("Sample:")} == expected
    assert all(v["pins_source"] == expected[k] for k, v in frame.items() if k.startswith("Sample:"))
    assert frame["Sample:NAND2"]["pins_read"] == 10  # two body styles: 5 pins read twice

    _drop_last_block(out / "symbols" / "Sample.kicad_sym", "pin")  # the last pin of the last symbol
    frame = _by_item(gate_frames.symbols(inventory, rows, WrittenLibraries.find([out])))
    last = f"Sample:{sample_symbols()[-1].name}"
    assert frame[last]["pins_written"] == expected[last] - 1 and frame[last]["pins_source"] == expected[last]
    outcome = run_suite("symbols", "basic", list(frame.values()))
    assert not outcome.success and f"{last} ({expected[last] - 1} vs {expected[last]})" in outcome.message()


def test_symbols_frame_source_counts_come_from_the_inventory(run):
    inventory, out, rows = run
    facts = next(i for i in inventory.items if i.kind == "symbol" and i.item == "RES")
    facts.facts = facts.facts | {"pins": 7, "pins_read": 6, "pin_records": 5}
    row = _by_item(gate_frames.symbols(inventory, rows, WrittenLibraries.find([out])))["Sample:RES"]
    assert (row["pins_written"], row["pins_source"], row["pins_read"], row["pin_records"]) == (2, 7, 6, 5)


def test_symbols_frame_names_unwritten_and_unreadable(run):
    inventory, out, rows = run
    rows = rows + [
        {
            "source": "x",
            "item": "GHOST",
            "kind": "symbol",
            "status": "ok",
            "target": "Sample:GHOST",
            "messages": [],
        },
        {
            "source": "x",
            "item": "LOST",
            "kind": "symbol",
            "status": "failed",
            "target": "",
            "messages": ["bad"],
        },
    ]
    (out / "symbols" / "Broken.kicad_sym").write_text("(kicad_symbol_lib (symbol", encoding="utf-8")
    frame = _by_item(gate_frames.symbols(inventory, rows, WrittenLibraries.find([out])))
    assert frame["Sample:GHOST"]["written"] is None and frame["Sample:GHOST"]["pins_written"] == -1
    assert "LOST" not in frame  # failed items are the conversion_results gate's business
    assert frame["Broken.kicad_sym"]["written"] is None
    assert frame["Sample:MCU_32"]["off_grid_pins"].startswith("32 at (")
    outcome = run_suite("symbols", "basic", list(frame.values()))
    failed = {i.split(" (")[0] for e in outcome.failures() for i in e.failed_items}
    assert {"Sample:GHOST", "Broken.kicad_sym"} <= failed


# --- footprints ------------------------------------------------------------------------------------


def _pads(name: str) -> int:
    return next(
        len([p for p in f.primitives if type(p).__name__ == "Pad"])
        for f in sample_footprints()
        if f.name == name
    )


def test_footprints_frame_counts_pads_of_the_written_file_against_the_source(run):
    inventory, out, rows = run
    frame, facts = gate_frames.footprints(inventory, rows, WrittenLibraries.find([out]))
    by_item = _by_item(frame)
    for footprint in sample_footprints():
        row = by_item[f"Sample:{footprint.name}"]
        assert (row["pads_written"], row["pads_source"]) == (_pads(footprint.name),) * 2, row
        assert row["courtyard"] is True
    assert len(facts) == 2 * len(sample_footprints())

    _drop_last_block(out / "footprints" / "Sample.pretty" / "SOIC-8.kicad_mod", "pad")
    frame, _ = gate_frames.footprints(inventory, rows, WrittenLibraries.find([out]))
    row = _by_item(frame)["Sample:SOIC-8"]
    assert (row["pads_written"], row["pads_source"]) == (7, 8)
    outcome = run_suite("footprints", "basic", frame)
    assert not outcome.success and "Sample:SOIC-8 (7 vs 8)" in outcome.message()


def test_footprints_frame_pad_count_of_the_source_is_the_inventory_s(run):
    """The planted bug 'pad count compared with itself' makes pads_source follow the written file."""
    inventory, out, rows = run
    item = next(i for i in inventory.items if i.kind == "footprint" and i.item == "DIP-8")
    item.facts = item.facts | {"pads": 10}
    frame, _ = gate_frames.footprints(inventory, rows, WrittenLibraries.find([out]))
    assert _by_item(frame)["Sample:DIP-8"]["pads_source"] == 10
    outcome = run_suite("footprints", "basic", frame)
    assert not outcome.success and "Sample:DIP-8 (9 vs 10)" in outcome.message()


def test_footprints_frame_names_unreadable_files_and_missing_courtyards(run):
    inventory, out, rows = run
    (out / "footprints" / "Sample.pretty" / "Broken.kicad_mod").write_text("(footprint", encoding="utf-8")
    path = out / "footprints" / "Sample.pretty" / "R0603.kicad_mod"
    path.write_text(path.read_text(encoding="utf-8").replace('"F.CrtYd"', '"F.Fab"'), encoding="utf-8")
    frame, _ = gate_frames.footprints(inventory, rows, WrittenLibraries.find([out]))
    broken = [r for r in frame if r["item"].endswith("Broken.kicad_mod")]
    assert broken and broken[0]["written"] is None and broken[0]["pads_written"] == -1
    assert _by_item(frame)["Sample:R0603"]["courtyard"] is False
    assert not run_suite("footprints", "strict", frame).success


# --- models ----------------------------------------------------------------------------------------


def test_models_frame_checks_the_file_is_there_and_is_step(run):
    _, out, _ = run
    written = WrittenLibraries.find([out])
    _, facts = gate_frames.footprints(Inventory("src"), [], written)
    rows = gate_frames.models(facts, written)
    assert [(r["exists"], r["step_header"]) for r in rows] == [(True, True), (True, True)]
    model = out / "3dmodels" / "Sample.3dshapes" / "LED0805.step"
    model.write_bytes(b"solid not a step file\n")
    assert [r["step_header"] for r in gate_frames.models(facts, WrittenLibraries.find([out]))] == [
        False,
        True,
    ]
    model.unlink()
    rows = gate_frames.models(facts, WrittenLibraries.find([out]))
    assert [(r["exists"], r["step_header"]) for r in rows] == [(False, False), (True, True)]
    outcome = run_suite("models", "full", rows)
    assert (
        not outcome.success
        and "Sample:LED0805 -> ${ALTIUM2KICAD_3DMODELS}/Sample.3dshapes" in outcome.message()
    )


# --- database references ---------------------------------------------------------------------------


def test_database_references_resolve_until_a_footprint_goes(run):
    _, out, _ = run
    rows = gate_frames.database_references(WrittenLibraries.find([out]))
    linked = [
        part for parts in SAMPLE_PARTS.values() for part in parts if part[1].casefold() == "sample.schlib"
    ]
    assert len(rows) == sum(1 + bool(p[4]) + bool(p[6]) for p in linked) and all(r["resolves"] for r in rows)
    (out / "footprints" / "Sample.pretty" / "R0805.kicad_mod").unlink()
    rows = gate_frames.database_references(WrittenLibraries.find([out]))
    assert sorted(r["item"] for r in rows if not r["resolves"]) == [
        "SampleParts/Resistors/RC0603FR-0710KL: Sample:R0805",
        "SampleParts/Resistors/RC0805FR-071KL: Sample:R0805",
    ]
    assert not run_suite("database_library", "full", rows).success


def test_database_references_without_the_parts_database(run):
    _, out, _ = run
    (out / "database" / "SampleParts.sqlite").unlink()
    rows = gate_frames.database_references(WrittenLibraries.find([out]))
    assert rows == [{"item": "SampleParts.kicad_dbl: parts database SampleParts.sqlite", "resolves": False}]


def test_footprints_frame_expects_the_pads_made_of_copper_shapes(tmp_path):
    """A copper fill (an exposed pad drawn as a fill, as QFNs often are) becomes a KiCad pad: the
    gate counts it beyond the source's own pads instead of failing a faithful conversion."""
    from converters.fixtures import pcblib_writer as pcb

    source = tmp_path / "src"
    source.mkdir()
    qfn = pcb.Footprint(
        "QFN-2-EP",
        "two pads and an exposed pad drawn as a copper fill",
        primitives=[
            pcb.Pad("1", -60, 0, 20, 40),
            pcb.Pad("2", 60, 0, 20, 40),
            pcb.Fill(-30, -30, 30, 30),
        ],
    )
    pcb.write_pcblib(source / "Shapes.PcbLib", [qfn])
    inventory = analyze(source)
    out = tmp_path / "out"
    convert_paths([source], out)
    rows = json.loads((out / "report.json").read_text(encoding="utf-8"))["items"]
    frame, _ = gate_frames.footprints(inventory, rows, WrittenLibraries.find([out]))
    row = _by_item(frame)["Shapes:QFN-2-EP"]
    assert (row["pads_written"], row["pads_source"]) == (3, 3), row
    assert run_suite("footprints", "basic", frame).success
