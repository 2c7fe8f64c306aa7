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
