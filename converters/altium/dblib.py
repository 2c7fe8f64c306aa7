"""Altium database library files (.DbLib, .SVNDbLib): the INI model, nothing else.

A DbLib is an INI file Altium writes with CRLF line ends. Keys keep their case (Python's
configparser would fold them), sections repeat per table (`[Table1]`...) and per field map
(`[FieldMap1]`...), and each field map packs its own `|Key=Value|` options into one line. This
module turns the text into dataclasses; it opens no database and resolves no path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Parameter names Altium reserves for the symbol and footprint links of a part.
LIBRARY_REF = "[Library Ref]"
LIBRARY_PATH = "[Library Path]"
_FOOTPRINT = re.compile(r"^\[Footprint (Ref|Path)(?: (\d+))?\]$", re.IGNORECASE)
_SECRET_KEYS = {"password", "pwd", "jet oledb:database password"}


class DbLibError(Exception):
    """The database library file itself cannot be read (names the file and the reason)."""


@dataclass
class IniSection:
    """One `[Name]` block; keys keep their case, look-ups ignore it (as Windows INI does)."""

    name: str
    entries: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str = "") -> str:
        folded = key.casefold()
        for k, v in self.entries:
            if k.casefold() == folded:
                return v
        return default

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key).strip().lower()
        if not value:
            return default
        return value in ("1", "t", "true", "yes", "y")


def parse_ini(text: str) -> list[IniSection]:
    """Sections in file order; text before the first header goes to a nameless section."""
    sections = [IniSection("")]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]") and "=" not in line:
            sections.append(IniSection(line[1:-1].strip()))
            continue
        key, sep, value = raw.partition("=")
        if sep:
            sections[-1].entries.append((key.strip(), value.strip()))
    return sections


def parse_connection_string(text: str) -> dict[str, str]:
    """OLE DB / ODBC `Key=Value;...` pairs; `{...}` and quoted values may hold `;`."""
    pairs: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().strip(";").strip()
        j = eq + 1
        while j < n and text[j] == " ":
            j += 1
        if j < n and text[j] in "{\"'":
            close = {"{": "}", '"': '"', "'": "'"}[text[j]]
            end = text.find(close, j + 1)
            end = n if end < 0 else end
            value = text[j + 1 : end]
            semi = text.find(";", end)
            i = n if semi < 0 else semi + 1
        else:
            semi = text.find(";", j)
            semi = n if semi < 0 else semi
            value = text[j:semi].strip()
            i = semi + 1
        if key:
            pairs[key] = value
    return pairs


def mask_connection_string(text: str) -> str:
    """The connection string with every password replaced by `***`, safe for reports and logs."""

    def hide(match: re.Match[str]) -> str:
        return f"{match.group(1)}***"

    pattern = r"((?:^|;)\s*(?:" + "|".join(re.escape(k) for k in _SECRET_KEYS) + r")\s*=\s*)(\{[^}]*\}|[^;]*)"
    masked = re.sub(pattern, hide, text, flags=re.IGNORECASE)
    # URLs (user:password@host) as given on the command line
    return re.sub(r"(://[^:/@]+:)[^@/]+@", r"\1***@", masked)


def driver_error_reason(exc: Exception) -> str:
    """A database driver's error as one safe line: its first line, passwords masked."""
    text = str(exc).strip()
    return mask_connection_string(text.splitlines()[0] if text else type(exc).__name__)


@dataclass
class ConnectionInfo:
    """The `[DatabaseLinks]` connection: the raw string and its pairs (keys as written)."""

    raw: str
    pairs: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        folded = key.casefold()
        for k, v in self.pairs.items():
            if k.casefold() == folded:
                return v
        return ""

    @property
    def provider(self) -> str:
        return self.get("Provider")

    @property
    def data_source(self) -> str:
        return self.get("Data Source") or self.get("DBQ") or self.get("Database")

    @property
    def masked(self) -> str:
        return mask_connection_string(self.raw)


@dataclass
class DbLibTable:
    """One `[TableN]`: a table (or Excel sheet `Name$`, or view) the library shows as parts."""

    name: str
    enabled: bool = True
    user_where: bool = False
    where_text: str = ""
    schema: str = ""

    @property
    def where_is_lookup(self) -> bool:
        """`{Param}` placeholders make the clause a placement-time lookup, not a row filter."""
        return "{" in self.where_text


@dataclass
class FieldMap:
    """One `[FieldMapN]`: a database column shown as a part parameter, or a reserved link."""

    table: str
    column: str
    parameter: str
    field_type: int = 1
    visible_on_add: bool = False

    @property
    def is_key(self) -> bool:
        """Altium writes FieldType=0 for the table's key column (usually Part Number)."""
        return self.field_type == 0

    @property
    def parameter_name(self) -> str:
        """The parameter's name without the brackets Altium writes around its own names
        (`[Description]` is the component's description, not a parameter called `[Description]`)."""
        name = self.parameter.strip()
        if len(name) > 2 and name.startswith("[") and name.endswith("]"):
            return name[1:-1].strip() or name
        return self.parameter

    @property
    def role(self) -> tuple[str, int] | None:
        """('library_ref'|'library_path'|'footprint_ref'|'footprint_path', n) or None for a parameter."""
        name = self.parameter.strip()
        if name.casefold() == LIBRARY_REF.casefold():
            return ("library_ref", 1)
        if name.casefold() == LIBRARY_PATH.casefold():
            return ("library_path", 1)
        match = _FOOTPRINT.match(name)
        if match:
            return (f"footprint_{match.group(1).lower()}", int(match.group(2) or 1))
        return None


@dataclass
class DatabaseLibrary:
    """Everything a .DbLib / .SVNDbLib says: where the parts are and how columns map."""

    path: Path
    connection: ConnectionInfo
    database_type: str = ""
    database_path: str = ""
    path_relative: bool = False
    library_search_paths: list[str] = field(default_factory=list)
    search_subdirectories: bool = False
    tables: list[DbLibTable] = field(default_factory=list)
    field_maps: list[FieldMap] = field(default_factory=list)
    svn_settings: dict[str, str] = field(default_factory=dict)

    @property
    def is_svn(self) -> bool:
        return self.path.suffix.lower() == ".svndblib"

    def maps_for(self, table: str) -> list[FieldMap]:
        """Field maps of one table (table names compare case-insensitively, as Access does)."""
        folded = table.casefold()
        return [m for m in self.field_maps if m.table.casefold() == folded]


def _parse_options(line: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in line.split("|"):
        key, sep, value = part.partition("=")
        if sep:
            options[key.strip()] = value
    return options


def _field_map(section: IniSection) -> FieldMap | None:
    options = _parse_options(section.get("Options"))
    opt = {k.casefold(): v for k, v in options.items()}
    table = opt.get("tablenameonly", "")
    column = opt.get("fieldnameonly", "")
    full = opt.get("fieldname", "")
    if (not table or not column) and "." in full:
        table, _, column = full.partition(".")
    if not column:
        return None
    try:
        field_type = int(opt.get("fieldtype", "1") or 1)
    except ValueError:
        field_type = 1
    visible = opt.get("visibleonadd", "").strip().lower() in ("1", "t", "true")
    return FieldMap(table.strip(), column, opt.get("parametername", column) or column, field_type, visible)


def parse_dblib(text: str, path: Path) -> DatabaseLibrary:
    """The model of one DbLib's text (path is where it lives, for relative paths and messages)."""
    sections = parse_ini(text)
    links = next((s for s in sections if s.name.casefold() == "databaselinks"), None)
    if links is None:
        raise DbLibError(f"{path}: no [DatabaseLinks] section; not an Altium database library")
    raw = links.get("ConnectionString")
    library = DatabaseLibrary(
        path=path,
        connection=ConnectionInfo(raw, parse_connection_string(raw)),
        database_type=links.get("LibraryDatabaseType"),
        database_path=links.get("LibraryDatabasePath"),
        path_relative=links.flag("DatabasePathRelative"),
        library_search_paths=[p for p in links.get("LibrarySearchPath").split(";") if p.strip()],
        search_subdirectories=links.flag("SearchSubDirectories"),
    )
    for section in sections:
        folded = section.name.casefold()
        if re.fullmatch(r"table\d+", folded):
            name = section.get("TableName")
            if name:
                library.tables.append(
                    DbLibTable(
                        name,
                        section.flag("Enabled", True),
                        section.flag("UserWhere"),
                        section.get("UserWhereText"),
                        section.get("SchemaName"),
                    )
                )
        elif re.fullmatch(r"fieldmap\d+", folded):
            mapping = _field_map(section)
            if mapping:
                library.field_maps.append(mapping)
        elif "svn" in folded or "repository" in folded:
            library.svn_settings.update(section.entries)
    return library


def read_dblib(path: Path) -> DatabaseLibrary:
    """Reads a .DbLib / .SVNDbLib file; DbLibError names the file when it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DbLibError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DbLibError(f"{path}: is a compound (binary) file, not a database library INI file")
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        text = data.decode("utf-16")
    elif data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return parse_dblib(text, path)
