"""Layer map: documented defaults, courtyard/assembly detection, user mapping files."""

import json

import pytest

from converters.kicad.layers import FALLBACK_LAYER, LayerMap, LayerMapError, default_layer, load_layer_map
from converters.model.footprint import LayerRef


@pytest.mark.parametrize(
    "layer, expected",
    [
        (LayerRef(1, "Top Layer"), "F.Cu"),
        (LayerRef(32, "Bottom Layer"), "B.Cu"),
        (LayerRef(5), "In4.Cu"),
        (LayerRef(33), "F.SilkS"),
        (LayerRef(38), "B.Mask"),
        (LayerRef(57, "Mechanical 1"), "User.1"),
        (LayerRef(68, "Mechanical 12"), "F.Fab"),
        (LayerRef(71, "Mechanical 15"), "Eco2.User"),
        (LayerRef(71, "Mechanical 15", "CourtyardTop"), "F.CrtYd"),
        (LayerRef(60, "Bottom Courtyard"), "B.CrtYd"),
        (LayerRef(61, "Top Assembly"), "F.Fab"),
        (LayerRef(59, "x", "AssemblyBottom"), "B.Fab"),
        (LayerRef(1020, "Mechanical 20"), "User.18"),
    ],
)
def test_default_map(layer, expected):
    assert default_layer(layer) == expected


def test_unknown_layer_is_reported_not_dropped():
    target, message = LayerMap().lookup(LayerRef(40, "Internal Plane 2"))
    assert target == FALLBACK_LAYER and "Internal Plane 2" in message


def test_yaml_map_by_name_kind_and_number(tmp_path):
    f = tmp_path / "map.yaml"
    f.write_text(
        'layers:\n  "Mechanical 15": F.CrtYd\n  AssemblyTop: F.Fab\n  "57": User.7\n  "Mechanical 2": null\n'
    )
    m = load_layer_map(f)
    assert m.lookup(LayerRef(71, "Mechanical 15"))[0] == "F.CrtYd"
    assert m.lookup(LayerRef(63, "Anything", "AssemblyTop"))[0] == "F.Fab"
    assert m.lookup(LayerRef(57, "Mechanical 1"))[0] == "User.7"
    target, message = m.lookup(LayerRef(58, "Mechanical 2"))
    assert target is None and "left out" in message


def test_json_map(tmp_path):
    f = tmp_path / "map.json"
    f.write_text(json.dumps({"Mechanical 4": "B.CrtYd"}))
    assert load_layer_map(f).lookup(LayerRef(60, "Mechanical 4"))[0] == "B.CrtYd"


@pytest.mark.parametrize(
    "content, why",
    [("[1, 2]", "mapping"), ('{"Mechanical 4": "Nowhere"}', "not a KiCad"), ("{bad json", "not valid JSON")],
)
def test_bad_map_files_name_the_file(tmp_path, content, why):
    f = tmp_path / "map.json"
    f.write_text(content)
    with pytest.raises(LayerMapError) as err:
        load_layer_map(f)
    assert str(f) in str(err.value) and why in str(err.value)
