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
