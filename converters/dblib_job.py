"""Converts one Altium database library (.DbLib / .SVNDbLib) and everything its parts use.

Steps: read the DbLib (altium.dblib), open its parts tables (altium.parts_tables), convert each
symbol and footprint library a part names once (through the run's cache), then write the parts
with their KiCad `Lib:Item` links into a SQL database and a `.kicad_dbl` that points at it.

Every part becomes a row in the database and a `part` row in the report:
- ok       symbol and every named footprint found and converted;
- warning  the symbol is there but a footprint is missing (the part still places, without it);
- failed   the symbol is missing (KiCad shows the part with an empty symbol).
The database row of a part that is not ok says why in `Conversion Notes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .altium.dblib import (
    DatabaseLibrary,
    DbLibError,
    DbLibTable,
    FieldMap,
    driver_error_reason,
    mask_connection_string,
    read_dblib,
)
from .altium.parts_snapshot import open_snapshot
from .altium.parts_tables import PartsTable, TableError, open_parts_source
from .altium.paths import find_file_named, resolve_path, split_windows_path
from .kicad.dbl_writer import odbc_connection_string, sqlite_connection_string, write_kicad_dbl
from .kicad.parts_database import TableFailure, write_sqlite_file, write_tables
from .kicad.parts_partitions import PartitionLayout, write_partitioned
from .kicad.sql_identifiers import IdentifierScope
from .model.parts import PartField, PartsDatabase, PartsLibrary
from .naming import UniqueNames, safe_symbol_name
from .report import ItemReport, Status
from .run import ConversionRun, ConvertedLibrary

KEY_COLUMN, SYMBOLS_COLUMN, FOOTPRINTS_COLUMN = "Key", "Symbols", "Footprints"
STATUS_COLUMN, NOTES_COLUMN = "Conversion Status", "Conversion Notes"
DATABASE_FOLDER = "database"
_KICAD_FIELD_NAMES = {"value": "Value", "datasheet": "Datasheet", "helpurl": "Datasheet"}
_RESERVED_COLUMN = re.compile(r"(library|footprint) (ref|path)( \d+)?", re.IGNORECASE)
_DESCRIPTION_NAMES = {"description", "ki_description"}
_KEYWORD_NAMES = {"keywords", "keyword", "ki_keywords"}
_FILTER_NAMES = {"footprint filters", "ki_fp_filters"}


@dataclass
class Resolution:
    """What one library link of a part became: a KiCad `Lib:Item` (with a warning when the name
    only nearly matched), or why not."""

    target: str = ""
    problem: str = ""
    warning: str = ""


@dataclass
class ItemMatch:
    """The item a part's reference names: its KiCad name, the source name when it only nearly
    matched, or the several items it could mean."""

    kicad_name: str | None = None
    near: str = ""
    candidates: list[str] = field(default_factory=list)


def _folds(name: str) -> list[str]:
    """Ever looser forms of a name: letter case ignored, then `/` and `_` taken for one (tables
    often hold the name a tool wrote after replacing `/`)."""
    return [name.casefold(), name.replace("/", "_").casefold()]


def match_item(items: dict[str, str], reference: str) -> ItemMatch:
    """The item `reference` names among `items` (source name -> KiCad name): exactly, else the one
    item a looser form matches; several matches are ambiguous, never guessed."""
    if reference in items:
        return ItemMatch(items[reference])
    for level, wanted in enumerate(_folds(reference)):
        hits = [name for name in items if _folds(name)[level] == wanted]  # in source order
        found = {items[name] for name in hits}
        if len(found) == 1:
            kicad_name = found.pop()
            # a footprint is also listed under its storage name: name the item by its first name
            return ItemMatch(kicad_name, near=next(k for k, v in items.items() if v == kicad_name))
        if hits:
            return ItemMatch(candidates=hits)
    return ItemMatch()


@dataclass
class TableColumns:
    """Which source columns hold the key and the symbol/footprint links of one table."""

    key: str
    library_ref: str = ""
    library_path: str = ""
    footprints: list[tuple[str, str]] = field(default_factory=list)  # (ref column, path column)
    parameters: list[FieldMap] = field(default_factory=list)


class LibraryResolver:
    """Finds the library files parts name and converts each once (the run caches by path)."""

    def __init__(self, run: ConversionRun, library: DatabaseLibrary) -> None:
        self.run = run
        self.library = library
        base = library.path.parent
        self.bases = [base]
        self.checkout = Path(run.options.svn_checkout) if run.options.svn_checkout else None
        if self.checkout is not None:
            self.bases.insert(0, self.checkout)
        self.search_folders: list[Path] = []
        for raw in library.library_search_paths:
            found = resolve_path(raw, self.bases)
            if found is not None and found.is_dir():
                self.search_folders.append(found)
        self._libraries: dict[tuple[str, str], ConvertedLibrary | str] = {}
        self._paths: dict[str, Path | None] = {}
        self._real_paths: dict[Path, str] = {}
        self.used: dict[tuple[str, str], ConvertedLibrary] = {}

    def _convert(self, path: Path, kind: str) -> ConvertedLibrary | str:
        """The converted library, or the reason it could not be converted (cached per file)."""
        key = (self._resolved(path), kind)
        if key not in self._libraries:
            try:
                if path.suffix.lower() == ".intlib":
                    libs = [lib for lib in self.run.integrated_library(path) if lib.kind == kind]
                    result: ConvertedLibrary | str = libs[0] if libs else f"{path} holds no {kind}"
                elif kind == "symbols":
                    result = self.run.symbol_library(path)
                else:
                    result = self.run.footprint_library(path)
            except Exception as exc:  # one bad library costs its parts' links, never the DbLib
                result = f"{path} could not be converted ({type(exc).__name__}: {exc})"
            self._libraries[key] = result
        return self._libraries[key]

    def _resolved(self, path: Path) -> str:
        """The file's real path, the cache key of its conversion: looked up once per path (a
        70,000-part DbLib links two libraries 140,000 times; resolving each link was a third of
        the conversion's time)."""
        if path not in self._real_paths:
            self._real_paths[path] = str(path.resolve())
        return self._real_paths[path]

    def _search(self, item: str, kind: str) -> ConvertedLibrary | None:
        """A library in the DbLib's search path holding `item` (for parts naming no file)."""
        extensions = (".schlib",) if kind == "symbols" else (".pcblib",)
        for folder in self.search_folders:
            pattern = folder.rglob("*") if self.library.search_subdirectories else folder.iterdir()
            for path in sorted(
                p for p in pattern if p.is_file() and p.suffix.lower() in extensions + (".intlib",)
            ):
                converted = self._convert(path, kind)
                if isinstance(converted, ConvertedLibrary) and match_item(converted.items, item).kicad_name:
                    return converted
        return None

    def locate(self, raw_path: str) -> Path | None:
        """The library file a part's path names (cached: tables repeat the same few paths)."""
        if raw_path not in self._paths:
            _, parts = split_windows_path(raw_path)
            path = resolve_path(raw_path, self.bases)
            if (path is None or not path.is_file()) and parts:
                # Altium also finds a library by its file name in the search path
                path = next(
                    (
                        found
                        for folder in self.search_folders
                        if (found := resolve_path(parts[-1], [folder])) is not None
                    ),
                    None,
                )
            if path is None and self.checkout is not None and parts:
                # an SVNDbLib names files inside its repository's symbol/footprint folders
                path = find_file_named(parts[-1], [self.checkout], recursive=True)
            self._paths[raw_path] = path if path is None or path.is_file() else None
        return self._paths[raw_path]

    def resolve(self, item: str, raw_path: str, kind: str) -> Resolution:
        noun = "symbol" if kind == "symbols" else "footprint"
        item = (item or "").strip()
        if not item:
            return Resolution(
                problem=f"no {noun} named (empty {'[Library Ref]' if kind == 'symbols' else '[Footprint Ref]'})"
            )
        if raw_path and raw_path.strip():
            path = self.locate(raw_path)
            if path is None:
                hint = (
                    " (give the SVN checkout with --svn-checkout)"
                    if self.library.is_svn and self.checkout is None
                    else ""
                )
                return Resolution(
                    problem=f"{noun} library not found: {raw_path} "
                    f"(looked from {', '.join(str(b) for b in self.bases)}){hint}"
                )
            converted = self._convert(path, kind)
            if isinstance(converted, str):
                return Resolution(problem=f"{noun} library {converted}")
        else:
            found = self._search(item, kind)
            if found is None:
                return Resolution(
                    problem=f"{noun} '{item}' names no library file and is not in the "
                    "DbLib's library search path"
                )
            converted = found
        match = match_item(converted.items, item)
        if match.candidates:
            return Resolution(
                problem=f"{noun} '{item}' is ambiguous in {converted.source.name}: it could be "
                + ", ".join(f"'{c}'" for c in match.candidates)
            )
        if match.kicad_name is None:
            return Resolution(problem=f"{noun} '{item}' not found in {converted.source.name}")
        self.used[(str(converted.path), kind)] = converted
        warnings = []
        if match.near:
            warnings.append(
                f"{noun} '{item}' taken as '{match.near}' of {converted.source.name} "
                "(the only one whose name differs only by letter case or '/' written as '_')"
            )
        note = converted.notes.get(item) or converted.notes.get(match.near or "")
        if note:
            warnings.append(note)
        return Resolution(target=f"{converted.nickname}:{match.kicad_name}", warning="; ".join(warnings))


def _column(columns: list[str], wanted: str) -> str | None:
    """A source column by name; Access and Excel column names ignore case, and `[Name]` is the
    column `Name` quoted as Access SQL quotes it."""
    if wanted in columns:
        return wanted
    folded = {c.casefold(): c for c in columns}
    found = folded.get(wanted.casefold()) or folded.get(wanted.strip().casefold())
    bare = wanted.strip()
    if found is None and len(bare) > 2 and bare.startswith("[") and bare.endswith("]"):
        return _column(columns, bare[1:-1])
    return found


def table_columns(maps: list[FieldMap], columns: list[str], warnings: list[str]) -> TableColumns:
    """The key, link and parameter columns of a table from its field maps (unknown columns warned)."""
    key_map = next((m for m in maps if m.is_key), None)
    key = (
        (_column(columns, key_map.column) if key_map else None)
        or _column(columns, "Part Number")
        or (columns[0] if columns else "")
    )
    result = TableColumns(key)
    refs: dict[int, str] = {}
    paths: dict[int, str] = {}
    for mapping in maps:
        column = _column(columns, mapping.column)
        if column is None:
            warnings.append(
                f"field map '{mapping.parameter}' names column '{mapping.column}', "
                "which the table does not have; skipped"
            )
            continue
        role = mapping.role
        if role is None:
            result.parameters.append(
                FieldMap(
                    mapping.table, column, mapping.parameter_name, mapping.field_type, mapping.visible_on_add
                )
            )
        elif role[0] == "library_ref":
            result.library_ref = column
        elif role[0] == "library_path":
            result.library_path = column
        elif role[0] == "footprint_ref":
            refs[role[1]] = column
        else:
            paths[role[1]] = column
    # Without field maps Altium still reads the standard column names.
    result.library_ref = result.library_ref or _column(columns, "Library Ref") or ""
    result.library_path = result.library_path or _column(columns, "Library Path") or ""
    if not refs:
        for column in columns:
            match = re.fullmatch(r"footprint ref(?: (\d+))?", column.strip(), re.IGNORECASE)
            if match:
                refs[int(match.group(1) or 1)] = column
                paths.setdefault(
                    int(match.group(1) or 1),
                    _column(columns, f"Footprint Path{' ' + match.group(1) if match.group(1) else ''}") or "",
                )
    result.footprints = [(refs[n], paths.get(n, "")) for n in sorted(refs)]
    # Altium shows every column no field map claims as a parameter of the same name.
    claimed = {c.casefold() for c in (result.library_ref, result.library_path) if c}
    claimed |= {c.casefold() for pair in result.footprints for c in pair if c}
    claimed |= {m.column.casefold() for m in result.parameters}
    claimed |= {m.column.casefold() for m in maps}
    for column in columns:
        if column.casefold() not in claimed and not _RESERVED_COLUMN.fullmatch(column.strip()):
            result.parameters.append(FieldMap("", column, column.strip() or column))
    return result


def _unique_source_columns(columns: list[str], scope: IdentifierScope, warnings: list[str]) -> list[str]:
    """Column names every SQL server takes: no two that differ only in case or accents, none empty,
    none with a NUL (a damaged CSV or sheet header), none longer than the servers allow."""
    unique = []
    for i, column in enumerate(columns):
        wanted = column if column.replace("\x00", "").strip() else f"Column {i + 1}"
        before = len(scope.renamed)
        name = scope.claim(wanted)
        if name != column:
            reason = scope.renamed[-1].reason if len(scope.renamed) > before else "name empty"
            shown = column.replace("\x00", "\\0")
            warnings.append(f"column '{shown}' written as '{name}' ({reason})")
        unique.append(name)
    return unique


def _without_nul_characters(rows: list[dict], warnings: list[str]) -> list[dict]:
    """The rows with NUL characters dropped from their text: a NUL ends a value for KiCad's ODBC
    reads and PostgreSQL refuses the whole write over one (a damaged sheet or CSV cell)."""
    damaged: dict[str, int] = {}
    cleaned = []
    for row in rows:
        clean = {}
        for column, cell in row.items():
            if isinstance(cell, str) and "\x00" in cell:
                damaged[column] = damaged.get(column, 0) + 1
                cell = cell.replace("\x00", "")
            clean[column] = cell
        cleaned.append(clean)
    for column, count in damaged.items():
        warnings.append(f"column '{column}': NUL characters dropped from {count} value(s)")
    return cleaned


def _added_column(wanted: str, scope: IdentifierScope) -> str:
    name = wanted
    while scope.is_taken(name):
        name = f"{name} (KiCad)"
    return scope.claim(name)


def _written_columns(cols: TableColumns, rename: dict[str, str]) -> TableColumns:
    """The same roles under the names the columns are written with."""

    def written(column: str) -> str:
        return rename.get(column, column) if column else column

    return TableColumns(
        written(cols.key),
        written(cols.library_ref),
        written(cols.library_path),
        [(written(ref), written(path)) for ref, path in cols.footprints],
        [
            FieldMap(m.table, written(m.column), m.parameter, m.field_type, m.visible_on_add)
            for m in cols.parameters
        ],
    )


def _sql_table_name(name: str) -> str:
    cleaned = re.sub(r"[^\w\- ]", "_", name).strip("_ ")
    return cleaned or "parts"


def build_library(
    library: DatabaseLibrary,
    table: DbLibTable,
    parts: PartsTable,
    resolver: LibraryResolver,
    nickname: str,
    sql_table: str,
    warnings: list[str],
    part_rows: list[ItemReport],
) -> PartsLibrary:
    """One KiCad sub-library: every source row kept, links resolved, a report row per part."""
    scope = IdentifierScope()
    columns = _unique_source_columns(parts.columns, scope, warnings)
    rename = dict(zip(parts.columns, columns, strict=True))
    source_rows = [{rename[c]: row.get(c) for c in parts.columns} for row in parts.rows]
    rows = _without_nul_characters(source_rows, warnings)
    # field maps name the source columns; the parts are written under the SQL names
    cols = _written_columns(table_columns(library.maps_for(table.name), parts.columns, warnings), rename)
    key_col, sym_col, fp_col, status_col, notes_col = (
        _added_column(n, scope)
        for n in (KEY_COLUMN, SYMBOLS_COLUMN, FOOTPRINTS_COLUMN, STATUS_COLUMN, NOTES_COLUMN)
    )
    # the sub-library name KiCad puts before each part's key (`Name/Key`): a LIB_ID item name
    display = safe_symbol_name(table.name.rstrip("$").replace("/", "_") or sql_table)
    keys = UniqueNames()
    for number, (row, source_row) in enumerate(zip(rows, source_rows, strict=True), start=1):
        raw_key = (source_row.get(cols.key) or "").strip() if cols.key else ""
        source_key = (row.get(cols.key) or "").strip() if cols.key else ""
        wanted = source_key or f"{display} row {number}"
        key, clashed = keys.claim(wanted)
        messages = []
        if not source_key:
            messages.append(f"row {number} has no '{cols.key}'; key '{key}' given")
        elif source_key != raw_key:
            shown = raw_key.replace("\x00", "\\0")
            messages.append(f"'{cols.key}' value '{shown}' holds a NUL character; key '{key}' given")
        elif clashed:
            messages.append(f"'{cols.key}' value '{source_key}' used by an earlier row; key '{key}' given")
        symbol = resolver.resolve(
            row.get(cols.library_ref) or "" if cols.library_ref else "",
            row.get(cols.library_path) or "" if cols.library_path else "",
            "symbols",
        )
        messages += [symbol.warning] if symbol.warning else []
        footprints = []
        footprint_problems = []
        for ref_col, path_col in cols.footprints:
            ref = (row.get(ref_col) or "").strip()
            if not ref:
                continue
            found = resolver.resolve(ref, (row.get(path_col) or "") if path_col else "", "footprints")
            if found.target:
                if found.target not in footprints:
                    footprints.append(found.target)
                if found.warning:
                    messages.append(found.warning)
            else:
                footprint_problems.append(found.problem)
        problems = ([symbol.problem] if symbol.problem else []) + footprint_problems
        status = (
            Status.FAILED
            if symbol.problem
            else (Status.WARNING if footprint_problems or messages else Status.OK)
        )
        row.update(
            {
                key_col: key,
                sym_col: symbol.target or None,
                fp_col: ";".join(footprints) or None,
                status_col: status.value,
                notes_col: "; ".join(messages + problems) or None,
            }
        )
        part_rows.append(
            ItemReport(
                str(library.path),
                f"{display}/{key}",
                "part",
                f"{nickname}:{display}/{key}",
                status,
                messages + problems,
            )
        )
    part_fields, description, keywords, filters = [], "", "", ""
    field_names: set[str] = set()
    for mapping in cols.parameters:
        folded = mapping.parameter.strip().casefold()
        if folded in _DESCRIPTION_NAMES:
            description = description or mapping.column
            continue
        if folded in _KEYWORD_NAMES:
            keywords = keywords or mapping.column
            continue
        if folded in _FILTER_NAMES:
            filters = filters or mapping.column
            continue
        name = _KICAD_FIELD_NAMES.get(folded, mapping.parameter)
        if name.casefold() in field_names:
            name = mapping.parameter
            if name.casefold() in field_names:
                warnings.append(
                    f"parameter '{name}' mapped twice; column '{mapping.column}' not shown as a field"
                )
                continue
        field_names.add(name.casefold())
        part_fields.append(
            PartField(
                mapping.column,
                name,
                visible_on_add=mapping.visible_on_add,
                visible_in_chooser=mapping.column == cols.key or name == "Value",
            )
        )
    return PartsLibrary(
        display,
        sql_table,
        columns + [key_col, sym_col, fp_col, status_col, notes_col],
        rows,
        key_col,
        sym_col,
        fp_col,
        part_fields,
        description,
        keywords,
        filters,
    )


def convert_database_library(run: ConversionRun, path: Path) -> list[ConvertedLibrary]:
    """Converts a DbLib: its parts database, `.kicad_dbl` and the libraries its parts use."""
    try:
        library = read_dblib(path)
    except DbLibError as exc:
        run.fail_library(path, "library", str(exc))
        return []
    enabled = [t for t in library.tables if t.enabled]
    for table in library.tables:
        if not table.enabled:
            run.report.add(
                ItemReport(
                    str(path),
                    table.name,
                    "library",
                    "",
                    Status.WARNING,
                    [f"table '{table.name}' is disabled in the DbLib; its parts were not converted"],
                )
            )
    if not enabled:
        run.fail_library(path, "library", "the DbLib has no enabled table")
        return []
    try:
        snapshot = run.options.parts_snapshot
        source = (open_snapshot(Path(snapshot), library) if snapshot else None) or open_parts_source(
            library, run.options.database_url, run.options.engine_options
        )
    except DbLibError as exc:
        run.report.add(ItemReport(str(path), "parts database", "library", "", Status.FAILED, [str(exc)]))
        return []

    nickname = run.claim_nickname("symbols", path, path.stem)  # .kicad_dbl share the symbol table
    resolver = LibraryResolver(run, library)
    output_url = run.options.output_database_url
    database = PartsDatabase(nickname, f"Converted from {path.name} by altium2kicad")
    table_names = IdentifierScope()  # SQL names every server takes, unique in the database
    pending: list[tuple[PartsLibrary, list[ItemReport]]] = []  # reported once the parts are written
    try:
        for table in enabled:
            warnings: list[str] = []
            key_map = next((m for m in library.maps_for(table.name) if m.is_key), None)
            try:
                source.order_by = key_map.column if key_map else None
                parts = source.read(table)
            except (TableError, OSError) as exc:
                run.report.add(
                    ItemReport(
                        str(path),
                        table.name,
                        "library",
                        "",
                        Status.FAILED,
                        [f"{path}: table '{table.name}': {exc}"],
                    )
                )
                continue
            except Exception as exc:  # a driver error on one table costs that table only
                run.report.add(
                    ItemReport(
                        str(path),
                        table.name,
                        "library",
                        "",
                        Status.FAILED,
                        [f"{path}: table '{table.name}' could not be read: {driver_error_reason(exc)}"],
                    )
                )
                continue
            warnings += parts.warnings
            wanted = _sql_table_name(table.name)
            if output_url:
                wanted = f"{nickname}_{wanted}"
            before = len(table_names.renamed)
            sql_table = table_names.claim(wanted)
            if len(table_names.renamed) > before:
                renamed = table_names.renamed[-1]
                warnings.append(
                    f"SQL table '{renamed.original}' written as '{renamed.written}' ({renamed.reason})"
                )
            rows: list[ItemReport] = []
            built = build_library(library, table, parts, resolver, nickname, sql_table, warnings, rows)
            database.libraries.append(built)
            rows.append(
                ItemReport.from_warnings(
                    str(path),
                    table.name,
                    "library",
                    f"{nickname}:{built.name}",
                    [f"table '{table.name}': {w}" for w in warnings],
                )
            )
            pending.append((built, rows))
    finally:
        source.close()
    dbl_path = run.out / DATABASE_FOLDER / f"{nickname}.kicad_dbl"
    if not database.libraries:
        run.fail_library(path, "library", "no table of the DbLib could be read")
        return []
    target = mask_connection_string(run.options.output_database_url or "") or str(
        run.out / DATABASE_FOLDER / f"{nickname}.sqlite"
    )
    try:
        connection, failures = _write_parts(run, database, nickname)
    except Exception as exc:
        reason = (
            f"{path}: parts database {target} could not be written: "
            f"{type(exc).__name__}: {driver_error_reason(exc)}"
        )
        run.report.add(ItemReport(str(path), "parts database", "library", "", Status.FAILED, [reason]))
        _report_unwritten(run, [row for _, rows in pending for row in rows], "the parts database")
        dbl_path.unlink(missing_ok=True)  # a .kicad_dbl of an earlier run would list lost tables
        return []
    failed = {id(f.library): f for f in failures}
    for built, rows in pending:
        failure = failed.get(id(built))
        if failure is None:
            for row in rows:
                run.report.add(row)
            continue
        table_row = rows[-1]
        table_row.status = Status.FAILED
        table_row.target = ""
        table_row.messages.append(
            f"{path}: table '{table_row.item}' (SQL table '{built.table}') could not be written to "
            f"{target}: {mask_connection_string(failure.reason)}; its parts are not in the database"
        )
        run.report.add(table_row)
        _report_unwritten(run, rows[:-1], f"SQL table '{built.table}'")
    database.libraries = [lib for lib in database.libraries if id(lib) not in failed]
    if not database.libraries:
        dbl_path.unlink(missing_ok=True)
        return []
    dbl_path = write_kicad_dbl(database, dbl_path, connection)
    items = {
        key: f"{lib.name}/{key}"
        for lib in database.libraries
        for row in lib.rows
        if (key := row[lib.key_column]) is not None
    }
    converted = ConvertedLibrary(path, "database", nickname, dbl_path, items)
    return [converted] + sorted(resolver.used.values(), key=lambda lib: (lib.kind, lib.nickname))


def _report_unwritten(run: ConversionRun, rows: list[ItemReport], what: str) -> None:
    """Every part of `rows` failed: `what` (its table or the whole database) could not be written."""
    for row in rows:
        if row.kind == "part":
            run.report.add(
                ItemReport(
                    row.source,
                    row.item,
                    row.kind,
                    "",
                    Status.FAILED,
                    row.messages + [f"not written: {what} could not be written"],
                )
            )


def _write_parts(
    run: ConversionRun, database: PartsDatabase, nickname: str
) -> tuple[str, list[TableFailure]]:
    """Writes the parts (SQLite beside the .kicad_dbl, or the output URL): the ODBC string to them
    and the tables that could not be written."""
    folder = run.out / DATABASE_FOLDER
    url = run.options.output_database_url
    if url and run.options.parts_partitions:
        layout = PartitionLayout(run.options.parts_partitions, run.options.partition_method)
        return odbc_connection_string(url, folder), write_partitioned(
            database, url, layout, run.options.engine_options
        )
    if url:
        return odbc_connection_string(url, folder), write_tables(database, url, run.options.engine_options)
    failures = write_sqlite_file(database, folder / f"{nickname}.sqlite")
    return sqlite_connection_string(f"{nickname}.sqlite"), failures
