"""The parts tables behind a DbLib: Access, Excel, CSV, or any SQL database SQLAlchemy reaches.

Altium opens its database through Windows OLE DB/ODBC, which Linux does not have. Each source
here reads the same thing, a table as column names plus rows of text, so the converter does not
care where the parts came from:

- Access .mdb/.accdb through mdbtools (`mdb-tables`, `mdb-export`), which reads real files right;
- Excel .xlsx (openpyxl) / .xls (xlrd), tables named `Sheet$` as Altium's ACE driver names them;
- CSV files (Altium's text driver: the data source is a folder, a table is `file.csv`/`file#csv`);
- SQL Server, MySQL/MariaDB, PostgreSQL, SQLite through a SQLAlchemy URL (`--database-url`), and
  an ODBC connection string (DSN=/Driver=) through pyodbc when unixODBC knows the driver.

Values are text (None for NULL): Altium shows every column as a parameter string anyway.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .dblib import DatabaseLibrary, DbLibError, DbLibTable, driver_error_reason, mask_connection_string
from .paths import resolve_path

DATABASE_URL_ENV = "ALTIUM2KICAD_DATABASE_URL"
ACCESS_EXTENSIONS = {".mdb", ".accdb"}
EXCEL_EXTENSIONS = {".xls", ".xlsx", ".xlsm"}
CSV_EXTENSIONS = {".csv", ".txt", ".tab"}
SQLITE_EXTENSIONS = {".db", ".sqlite", ".sqlite3", ".db3"}
_SQL_SERVER_PROVIDERS = ("sqloledb", "sqlncli", "msoledbsql")


class DatabaseUnreachable(DbLibError):
    """The parts database cannot be opened at all (names DbLib, masked connection and reason)."""


class TableError(Exception):
    """One table cannot be read (the other tables of the DbLib still convert)."""


@dataclass
class PartsTable:
    """One table's content: column names in source order and rows of text values."""

    name: str
    columns: list[str]
    rows: list[dict[str, str | None]]
    warnings: list[str] = field(default_factory=list)


def _text(value: object) -> str | None:
    """Every value as the text Altium would show; integral floats lose their `.0` (Excel)."""
    if type(value) is str:  # most values of most tables: no further checks (630,000 in a big DbLib)
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _match_name(wanted: str, available: list[str]) -> str | None:
    """A table name as the database spells it; Access and Excel names ignore case."""
    if wanted in available:
        return wanted
    folded = {a.casefold(): a for a in available}
    for candidate in (wanted, wanted.rstrip("$"), wanted.strip("[]'\""), wanted.replace("#", ".")):
        if candidate.casefold() in folded:
            return folded[candidate.casefold()]
    return None


def apply_where(table: PartsTable, where: str) -> PartsTable:
    """Filters rows with a DbLib's WHERE clause, run by SQLite (which also quotes with `[ ]`)."""
    db = sqlite3.connect(":memory:")
    try:
        cols = ", ".join(f'"{c}"' for c in table.columns)
        db.execute(f'CREATE TABLE "{table.name}" ("_row" INTEGER, {cols})')
        marks = ", ".join("?" for _ in range(len(table.columns) + 1))
        db.executemany(
            f'INSERT INTO "{table.name}" VALUES ({marks})',
            [(i, *(r.get(c) for c in table.columns)) for i, r in enumerate(table.rows)],
        )
        keep = [
            row[0] for row in db.execute(f'SELECT "_row" FROM "{table.name}" WHERE {where} ORDER BY "_row"')
        ]
    except sqlite3.Error as exc:
        table.warnings.append(f"WHERE clause '{where}' could not be applied ({exc}); all rows kept")
        return table
    finally:
        db.close()
    return PartsTable(table.name, table.columns, [table.rows[i] for i in keep], table.warnings)


class PartsSource:
    """Reads the tables of one parts database."""

    description = ""
    order_by: str | None = None  # the key column; sources without a row order of their own sort by it

    def table_names(self) -> list[str]:
        raise NotImplementedError

    def read_all(self, name: str) -> PartsTable:
        raise NotImplementedError

    def read(self, table: DbLibTable) -> PartsTable:
        """A DbLib table's rows, its WHERE clause applied when it filters rows."""
        found = _match_name(table.name, self.table_names())
        if found is None:
            raise TableError(
                f"table '{table.name}' not found in {self.description} "
                f"(it has: {', '.join(self.table_names()) or 'no tables'})"
            )
        parts = self.read_all(found)
        parts.name = table.name
        if table.user_where and table.where_text.strip():
            if table.where_is_lookup:
                parts.warnings.append(
                    f"WHERE clause '{table.where_text}' is a placement-time lookup "
                    "({Parameter} placeholders); all rows kept"
                )
            else:
                parts = self.filter(parts, table.where_text)
        return parts

    def filter(self, parts: PartsTable, where: str) -> PartsTable:
        return apply_where(parts, where)

    def close(self) -> None:
        pass


MDB_TIMEOUT = 600  # seconds for one mdbtools call: a corrupt file must not hang a worker forever


class AccessSource(PartsSource):
    """An Access database read with mdbtools (binary columns are dropped to their hex)."""

    def __init__(self, path: Path) -> None:
        for tool in ("mdb-tables", "mdb-export"):
            if shutil.which(tool) is None:
                raise OSError(f"{tool} is not installed (Debian package mdbtools)")
        self.path = path
        self.description = f"Access database {path}"
        try:
            result = subprocess.run(
                ["mdb-tables", "-1", str(path)], capture_output=True, text=True, timeout=MDB_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise OSError(f"mdb-tables did not finish within {MDB_TIMEOUT} s on {path}") from None
        if result.returncode != 0:
            raise OSError((result.stderr.strip() or f"mdb-tables exit {result.returncode}").splitlines()[-1])
        self._tables = [t for t in result.stdout.splitlines() if t.strip()]

    def table_names(self) -> list[str]:
        return self._tables

    def read_all(self, name: str) -> PartsTable:
        try:
            result = subprocess.run(
                [
                    "mdb-export",
                    "-D",
                    "%Y-%m-%d",
                    "-T",
                    "%Y-%m-%d %H:%M:%S",
                    "-b",
                    "hex",
                    str(self.path),
                    name,
                ],
                capture_output=True,
                timeout=MDB_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise TableError(
                f"mdb-export did not finish within {MDB_TIMEOUT} s on table '{name}' of {self.path}"
            ) from None
        if result.returncode != 0:
            raise TableError(
                f"mdb-export failed on table '{name}' of {self.path}: "
                f"{result.stderr.decode('utf-8', 'replace').strip()}"
            )
        return parse_mdb_export(name, result.stdout.decode("utf-8", errors="replace"))


def parse_mdb_export(name: str, text: str) -> PartsTable:
    """mdb-export's CSV (header row, fields quoted when they hold `,`, `"` or new lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    rows = [
        {c: (row[i] if i < len(row) and row[i] != "" else None) for i, c in enumerate(header)}
        for row in reader
        if row
    ]
    return PartsTable(name, header, rows)


class ExcelSource(PartsSource):
    """An Excel workbook; each sheet is a table called `Sheet$`, its first row the column names."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"Excel workbook {path}"
        self._sheets = _read_workbook(path)

    def table_names(self) -> list[str]:
        return [f"{name}$" for name in self._sheets]

    def read_all(self, name: str) -> PartsTable:
        sheet = name[:-1] if name.endswith("$") else name
        cells = self._sheets[sheet]
        if not cells:
            return PartsTable(name, [], [])
        header = [_text(v) or f"F{i + 1}" for i, v in enumerate(cells[0])]
        rows = []
        for values in cells[1:]:
            texts = [_text(v) for v in values]
            if all(t is None or t == "" for t in texts):
                continue
            rows.append(
                {c: (texts[i] if i < len(texts) and texts[i] != "" else None) for i, c in enumerate(header)}
            )
        return PartsTable(name, header, rows)


def _read_workbook(path: Path) -> dict[str, list[list[object]]]:
    if path.suffix.lower() == ".xls":
        import xlrd

        xls = xlrd.open_workbook(str(path))
        sheets: dict[str, list[list[object]]] = {}
        for sheet in xls.sheets():
            rows: list[list[object]] = []
            for r in range(sheet.nrows):
                row: list[object] = []
                for c in range(sheet.ncols):
                    cell = sheet.cell(r, c)
                    value: object = cell.value
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        value = xlrd.xldate.xldate_as_datetime(float(cell.value), xls.datemode)
                    elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        value = None
                    row.append(value)
                rows.append(row)
            sheets[sheet.name] = rows
        return sheets
    import openpyxl

    book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()


class CsvSource(PartsSource):
    """CSV files: one file is one table; a folder (Altium's text driver) holds one table per file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"CSV {'folder' if path.is_dir() else 'file'} {path}"
        if path.is_dir():
            self._files = {
                p.name: p
                for p in sorted(path.iterdir())
                if p.is_file() and p.suffix.lower() in CSV_EXTENSIONS
            }
        else:
            self._files = {path.name: path}

    def table_names(self) -> list[str]:
        return list(self._files)

    def read(self, table: DbLibTable) -> PartsTable:
        if not self.path.is_dir() and _match_name(table.name, self.table_names()) is None:
            # a single file answers to any table name (Altium names it after the file stem)
            table = DbLibTable(
                self.path.name, table.enabled, table.user_where, table.where_text, table.schema
            )
        return super().read(table)

    def read_all(self, name: str) -> PartsTable:
        raw = self._files[name].read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        sample = text[:4096]
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        header = [h.strip() for h in next(reader, [])]
        rows = [
            {c: (row[i] if i < len(row) and row[i] != "" else None) for i, c in enumerate(header)}
            for row in reader
            if any(cell.strip() for cell in row)
        ]
        return PartsTable(name, header, rows)


class SqlSource(PartsSource):
    """Any database SQLAlchemy reaches by URL; rows come ordered by the key for stable output."""

    def __init__(self, url: str, engine_options: dict | None = None) -> None:
        from sqlalchemy import create_engine, inspect

        self.url = url
        self.description = f"database {mask_connection_string(url)}"
        self.engine = create_engine(url, **(engine_options or {}))
        inspector = inspect(self.engine)
        self._tables = list(inspector.get_table_names()) + list(inspector.get_view_names())

    def table_names(self) -> list[str]:
        return self._tables

    def _quote(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote_identifier(name)

    def _bracket_to_dialect(self, where: str) -> str:
        """Altium writes `[Column]`; other databases quote with `"` or backticks."""
        if self.engine.dialect.name in ("mssql", "sqlite"):
            return where
        return re.sub(r"\[([^\]]+)\]", lambda m: self._quote(m.group(1)), where)

    def _select(self, name: str, where: str = "") -> PartsTable:
        from sqlalchemy import text

        sql = f"SELECT * FROM {self._quote(name)}"
        if where:
            sql += f" WHERE {self._bracket_to_dialect(where)}"
        with self.engine.connect() as conn:
            result = conn.execute(text(sql))
            columns = list(result.keys())
            rows = [{c: _text(v) for c, v in zip(columns, row, strict=False)} for row in result]
        # A server returns rows in no set order: sort (by the key first, when known) in Python,
        # so the order, and the keys made from it, do not depend on the server or its collation.
        first = self.order_by if self.order_by in columns else None
        rows.sort(
            key=lambda r: (
                (r[first] is None, r[first] or "") if first else (),
                [(r[c] is None, r[c] or "") for c in columns],
            )
        )
        return PartsTable(name, columns, rows)

    def read_all(self, name: str) -> PartsTable:
        return self._select(name)

    def filter(self, parts: PartsTable, where: str) -> PartsTable:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            found = _match_name(parts.name, self.table_names()) or parts.name
            filtered = self._select(found, where)
        except SQLAlchemyError as exc:
            parts.warnings.append(
                f"WHERE clause '{where}' failed on the database ({driver_error_reason(exc)}); all rows kept"
            )
            return parts
        filtered.name, filtered.warnings = parts.name, parts.warnings
        return filtered

    def close(self) -> None:
        self.engine.dispose()


class OdbcSource(PartsSource):
    """An ODBC connection string (DSN= or Driver=) opened through unixODBC with pyodbc."""

    def __init__(self, odbc: str) -> None:
        import pyodbc

        self.description = f"ODBC {mask_connection_string(odbc)}"
        self.conn = pyodbc.connect(odbc, timeout=5, autocommit=True)
        cursor = self.conn.cursor()
        self._tables = [row.table_name for row in cursor.tables() if row.table_type in ("TABLE", "VIEW")]
        quote = self.conn.getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR) or '"'
        self._q = quote.strip() or '"'

    def table_names(self) -> list[str]:
        return self._tables

    def read_all(self, name: str) -> PartsTable:
        cursor = self.conn.cursor()
        cursor.execute(f"SELECT * FROM {self._q}{name}{self._q}")
        columns = [d[0] for d in cursor.description]
        rows = [{c: _text(v) for c, v in zip(columns, row, strict=False)} for row in cursor.fetchall()]
        return PartsTable(name, columns, rows)

    def close(self) -> None:
        self.conn.close()


@dataclass
class SourceChoice:
    """Where the parts of a DbLib are, as decided from its settings (before opening anything)."""

    kind: str  # access, excel, csv, sqlite, sql, odbc, none
    target: str  # a file path, a URL or an ODBC string
    tried: list[str] = field(default_factory=list)


def database_file_candidates(library: DatabaseLibrary) -> list[str]:
    """Paths the DbLib gives for a database file, most specific first."""
    candidates = []
    if library.database_path:
        candidates.append(library.database_path)
    source = library.connection.data_source
    if source and source not in candidates:
        candidates.append(source)
    return candidates


def choose_source(library: DatabaseLibrary, database_url: str | None = None) -> SourceChoice:
    """Which reader opens this DbLib's parts, from the URL given or the DbLib's own settings."""
    url = database_url or os.environ.get(DATABASE_URL_ENV)
    if url:
        return SourceChoice("sql", url)
    base = library.path.parent
    tried: list[str] = []
    for raw in database_file_candidates(library):
        found = resolve_path(raw, [base])
        tried.append(raw)
        if found is None:
            continue
        ext = found.suffix.lower()
        if ext in ACCESS_EXTENSIONS:
            return SourceChoice("access", str(found), tried)
        if ext in EXCEL_EXTENSIONS:
            return SourceChoice("excel", str(found), tried)
        if ext in SQLITE_EXTENSIONS:
            return SourceChoice("sqlite", str(found), tried)
        if ext in CSV_EXTENSIONS or found.is_dir():
            return SourceChoice("csv", str(found), tried)
    provider = library.connection.provider.lower()
    if any(p in provider for p in _SQL_SERVER_PROVIDERS):
        return SourceChoice(
            "none",
            "SQL Server through OLE DB cannot be opened on Linux; give its "
            "SQLAlchemy URL with --database-url (e.g. mssql+pymssql://user@host/db)",
            tried,
        )
    if library.connection.get("DSN") or library.connection.get("Driver"):
        odbc = ";".join(
            f"{k}={v}"
            for k, v in library.connection.pairs.items()
            if k.casefold() not in ("provider", "persist security info", "extended properties")
        )
        return SourceChoice("odbc", odbc, tried)
    if tried:
        return SourceChoice(
            "none",
            f"database file not found (looked for {', '.join(tried)} "
            f"from {base}, matching letter case loosely)",
            tried,
        )
    return SourceChoice("none", "the DbLib names no database file, DSN or driver; give --database-url")


def open_parts_source(
    library: DatabaseLibrary, database_url: str | None = None, engine_options: dict | None = None
) -> PartsSource:
    """Opens the parts database; DatabaseUnreachable says which DbLib, connection and why.
    `engine_options` (pool sizes) go to the engine of a database reached by URL."""
    choice = choose_source(library, database_url)
    shown = (
        mask_connection_string(choice.target) if choice.kind in ("sql", "odbc") else library.connection.masked
    )

    def unreachable(reason: str) -> DatabaseUnreachable:
        return DatabaseUnreachable(
            f"{library.path}: cannot open the parts database (connection: {shown or '(none)'}): {reason}"
        )

    if choice.kind == "none":
        raise unreachable(choice.target)
    try:
        if choice.kind == "access":
            return AccessSource(Path(choice.target))
        if choice.kind == "excel":
            return ExcelSource(Path(choice.target))
        if choice.kind == "csv":
            return CsvSource(Path(choice.target))
        if choice.kind == "sqlite":
            return SqlSource(f"sqlite:///{Path(choice.target).resolve()}")
        if choice.kind == "sql":
            return SqlSource(choice.target, engine_options)
        return OdbcSource(choice.target)
    except DatabaseUnreachable:
        raise
    except Exception as exc:  # drivers raise anything: each is a reason to show, never a traceback
        raise unreachable(f"{type(exc).__name__}: {driver_error_reason(exc)}") from exc
