"""altium.dblib: the INI model of .DbLib/.SVNDbLib files, and altium.paths (Windows paths on Linux)."""

from __future__ import annotations

from pathlib import Path

import pytest

from converters.altium.dblib import (
    DbLibError,
    DbLibTable,
    FieldMap,
    mask_connection_string,
    parse_connection_string,
    parse_dblib,
    parse_ini,
    read_dblib,
)
from converters.altium.paths import resolve_path, split_windows_path
from converters.fixtures.dblib_writer import ACCESS_CONNECTION, standard_field_maps, write_dblib

REAL_HEAD = (
    "[OutputDatabaseLinkFile]\r\nVersion=1.1\r\n[DatabaseLinks]\r\n"
    "ConnectionString=Provider=MICROSOFT.ACE.OLEDB.12.0;Data Source=D:\\Team\\Libs\\database\\parts.mdb;"
    "Persist Security Info=False\r\n"
    "LibraryDatabaseType=Microsoft Access\r\nLibraryDatabasePath=database\\parts.mdb\r\n"
    "DatabasePathRelative=1\r\nLibrarySearchPath=C:\\Libs\\;lib\\extra\r\nSearchSubDirectories=1\r\n"
    "[Table1]\r\nSchemaName=\r\nTableName=Resistors\r\nEnabled=True\r\nUserWhere=1\r\n"
    "UserWhereText=[Value] <> '0R'\r\n"
    "[Table2]\r\nTableName=Old Parts\r\nEnabled=False\r\nUserWhere=0\r\nUserWhereText=\r\n"
    "[FieldMap1]\r\nOptions=FieldName=Resistors.Part Number|TableNameOnly=Resistors|FieldNameOnly=Part Number"
    "|FieldType=0|ParameterName=Part Number|VisibleOnAdd=False|AddMode=0|RemoveMode=0|UpdateMode=0\r\n"
    "[FieldMap2]\r\nOptions=FieldName=Resistors.Footprint Ref 2|TableNameOnly=Resistors|FieldNameOnly=Footprint Ref 2"
    "|FieldType=1|ParameterName=[Footprint Ref 2]|VisibleOnAdd=False\r\n"
    "[FieldMap3]\r\nOptions=FieldName=Resistors.Value|TableNameOnly=Resistors|FieldNameOnly=Value"
    "|FieldType=1|ParameterName=Value|VisibleOnAdd=True\r\n"
    "[FieldMap4]\r\nOptions=FieldName=Resistors.Sym|TableNameOnly=Resistors|FieldNameOnly=Sym"
    "|FieldType=1|ParameterName=[Library Ref]|VisibleOnAdd=False\r\n"
)


def test_real_layout_parses_case_preserving():
    lib = parse_dblib(REAL_HEAD, Path("/x/My.DbLib"))
    assert lib.connection.provider == "MICROSOFT.ACE.OLEDB.12.0"
    assert lib.connection.data_source == "D:\\Team\\Libs\\database\\parts.mdb"
    assert lib.database_path == "database\\parts.mdb" and lib.path_relative
    assert lib.library_search_paths == ["C:\\Libs\\", "lib\\extra"] and lib.search_subdirectories
    assert [t.name for t in lib.tables] == ["Resistors", "Old Parts"]
    assert lib.tables[0].user_where and lib.tables[0].where_text == "[Value] <> '0R'"
    assert not lib.tables[0].where_is_lookup
    assert not lib.tables[1].enabled
    key, fp2, value, sym = lib.field_maps
    assert key.is_key and key.column == "Part Number" and key.role is None
    assert fp2.role == ("footprint_ref", 2) and fp2.column == "Footprint Ref 2"
    assert value.visible_on_add and value.role is None and value.parameter == "Value"
    assert sym.role == ("library_ref", 1) and sym.column == "Sym"
    assert lib.maps_for("resistors") == lib.field_maps
    assert not lib.is_svn


def test_ini_keys_keep_case_and_lookups_ignore_it():
    sections = parse_ini("[A]\nKeyOne=v=1\n; comment\nkeyone=other\n")
    assert sections[1].entries == [("KeyOne", "v=1"), ("keyone", "other")]
    assert sections[1].get("KEYONE") == "v=1"


def test_connection_string_braces_and_quotes():
    pairs = parse_connection_string(
        'Provider=MSDASQL;Driver={SQL Server; Native};Extended Properties="Excel 12.0;HDR=YES";Pwd=se;cr'
    )
    assert pairs["Driver"] == "SQL Server; Native"
    assert pairs["Extended Properties"] == "Excel 12.0;HDR=YES"
    assert pairs["Pwd"] == "se"


@pytest.mark.parametrize(
    "raw,hidden",
    [
        ("Provider=SQLOLEDB;Data Source=srv;User ID=sa;Password=Secret1;Initial Catalog=parts", "Secret1"),
        ("DSN=parts;UID=me;PWD={a;b}", "a;b"),
        ("Provider=Microsoft.ACE.OLEDB.12.0;Jet OLEDB:Database Password=zz9;Data Source=x.mdb", "zz9"),
        ("postgresql://user:hunter2@db.example/parts", "hunter2"),
    ],
)
def test_passwords_are_masked(raw, hidden):
    masked = mask_connection_string(raw)
    assert hidden not in masked and "***" in masked


def test_writer_and_reader_round_trip(tmp_path):
    maps = standard_field_maps("Caps", footprints=3, parameters={"Value": True, "Voltage": False})
    tables = [
        DbLibTable("Caps"),
        DbLibTable("Sheet1$", enabled=False, user_where=True, where_text="[A]='{A}'"),
    ]
    path = write_dblib(
        tmp_path / "Caps.SVNDbLib",
        ACCESS_CONNECTION.format(path="C:\\db\\caps.mdb"),
        tables,
        maps,
        database_path="caps.mdb",
    )
    assert b"\r\n" in path.read_bytes()
    lib = read_dblib(path)
    assert lib.tables == tables
    assert lib.field_maps == maps
    assert lib.is_svn and lib.tables[1].where_is_lookup
    roles = [m.role for m in lib.field_maps if m.role]
    assert ("footprint_path", 3) in roles and ("library_path", 1) in roles


def test_not_a_dblib_is_a_clear_error(tmp_path):
    binary = tmp_path / "x.DbLib"
    binary.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(DbLibError, match="x.DbLib.*compound"):
        read_dblib(binary)
    text = tmp_path / "y.DbLib"
    text.write_text("[Something]\nA=1\n")
    with pytest.raises(DbLibError, match="y.DbLib.*DatabaseLinks"):
        read_dblib(text)
    with pytest.raises(DbLibError, match="missing.DbLib"):
        read_dblib(tmp_path / "missing.DbLib")


def test_utf16_dblib(tmp_path):
    path = tmp_path / "u.DbLib"
    path.write_bytes(REAL_HEAD.encode("utf-16"))
    assert read_dblib(path).tables[0].name == "Resistors"


def test_field_map_roles():
    assert FieldMap("T", "c", "[Footprint Path]").role == ("footprint_path", 1)
    assert FieldMap("T", "c", "[footprint ref 12]").role == ("footprint_ref", 12)
    assert FieldMap("T", "c", "[Library Path]").role == ("library_path", 1)
    assert FieldMap("T", "c", "Footprint Ref").role is None  # a parameter, not the reserved link
    assert FieldMap("T", "c", "[Description]").parameter_name == "Description"
    assert FieldMap("T", "c", " [Comment] ").parameter_name == "Comment"
    assert FieldMap("T", "c", "Tolerance [%]").parameter_name == "Tolerance [%]"
    assert FieldMap("T", "c", "[]").parameter_name == "[]"


# -- paths -------------------------------------------------------------------------------------


def test_windows_paths_split():
    assert split_windows_path("C:\\A\\b\\.\\c.mdb") == (True, ["A", "b", "c.mdb"])
    assert split_windows_path("database\\x.SchLib") == (False, ["database", "x.SchLib"])
    assert split_windows_path("\\\\server\\share\\x") == (True, ["x"])


def test_resolver_matches_case_and_moved_checkouts(tmp_path):
    target = tmp_path / "Libs" / "Database" / "Symbols" / "IND.SchLib"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    base = tmp_path / "Libs"
    assert resolve_path("database\\symbols\\ind.schlib", [base]) == target
    assert resolve_path("D:\\Old\\Place\\Libs\\DATABASE\\symbols\\IND.Schlib", [base]) == target
    assert (
        resolve_path(str(target).upper().replace(str(tmp_path).upper(), str(tmp_path)), [Path("/")]) == target
    )
    assert resolve_path("database\\symbols\\missing.SchLib", [base]) is None
    assert resolve_path("", [base]) is None


def test_corpus_dblibs_parse(shared):
    folder = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0"
    libs = [read_dblib(p) for p in sorted(folder.glob("*.DbLib"))]
    assert len(libs) == 7
    for lib in libs:
        assert lib.connection.provider.upper().startswith("MICROSOFT.ACE")
        assert lib.database_path.startswith("database\\") and lib.path_relative
        assert len(lib.tables) == 1 and lib.tables[0].enabled
        roles = {m.role for m in lib.field_maps if m.role}
        assert {("library_ref", 1), ("library_path", 1), ("footprint_ref", 1), ("footprint_path", 1)} <= roles
        assert sum(m.is_key for m in lib.field_maps) == 1
        assert resolve_path(lib.database_path, [folder]) is not None


def test_connection_string_value_may_start_after_spaces():
    pairs = parse_connection_string('Data Source=  "C:\\a;b.xlsx";Extended Properties= {text;HDR=YES}')
    assert pairs == {"Data Source": "C:\\a;b.xlsx", "Extended Properties": "text;HDR=YES"}


def test_windows_absolute_path_resolves_below_the_bases_not_from_this_machine_s_root(tmp_path):
    """A DbLib made on Windows names C:\\...\\lib\\R.SchLib; the file that counts is the copy below
    the DbLib's folder, even when the same path happens to exist from / here."""
    elsewhere = tmp_path / "lib" / "R.SchLib"  # reachable from / as the path's own folders
    beside = tmp_path / "base" / "lib" / "R.SchLib"
    for path in (elsewhere, beside):
        path.parent.mkdir(parents=True)
        path.write_text("x")
    raw = "C:" + str(elsewhere).replace("/", "\\")
    assert resolve_path(raw, [tmp_path / "base"]) == beside
    assert resolve_path(str(elsewhere), [tmp_path / "base"]) == elsewhere  # a POSIX path is itself
