"""A DbLib's parts tables as one reader read them, for a later reader of the same rows.

A pipeline analyses a DbLib (reading every parts table from its server) and later converts it,
which would read every table again: 70,000 rows twice. The analysis writes what it read here, the
conversion reads this file instead of the server, and both see the same rows. The file is used
only for the DbLib file it was taken from (same bytes) and only when it holds every enabled table
of it; otherwise the conversion opens the database itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from .dblib import DatabaseLibrary, DbLibTable
from .parts_tables import PartsSource, PartsTable

FORMAT = 1


def _dblib_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_snapshot(
    path: Path, library: DatabaseLibrary, description: str, tables: dict[str, PartsTable]
) -> None:
    """Stores `tables` (DbLib table name -> rows as read, WHERE clause applied) for `library`."""
    data = {
        "format": FORMAT,
        "dblib": str(library.path),
        "dblib_sha256": _dblib_digest(library.path),
        "description": description,
        "tables": {
            name: {
                "columns": t.columns,
                "rows": [[row.get(c) for c in t.columns] for row in t.rows],
                "warnings": t.warnings,
            }
            for name, t in tables.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


class SnapshotSource(PartsSource):
    """The tables of a snapshot, in the order and with the warnings they were read with."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path = path
        self.description = f"{data['description']} (as read by the analysis, {path.name})"
        self._tables = data["tables"]

    def table_names(self) -> list[str]:
        return list(self._tables)

    def read(self, table: DbLibTable) -> PartsTable:
        stored = self._tables[table.name]
        columns = stored["columns"]
        rows = [dict(zip(columns, values, strict=True)) for values in stored["rows"]]
        return PartsTable(table.name, list(columns), rows, list(stored["warnings"]))


def open_snapshot(path: Path, library: DatabaseLibrary) -> SnapshotSource | None:
    """The snapshot at `path` when it was taken from this DbLib's bytes and holds every enabled
    table; None otherwise (the caller reads the database)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("format") != FORMAT or data.get("dblib_sha256") != _dblib_digest(library.path):
        return None
    if any(t.name not in data.get("tables", {}) for t in library.tables if t.enabled):
        return None
    return SnapshotSource(path, data)
