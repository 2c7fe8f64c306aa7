"""altium.parts_tables: every kind of parts database a DbLib can name, read for real."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from converters.altium.dblib import DbLibTable, read_dblib
from converters.altium.parts_tables import (
    DatabaseUnreachable,
    TableError,
    choose_source,
    open_parts_source,
    parse_mdb_export,
)
from converters.fixtures.dblib_writer import (
    ACCESS_CONNECTION,
    EXCEL_CONNECTION,
    standard_field_maps,
    write_dblib,
)

from .dblib_helpers import mdb_rows, mdb_tables, scratch_mariadb, scratch_postgres

ROWS = [
    {"Part Number": "R1K", "Value": "1k", "Library Ref": "RES", "Qty": 10},
    {"Part Number": "R2K2", "Value": "2.2k", "Library Ref": "RES", "Qty": 2.5},
    {"Part Number": "C100N", "Value": "100n", "Library Ref": "CAP", "Qty": None},
]


def _dblib(
    tmp_path: Path, database_path: str, table: str = "Parts", where: str = "", connection: str = ""
) -> Path:
    tables = [DbLibTable(table, user_where=bool(where), where_text=where)]
    return write_dblib(
        tmp_path / "Parts.DbLib",
        connection or ACCESS_CONNECTION.format(path=database_path),
        tables,
        standard_field_maps(table),
        database_path=database_path,
    )


def _read(dblib: Path, table: str | None = None, url: str | None = None):
    lib = read_dblib(dblib)
    source = open_parts_source(lib, url)
    try:
        return source.read(lib.tables[0] if table is None else DbLibTable(table))
    finally:
        source.close()


# -- Access ------------------------------------------------------------------------------------


def test_access_corpus_tables_match_mdb_export(shared):
    folder = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0"
    for dblib in sorted(folder.glob("*.DbLib")):
        lib = read_dblib(dblib)
        source = open_parts_source(lib)
        parts = source.read(lib.tables[0])  # capacitor_library names "capacitors"; the file has "Capacitors"
        mdb = next(folder.glob(lib.database_path.replace("\\", "/")))
        expected = mdb_rows(mdb, mdb_tables(mdb)[0])
        assert len(parts.rows) == len(expected) > 0, dblib.name
        assert parts.columns == list(expected[0].keys())
        for got, want in zip(parts.rows, expected, strict=False):
            assert {k: v or None for k, v in want.items()} == got


def test_mdb_export_text_keeps_new_lines_inside_values():
    table = parse_mdb_export("T", 'A,B\n"x\ny",1\n,"q""uote"\n')
    assert table.rows == [{"A": "x\ny", "B": "1"}, {"A": None, "B": 'q"uote'}]


def test_missing_access_table_is_a_table_error(shared, tmp_path):
    mdb = shared / "corpus" / "ubc-thunderbots" / "libraries-v2.0" / "database" / "fuse_database.mdb"
    dblib = _dblib(tmp_path, str(mdb), table="NoSuchTable")
    with pytest.raises(TableError, match="NoSuchTable.*Fuses"):
        _read(dblib)


# -- Excel, CSV ------------------------------------------------------------------------------


def _xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Parts"
    sheet.append(list(ROWS[0].keys()))
    for row in ROWS:
        sheet.append(list(row.values()))
    sheet.append([None, None, None, None])  # Excel's trailing blank rows are not parts
    book.create_sheet("Other").append(["x"])
    book.save(path)
    return path


def test_excel_sheet_is_a_dollar_table(tmp_path):
    (tmp_path / "Data").mkdir()
    _xlsx(tmp_path / "Data" / "parts.xlsx")
    dblib = _dblib(
        tmp_path,
        "data\\PARTS.xlsx",
        table="Parts$",
        connection=EXCEL_CONNECTION.format(path="C:\\lib\\data\\parts.xlsx"),
    )
    parts = _read(dblib)
    assert parts.columns == ["Part Number", "Value", "Library Ref", "Qty"]
    assert [r["Part Number"] for r in parts.rows] == ["R1K", "R2K2", "C100N"]
    assert [r["Qty"] for r in parts.rows] == ["10", "2.5", None]


def test_where_clause_filters_rows(tmp_path):
    _xlsx(tmp_path / "parts.xlsx")
    dblib = _dblib(tmp_path, "parts.xlsx", table="Parts$", where="[Library Ref] = 'RES' AND [Value] <> '1k'")
    assert [r["Part Number"] for r in _read(dblib).rows] == ["R2K2"]


def test_lookup_where_keeps_rows_with_a_warning(tmp_path):
    _xlsx(tmp_path / "parts.xlsx")
    dblib = _dblib(tmp_path, "parts.xlsx", table="Parts$", where="[Part Number] = '{Part Number}'")
    parts = _read(dblib)
    assert len(parts.rows) == 3 and "placement-time lookup" in parts.warnings[0]


def test_bad_where_keeps_rows_with_a_warning(tmp_path):
    _xlsx(tmp_path / "parts.xlsx")
    dblib = _dblib(tmp_path, "parts.xlsx", table="Parts$", where="[Nope] LIKE 'x*' AND")
    parts = _read(dblib)
    assert len(parts.rows) == 3 and "could not be applied" in parts.warnings[0]


def _csv(path: Path, delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(ROWS[0].keys()), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(ROWS)
    return path


def test_csv_file_and_folder(tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    _csv(folder / "Resistors.csv", delimiter=";")
    dblib = _dblib(tmp_path, "tables", table="resistors#csv")
    assert [r["Value"] for r in _read(dblib).rows] == ["1k", "2.2k", "100n"]
    single = _dblib(tmp_path, "tables\\Resistors.csv", table="Anything")
    assert len(_read(single).rows) == 3


# -- SQL -------------------------------------------------------------------------------------


def _fill(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    q = "`" if engine.dialect.name == "mysql" else '"'
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {q}Parts{q} ({q}Part Number{q} TEXT, {q}Value{q} TEXT, "
                f"{q}Library Ref{q} TEXT, {q}Qty{q} REAL)"
            )
        )
        conn.execute(
            text(f"INSERT INTO {q}Parts{q} VALUES (:a, :b, :c, :d)"),
            [dict(zip("abcd", r.values(), strict=False)) for r in reversed(ROWS)],
        )
    engine.dispose()


def test_sqlite_file_named_by_the_dblib(tmp_path):
    _fill(f"sqlite:///{tmp_path / 'parts.db'}")
    parts = _read(_dblib(tmp_path, "PARTS.DB", where="[Qty] > 5 OR [Qty] IS NULL"))
    assert sorted(r["Part Number"] for r in parts.rows) == ["C100N", "R1K"]


def test_postgres_by_url(tmp_path):
    with scratch_postgres() as url:
        _fill(url)
        dblib = _dblib(tmp_path, "", table="parts", where="[Library Ref] = 'RES'")
        parts = _read(dblib, url=url)
        assert {r["Part Number"] for r in parts.rows} == {"R1K", "R2K2"}
        assert parts.columns == ["Part Number", "Value", "Library Ref", "Qty"]


def test_mariadb_by_url(tmp_path):
    with scratch_mariadb() as url:
        _fill(url)
        dblib = _dblib(tmp_path, "", table="PARTS", where="[Library Ref] = 'RES'")
        parts = _read(dblib, url=url)
        assert [r["Part Number"] for r in parts.rows] == ["R1K", "R2K2"]  # ordered by the key column
        assert [r["Qty"] for r in parts.rows] == ["10", "2.5"]


# -- unreachable -----------------------------------------------------------------------------


def test_missing_file_names_dblib_connection_and_reason(tmp_path):
    dblib = _dblib(tmp_path, "database\\gone.mdb")
    with pytest.raises(DatabaseUnreachable) as err:
        _read(dblib)
    message = str(err.value)
    assert str(dblib) in message and "gone.mdb" in message and "not found" in message


def test_unreachable_server_masks_the_password(tmp_path):
    dblib = _dblib(tmp_path, "", connection="Provider=SQLOLEDB;Data Source=srv;User ID=sa;Password=S3cret;")
    with pytest.raises(DatabaseUnreachable, match="SQL Server.*--database-url") as err:
        _read(dblib)
    assert "S3cret" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(DatabaseUnreachable) as err:
        _read(dblib, url="postgresql+psycopg2://postgres:S3cret@127.0.0.1:5432/a2k_no_such_database")
    assert "S3cret" not in str(err.value) and "a2k_no_such_database" in str(err.value)
    assert str(dblib) in str(err.value)


def test_unknown_odbc_dsn(tmp_path):
    dblib = _dblib(
        tmp_path, "", connection="Provider=MSDASQL.1;Persist Security Info=False;DSN=NoSuchDsn;PWD=pw"
    )
    assert choose_source(read_dblib(dblib)).kind == "odbc"
    with pytest.raises(DatabaseUnreachable, match="NoSuchDsn") as err:
        _read(dblib)
    assert "pw;" not in str(err.value)


def test_corrupt_access_file(tmp_path):
    (tmp_path / "bad.mdb").write_bytes(b"not an access file" * 100)
    with pytest.raises(DatabaseUnreachable, match="bad.mdb"):
        _read(_dblib(tmp_path, "bad.mdb"))
