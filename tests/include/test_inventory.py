"""The inventory file: everything but the parts in inventory.json, the parts beside it, read only
by the tasks that look at them."""

from __future__ import annotations

import pytest

from include.inventory import Inventory, InventoryItem, PartsNotLoaded, parts_path


def _inventory() -> Inventory:
    inv = Inventory(
        "src/Parts.DbLib", units=["src/Parts.DbLib"], libraries=["src/Parts.DbLib", "src/A.SchLib"]
    )
    inv.items = [
        InventoryItem("src/A.SchLib", "A.SchLib", "library", {"type": "symbols", "items": 1}),
        InventoryItem("src/A.SchLib", "RES", "symbol", {"pins": 2}),
        InventoryItem("src/Parts.DbLib", "Res/R1", "part", {"table": "Res", "key": "R1", "row": 1}),
        InventoryItem("src/Parts.DbLib", "Res/R1 (row 2)", "part", {"table": "Res", "key": "R1", "row": 2}),
        InventoryItem("src/Parts.DbLib", "Parts.DbLib", "library", {"type": "database", "rows": 2}),
    ]
    inv.problems = ["one"]
    return inv


def test_round_trip_with_and_without_parts(tmp_path):
    path = tmp_path / "inventory.json"
    written = _inventory()
    written.write(path)
    assert parts_path(path).is_file() and "Res/R1" not in path.read_text()

    full = Inventory.read(path)
    assert [i.__dict__ for i in full.of_kind("part")] == [i.__dict__ for i in written.of_kind("part")]
    assert full.counts() == written.counts() and full.summary() == written.summary()
    assert [i.item for i in full.of_kind("library")] == ["A.SchLib", "Parts.DbLib"]

    light = Inventory.read(path, parts=False)
    assert light.counts() == written.counts()  # the parts are counted though not read
    assert light.summary() == written.summary() and light.problems == ["one"]
    assert [i.item for i in light.of_kind("symbol")] == ["RES"]
    with pytest.raises(PartsNotLoaded, match="src/Parts.DbLib"):
        light.of_kind("part")  # never an empty list a gate would pass on


def test_an_intlib_counts_what_it_embeds(tmp_path):
    """An IntLib's symbols (with pins), footprints and models are inventoried under the IntLib's
    path, as its conversion rows are: the run's total to migrate and the gates' source counts
    include them."""
    from converters.fixtures.intlib_writer import write_intlib
    from converters.fixtures.sample_library import sample_footprints, sample_symbols
    from include.inventory import analyze

    (tmp_path / "src").mkdir()
    lib = write_intlib(tmp_path / "src" / "Parts.IntLib", sample_symbols(), sample_footprints())
    inv = analyze(tmp_path / "src")
    assert inv.problems == []
    symbols = {i.item: i.facts for i in inv.of_kind("symbol")}
    assert len(symbols) == len(sample_symbols()) and {i.library for i in inv.items} == {str(lib)}
    assert symbols["OPAMP_DUAL"]["pins"] == symbols["OPAMP_DUAL"]["pin_records"] > 0
    assert len(inv.of_kind("footprint")) == len(sample_footprints())
    (library,) = inv.of_kind("library")
    assert library.facts["symbol_libraries"] == library.facts["footprint_libraries"] == 1
    assert "Top Layer" in library.facts["layers"] and "error" not in library.facts


def test_an_intlib_stream_that_cannot_be_unpacked_costs_only_that_stream(tmp_path):
    from converters.fixtures.cfb_writer import CompoundFileWriter
    from converters.fixtures.intlib_writer import PCBLIB_STREAM, SCHLIB_STREAM, _compound, packed
    from converters.fixtures.pcblib_writer import pcblib_streams
    from converters.fixtures.sample_library import sample_footprints
    from include.inventory import analyze

    writer = CompoundFileWriter()
    writer.add_stream(SCHLIB_STREAM, b"\x02not zlib at all")
    writer.add_stream(PCBLIB_STREAM, packed(_compound(pcblib_streams(sample_footprints()))))
    (tmp_path / "src").mkdir()
    lib = writer.write(tmp_path / "src" / "Half.IntLib")
    inv = analyze(tmp_path / "src")
    assert len(inv.of_kind("footprint")) == len(sample_footprints()) and not inv.of_kind("symbol")
    (problem,) = inv.problems
    assert problem.startswith(f"{lib}/SchLib/0.schlib: damaged compressed stream")
    assert "error" not in inv.of_kind("library")[0].facts  # the file opened; the gate keeps its footprints
