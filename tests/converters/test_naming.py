"""The naming rule (converters/naming.py): names KiCad accepts, escaped as KiCad escapes them, and
the same name in every reference; checked on names with every printable ASCII character."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import string
import subprocess
from pathlib import Path

import pytest

from converters.altium.dblib import DbLibTable
from converters.cli import main
from converters.fixtures.dblib_writer import CSV_CONNECTION, standard_field_maps, write_dblib
from converters.fixtures.intlib_writer import write_intlib
from converters.fixtures.pcblib_writer import Footprint, Pad, write_pcblib
from converters.fixtures.schlib_writer import FootprintLink, Pin, Rectangle, Symbol, write_schlib
from converters.kicad.sexpr_reader import children, parse
from converters.naming import (
    MAX_NAME_BYTES,
    UniqueNames,
    safe_file_name,
    safe_footprint_name,
    safe_library_name,
    safe_symbol_name,
    unescape,
)
from converters.run import unique_item_names

PRINTABLE = string.printable[:95]  # every printable ASCII character, space included
NON_ASCII = "µΩ°中文±"
# What KiCad's LIB_ID refuses in an item name (common/lib_id.cpp isLegalChar), restated here so
# the test does not trust the rule it checks.
LIB_ID_REFUSES = re.compile(r'[\x00-\x1f:\\<>"]')
FILE_REFUSES = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


# --- the rule ------------------------------------------------------------------------------------
def test_symbol_names_are_escaped_as_kicad_escapes_library_ids():
    assert safe_symbol_name('CONN 10POS 0.2" VERT') == "CONN 10POS 0.2{dblquote} VERT"
    assert safe_symbol_name("A:B\\C<D>") == "A{colon}B{backslash}C{lt}D{gt}"
    assert safe_symbol_name("RES 1k 1/8W") == "RES 1k 1/8W"  # KiCad keeps '/' in symbol names
    assert safe_symbol_name("X{slash}Y") == "X/Y"  # what KiCad 9 reads it as
    assert safe_symbol_name("TAB\tNL\nCTL\x01") == "TAB{tab}NLCTL_"
    assert safe_symbol_name("  ") == "unnamed"


def test_footprint_names_are_file_names_too():
    assert (
        safe_footprint_name('SOT/23 "5":1') == "SOT_23 {dblquote}5{dblquote}{colon}1"
    )  # '/' as KiCad's import
    assert safe_footprint_name("A|B\\C<D>") == "A{bar}B{backslash}C{lt}D{gt}"
    assert safe_footprint_name("E*F?G;H") == "E_F_G_H"  # no KiCad escape: '_' as KiCad's FixIllegalChars
    assert safe_footprint_name("NUL") == "NUL_" and safe_footprint_name("com1.x") == "com1_.x"
    assert safe_file_name("${X}%Y%") == "_{X}_Y_"  # model paths are expanded by KiCad


def test_every_printable_and_non_ascii_character_gives_a_name_kicad_accepts():
    for c in PRINTABLE + NON_ASCII + "\t\n\r\x01\x7f":
        name = f"N{c}X"
        symbol, footprint, library = (
            safe_symbol_name(name),
            safe_footprint_name(name),
            safe_library_name(name),
        )
        assert not LIB_ID_REFUSES.search(symbol), repr(name)
        assert not LIB_ID_REFUSES.search(footprint) and not FILE_REFUSES.search(footprint), repr(name)
        assert ";" not in footprint  # KiCad's database library splits its Footprints column at ';'
        assert not re.search(r'[\x00-\x1f\\:/*?"<>|;$%\s]', library), repr(name)
        for rule, made in ((safe_symbol_name, symbol), (safe_footprint_name, footprint)):
            assert rule(made) == made  # applying the rule again changes nothing
        assert safe_library_name(library) == library
    for name in (PRINTABLE, NON_ASCII):
        assert unescape(safe_symbol_name(name)) == name.strip()  # KiCad shows the source name


def test_unescape_follows_kicads_unescape_string():
    assert unescape("A{dblquote}B{colon}{slash}{brace}") == 'A"B:/{'
    assert unescape("{unknown}") == "{unknown}"
    assert unescape("~{dblquote}") == "~{dblquote}"  # markup (overbar) is not an escape
    assert unescape("open{dblquote") == "open{dblquote"
    assert unescape("{a{colon}b}") == "{a:b}"


def test_long_names_fit_a_file_and_stay_distinct():
    a, b = "Ω" * 300 + "a", "Ω" * 300 + "b"
    assert len(safe_footprint_name(a).encode()) <= MAX_NAME_BYTES
    assert safe_footprint_name(a) != safe_footprint_name(b)


def test_library_names_lose_what_kicad_refuses():
    assert safe_library_name("My Lib: v2/3") == "My_Lib_v2_3"
    assert safe_library_name("Parts ${HOME};100%") == "Parts_{HOME}_100"
    assert safe_library_name("  ") == "library"


def test_clashes_get_suffixes_case_insensitively():
    names = UniqueNames()
    assert names.claim("Lib") == ("Lib", False)
    assert names.claim("LIB") == ("LIB_2", True)
    assert names.claim("lib") == ("lib_3", True)


def test_only_names_kicad_shows_differently_are_reported_as_renamed():
    made = dict(unique_item_names(['0.2" VERT', "A;B", "a;b"], safe_footprint_name))
    assert made == {
        "0.2{dblquote} VERT": [],
        "A_B": ["written as 'A_B' (name not allowed or already used)"],
        "a_b_2": ["written as 'a_b_2' (name not allowed or already used)"],
    }


# --- a whole library through KiCad ---------------------------------------------------------------
# Altium keeps names in '|'-separated records, so no Altium name holds '|'.
ALTIUM_NAMES = (
    [f"N{c}X" for c in PRINTABLE if not c.isalnum() and c != "|"]
    + [f"All {PRINTABLE.replace('|', '')}chars", 'CONN 10POS 0.2" VERT', "10µF ±5% 50V", "Ω°", "中文 连接器"]
    + ["A:B", "A{colon}B"]
)
LIBRARY_STEM = "Lib !#$%&'()+,;=@[]^`{}~µΩ"  # every character a file name may hold that KiCad allows


def _altium_libraries(root: Path) -> list[Path]:
    """A SchLib and a PcbLib holding every name, a DbLib whose parts name each, and an IntLib of
    both (its symbols link their footprints as `Nick:Item`)."""
    symbols = [
        Symbol(
            name,
            designator="U?",
            pins=[Pin("1", "1", -10, 0, orientation=2)],
            graphics=[Rectangle(-10, -5, 10, 5)],
            footprints=[FootprintLink(name)],
        )
        for name in ALTIUM_NAMES
    ]
    write_schlib(root / f"{LIBRARY_STEM}.SchLib", symbols)
    footprints = [Footprint(name, primitives=[Pad("1", 0, 0, 40, 40)]) for name in ALTIUM_NAMES]
    write_pcblib(root / f"{LIBRARY_STEM}.PcbLib", footprints)
    (root / "tables").mkdir()
    with (root / "tables" / "parts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Part Number", "Library Path", "Library Ref", "Footprint Path", "Footprint Ref"])
        for n, name in enumerate(ALTIUM_NAMES):
            writer.writerow([f"P{n}", f"{LIBRARY_STEM}.SchLib", name, f"{LIBRARY_STEM}.PcbLib", name])
    dblib = write_dblib(
        root / "Names.DbLib",
        CSV_CONNECTION.format(path="C:\\Libs"),
        [DbLibTable("parts#csv")],
        standard_field_maps("parts#csv"),
        database_path="tables",
    )
    return [dblib, write_intlib(root / "Integrated.IntLib", symbols, footprints)]


def _kicad_names(cli: Path, kind: str, library: Path, scratch: Path) -> set[str]:
    """The item names KiCad itself finds in a library (it lists each one as it plots it)."""
    run = subprocess.run(
        [str(cli), kind, "export", "svg", "-o", str(scratch), str(library)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    word = "symbol" if kind == "sym" else "footprint"
    return {m.group(1) for m in re.finditer(rf"Plotting {word} '(.*)'(?: unit \d+)? to '", run.stdout)}


def _lib_table(path: Path) -> dict[str, Path]:
    """Nickname -> library path of a written sym-lib-table / fp-lib-table."""
    return {
        next(children(row, "name"))[1]: Path(next(children(row, "uri"))[1])
        for row in children(parse(path.read_text(encoding="utf-8")), "lib")
    }


def _symbols(path: Path) -> list[list]:
    return list(children(parse(path.read_text(encoding="utf-8")), "symbol"))


@pytest.mark.kicad
def test_kicad_loads_every_name_and_every_part_finds_its_items(tmp_path, kicad_validate):
    source, out = tmp_path / "altium", tmp_path / "out"
    source.mkdir()
    inputs = _altium_libraries(source)
    assert main(["convert", *map(str, inputs), "-o", str(out), "-q"]) == 0
    symbol_files = sorted((out / "symbols").glob("*.kicad_sym"))
    pretty = sorted((out / "footprints").glob("*.pretty"))
    assert len(symbol_files) == len(pretty) == 2
    run = subprocess.run(
        [str(kicad_validate), *map(str, symbol_files + pretty)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count(f"({len(ALTIUM_NAMES)} symbols)") == 2, run.stdout
    assert run.stdout.count(f"({len(ALTIUM_NAMES)} footprints)") == 2, run.stdout

    cli = kicad_validate.parent / "kicad-cli"
    found: dict[tuple[str, Path], set[str]] = {}
    for n, path in enumerate(symbol_files):
        found[("sym", path)] = _kicad_names(cli, "sym", path, tmp_path / f"sym{n}")
        assert found[("sym", path)] == {s[1] for s in _symbols(path)}  # KiCad keeps each name as written
    for n, path in enumerate(pretty):
        found[("fp", path)] = _kicad_names(cli, "fp", path, tmp_path / f"fp{n}")
        assert found[("fp", path)] == {p.stem for p in path.glob("*.kicad_mod")}
    tables = {"sym": _lib_table(out / "sym-lib-table"), "fp": _lib_table(out / "fp-lib-table")}

    def finds(kind: str, link: str) -> bool:
        nickname, _, item = link.partition(":")  # as KiCad's LIB_ID::Parse splits it
        path = tables[kind].get(nickname)
        return path is not None and not LIB_ID_REFUSES.search(item) and item in found.get((kind, path), ())

    # every part of the parts database links a symbol and a footprint KiCad finds
    dbl = json.loads(next((out / "database").glob("*.kicad_dbl")).read_text(encoding="utf-8"))
    db = sqlite3.connect(next((out / "database").glob("*.sqlite")))
    library = dbl["libraries"][0]
    parts = list(
        db.execute(f'SELECT "{library["symbols"]}", "{library["footprints"]}" FROM "{library["table"]}"')
    )
    assert len(parts) == len(ALTIUM_NAMES)
    for symbol_link, footprint_links in parts:
        assert finds("sym", symbol_link), symbol_link
        links = re.split(r"[;\t\r\n]+", footprint_links)  # as KiCad's database library splits them
        assert len(links) == 1 and finds("fp", links[0]), footprint_links
    # the IntLib's symbols link their own footprints as `Nick:Item`, each one KiCad finds
    intlib_symbols = _symbols(tables["sym"]["Integrated"])
    links = [next(p for p in children(s, "property") if p[1] == "Footprint")[2] for s in intlib_symbols]
    assert len(links) == len(ALTIUM_NAMES) and all(finds("fp", link) for link in links), links
    # and their footprint filters match those footprints as KiCad matches them (space-separated
    # patterns, '*' and '?' wildcards)
    for symbol, link in zip(intlib_symbols, links, strict=True):
        patterns = next(p for p in children(symbol, "property") if p[1] == "ki_fp_filters")[2].split(" ")
        item = link.partition(":")[2]
        assert any(_wildcard(p).fullmatch(item) for p in patterns), (patterns, item)


def _wildcard(pattern: str) -> re.Pattern:
    return re.compile("".join({"*": ".*", "?": "."}.get(c, re.escape(c)) for c in pattern))
