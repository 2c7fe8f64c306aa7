"""Mapping rules: generated from the inventory, edited, validated, applied by the conversion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.conversion import convert_unit
from include.inventory import Inventory, InventoryItem, analyze
from include.mapping_rules import MappingRules, MappingRulesError, generate, load, rename_dbl_fields


def test_generate_proposes_names_layers_and_fixes():
    inv = Inventory("src", units=["/s/My Lib.SchLib"], libraries=["/s/fp/0603.PcbLib"])
    inv.items = [
        InventoryItem(
            "/s/fp/0603.PcbLib", "0603.PcbLib", "library", {"layers": ["Mechanical 15", "Top Layer"]}
        ),
        InventoryItem("/s/fp/0603.PcbLib", "C0603", "footprint", {"pads": 2}),
        InventoryItem(
            "/s/x.DbLib",
            "T/P1",
            "part",
            {"footprint_refs": ["C0603X"], "footprint_paths": ["fp\\0603.PcbLib"]},
        ),
    ]
    rules = generate(inv)
    assert rules.library_names == {"My Lib": "My_Lib", "0603": "0603"}
    assert list(rules.layer_map) == ["Mechanical 15"]
    assert rules.footprint_name_fixes == {"0603.PcbLib": {"C0603X": "C0603"}}


def test_edited_file_round_trip_and_errors(tmp_path):
    rules = MappingRules(library_names={"Sample": "Company"}, field_renames={"Value": "Wert"})
    path = tmp_path / "rules.yaml"
    path.write_text(rules.to_yaml())
    assert load(path) == rules and load(path).sha256 == rules.sha256
    path.write_text("library_names: {a: b}\nfeild_renames: {}\n")
    with pytest.raises(MappingRulesError, match="feild_renames: unknown key"):
        load(path)
    path.write_text("layer_map: {'Mechanical 1': Nowhere.Layer}\n")
    with pytest.raises(
        MappingRulesError, match=r"rules.yaml: layer_map: 'Mechanical 1' maps to 'Nowhere.Layer'"
    ):
        load(path)
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yaml"]  # nothing written beside the rules


def test_rules_are_applied_by_the_conversion(tmp_path):
    from converters.fixtures.sample_library import write_sample_library

    schlib = write_sample_library(tmp_path / "src")[0]
    rules = generate(analyze(schlib))
    rules.library_names["Sample"] = "Company Symbols"
    result = convert_unit(schlib, tmp_path / "out", rules)
    assert (tmp_path / "out" / "symbols" / "Company_Symbols.kicad_sym").is_file()
    targets = {r["target"].split(":")[0] for r in json.loads(Path(result.report).read_text())["items"]}
    assert targets == {"Company_Symbols"}


def test_field_renames_in_kicad_dbl(tmp_path):
    dbl = tmp_path / "x.kicad_dbl"
    dbl.write_text(json.dumps({"libraries": [{"fields": [{"name": "Supplier 1"}, {"name": "Value"}]}]}))
    assert rename_dbl_fields(dbl, {"supplier 1": "Supplier"}) == 1
    assert [f["name"] for f in json.loads(dbl.read_text())["libraries"][0]["fields"]] == ["Supplier", "Value"]


def test_a_footprint_name_fix_is_a_warning_on_every_part_it_links(tmp_path):
    """A fix substitutes a footprint: the parts it links say so (the sample's LEGACY-CAP-1206 names
    C1206, which the library does not hold), and parts linked by their own name carry no such note."""
    from converters.fixtures.dblib_writer import write_sample_dblib
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(tmp_path / "src")
    dblib = write_sample_dblib(tmp_path / "src")
    rules = generate(analyze(dblib))
    rules.footprint_name_fixes = {"Sample.PcbLib": {"C1206": "C0805"}}
    result = convert_unit(dblib, tmp_path / "out", rules)
    rows = {r["item"]: r for r in json.loads(Path(result.report).read_text())["items"] if r["kind"] == "part"}
    fixed = "footprint 'C1206' linked to 'C0805' of Sample.PcbLib by the mapping rules (footprint_name_fixes)"
    assert fixed in rows["Capacitors/LEGACY-CAP-1206"]["messages"]
    assert not any(
        "footprint_name_fixes" in m
        for r in rows.values()
        for m in r["messages"]
        if r is not rows["Capacitors/LEGACY-CAP-1206"]
    )
