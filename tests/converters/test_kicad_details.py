"""Smaller KiCad-side behaviours the mutation run found untested: library tables, pin name
visibility, the parts database file, pad overlap geometry, Altium 8 mechanical layer names."""

from __future__ import annotations

from converters.altium.pcblib_layers import read_layer_table
from converters.altium.records import parse_properties
from converters.convert import convert_paths
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures import schlib_writer as sch
from converters.kicad.footprint_geometry import polygons_overlap
from converters.kicad.parts_database import write_sqlite_file
from converters.kicad.sexpr_reader import child, children, parse, value
from converters.model.parts import PartsDatabase, PartsLibrary


def test_library_tables_list_every_written_library(tmp_path):
    symbols = sch.write_schlib(tmp_path / "Sym Lib.SchLib", [sch.Symbol("R", pins=[sch.Pin("1", "1", 0, 0)])])
    footprints = pcb.write_pcblib(
        tmp_path / "Fp.PcbLib", [pcb.Footprint("F", primitives=[pcb.Pad("1", 0, 0, 30, 30)])]
    )
    out = tmp_path / "out"
    convert_paths([symbols, footprints], out)
    for table, nickname, uri in (
        ("sym-lib-table", "Sym_Lib", out / "symbols" / "Sym_Lib.kicad_sym"),
        ("fp-lib-table", "Fp", out / "footprints" / "Fp.pretty"),
    ):
        (row,) = children(parse((out / table).read_text(encoding="utf-8")), "lib")
        assert (value(child(row, "name")), value(child(row, "type")), value(child(row, "uri"))) == (
            nickname,
            "KiCad",
            str(uri.resolve()),
        )


def test_pin_names_hidden_only_when_altium_hides_them(tmp_path):
    shown = sch.Symbol("SHOWN", pins=[sch.Pin("1", "A", 0, 0), sch.Pin("2", "B", 0, 10)])
    hidden = sch.Symbol(
        "HIDDEN", pins=[sch.Pin("1", "A", 0, 0, show_name=False), sch.Pin("2", "B", 0, 10, show_name=False)]
    )
    out = tmp_path / "out"
    convert_paths([sch.write_schlib(tmp_path / "P.SchLib", [shown, hidden])], out)
    symbols = {value(s): s for s in children(parse((out / "symbols" / "P.kicad_sym").read_text()), "symbol")}
    assert child(symbols["SHOWN"], "pin_names") is None
    assert child(child(symbols["HIDDEN"], "pin_names"), "hide")[1:] == ["yes"]


def test_parts_database_file_into_a_new_nested_folder_and_again(tmp_path):
    library = PartsLibrary("T", "T", ["Key", "Value"], [{"Key": "A", "Value": "1"}], "Key", "", "")
    path = tmp_path / "a" / "b" / "parts.sqlite"
    for _ in range(2):
        assert write_sqlite_file(PartsDatabase("P", "", [library]), path) == []  # no table refused
        assert path.stat().st_size > 0


def test_polygons_overlap_when_only_their_edges_cross():
    bar = [(-10, -1), (10, -1), (10, 1), (-10, 1)]  # a plus sign: no corner inside the other
    post = [(-1, -10), (1, -10), (1, 10), (-1, 10)]
    assert polygons_overlap(bar, post) and polygons_overlap(post, bar)
    # bounding boxes overlap, the shapes do not: x + y <= 10 against x + y >= 14
    assert not polygons_overlap([(0, 0), (10, 0), (0, 10)], [(10, 10), (10, 4), (4, 10)])


def test_altium_8_mechanical_layer_names_from_1_to_32():
    props = parse_properties(
        b"|LAYER_V8_0LAYERID=16908289|LAYER_V8_0NAME=Assembly Top"  # 0x01020001: Mechanical 1
        b"|LAYER_V8_1LAYERID=16908320|LAYER_V8_1NAME=Board Shape"  # 0x01020020: Mechanical 32
        b"|LAYER_V8_2LAYERID=16908321|LAYER_V8_2NAME=No such layer|"  # Mechanical 33
    )
    layers = read_layer_table(props)
    assert (layers[57].name, layers[1032].name) == ("Assembly Top", "Board Shape")
    assert "No such layer" not in {layer.name for layer in layers.values()}


def test_every_altium_pin_type_has_its_kicad_type(tmp_path):
    types = {
        sch.INPUT: "input",
        sch.IO: "bidirectional",
        sch.OUTPUT: "output",
        sch.OPEN_COLLECTOR: "open_collector",
        sch.PASSIVE: "passive",
        sch.HIZ: "tri_state",
        sch.OPEN_EMITTER: "open_emitter",
        sch.POWER: "power_in",
    }
    pins = [sch.Pin(str(code), f"P{code}", 0, 10 * code, electrical=code) for code in types]
    out = tmp_path / "out"
    report = convert_paths([sch.write_schlib(tmp_path / "T.SchLib", [sch.Symbol("TYPES", pins=pins)])], out)
    assert [r.messages for r in report.items if r.kind == "symbol"] == [[]]
    written = parse((out / "symbols" / "T.kicad_sym").read_text(encoding="utf-8"))
    found = {
        value(child(p, "number")): p[1]
        for s in children(written, "symbol")
        for u in children(s, "symbol")
        for p in children(u, "pin")
    }
    assert found == {str(code): kicad for code, kicad in types.items()}


def test_polyline_points_continue_in_extra_locations():
    from converters.altium.schlib_common import points

    props = parse_properties(
        b"|LOCATIONCOUNT=2|X1=1|Y1=2|X2=3|Y2=4|EXTRALOCATIONCOUNT=2|EX3=5|EY3=6|EX4=7|EY4=8|"
    )
    assert [(round(x / 0.254, 6), round(y / 0.254, 6)) for x, y in points(props)] == [
        (1, 2),
        (3, 4),
        (5, 6),
        (7, 8),
    ]
