"""The deployed parts of an environment as KiCad's HTTP library API (v1) describes them.

KiCad (common/http_lib/http_lib_connection.cpp) reads, below `root_url` + `v1/`:
- `categories.json`: `[{id, name, description?}]`, ids and names strings;
- `parts/category/{id}.json`: `[{id, name, description?}]`, `name` becoming the symbol's name;
- `parts/{id}.json`: `{id, name, symbolIdStr, exclude_from_bom|board|sim, fields: {name: {value,
  visible}}}`; the fields `footprint`, `value`, `datasheet`, `description`, `keywords`,
  `reference` fill KiCad's own fields, the others become user fields.
KiCad puts ids into URLs unescaped, so they hold only URL-safe characters: a category is its
position in the `.kicad_dbl` (1-based), a part `<category>-<base64url of its key>`. Booleans are
the strings "True"/"False" (KiCad 8 reads only strings; later versions take both).
Names, links and fields are the ones KiCad's ODBC reader takes from the same `.kicad_dbl`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, literal_column, select

from .kicad_dbl import DblLibrary, KicadDbl


class UnknownId(LookupError):
    """A category or part id that names nothing (message says which and why)."""


def encode_key(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def decode_key(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise UnknownId(f"'{text}' is not a part key this library issued") from None


def part_id(category_id: str, key: str) -> str:
    return f"{category_id}-{encode_key(key)}"


def _flag(value: bool) -> str:
    return "True" if value else "False"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "y")


@dataclass
class PartsCatalog:
    """Read-only queries on one deployed `.kicad_dbl`'s database."""

    dbl: KicadDbl
    engine: Engine

    def __post_init__(self) -> None:
        self._tables: dict[str, Table] = {}

    def _table(self, library: DblLibrary) -> Table:
        if library.table not in self._tables:
            self._tables[library.table] = Table(library.table, MetaData(), autoload_with=self.engine)
        return self._tables[library.table]

    def categories(self) -> list[dict]:
        return [
            {"id": str(n), "name": lib.name, "description": f"{lib.name} parts of {self.dbl.name}"}
            for n, lib in enumerate(self.dbl.libraries, start=1)
        ]

    def category(self, category_id: str) -> DblLibrary:
        if not category_id.isdigit() or not 1 <= int(category_id) <= len(self.dbl.libraries):
            raise UnknownId(
                f"no category '{category_id}' in {self.dbl.name} (categories 1..{len(self.dbl.libraries)})"
            )
        return self.dbl.libraries[int(category_id) - 1]

    def parts(self, category_id: str) -> list[dict]:
        library = self.category(category_id)
        table = self._table(library)
        columns = [table.c[library.key]]
        description = library.properties.get("description")
        if description and description in table.c:
            columns.append(table.c[description])
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(table.c[library.key])).all()
        listed = []
        for row in rows:
            entry = {"id": part_id(category_id, row[0]), "name": row[0]}
            if len(row) > 1 and row[1]:
                entry["description"] = row[1]
            listed.append(entry)
        return listed

    def locate(self, part: str) -> tuple[str, DblLibrary, str]:
        """(category id, library, key) of a part id."""
        category_id, sep, encoded = part.partition("-")
        if not sep:
            raise UnknownId(f"'{part}' is not a part id (<category>-<key>)")
        return category_id, self.category(category_id), decode_key(encoded)

    def row(self, library: DblLibrary, key: str, conn=None) -> dict | None:
        table = self._table(library)
        # every column, also those added after the table was first reflected (row_version)
        statement: Any = select(literal_column("*")).select_from(table).where(table.c[library.key] == key)
        if conn is not None:
            found = conn.execute(statement).mappings().first()
        else:
            with self.engine.connect() as own:
                found = own.execute(statement).mappings().first()
        return dict(found) if found else None

    def part(self, part: str) -> tuple[dict, int]:
        """KiCad's document of a part, and its row version (1 before its first edit)."""
        _, library, key = self.locate(part)
        row = self.row(library, key)
        if row is None:
            raise UnknownId(f"no part '{key}' in category '{library.name}' of {self.dbl.name}")
        return part_document(part, library, row), int(row.get("row_version") or 1)


def part_document(part: str, library: DblLibrary, row: dict) -> dict:
    """One part as KiCad's `parts/{id}.json`, from its database row."""
    footprints = [f.strip() for f in (row.get(library.footprints) or "").split(";") if f.strip()]
    fields: dict[str, dict[str, str]] = {}
    if footprints:
        fields["footprint"] = {"value": footprints[0], "visible": "False"}
    for f in library.fields:
        value = row.get(f.column)
        if value is not None:
            fields[f.name] = {"value": str(value), "visible": _flag(f.visible_on_add)}
    document: dict = {
        "id": part,
        "name": row[library.key],
        "symbolIdStr": row.get(library.symbols) or "",
    }
    props = library.properties
    for flag in ("exclude_from_bom", "exclude_from_board", "exclude_from_sim"):
        document[flag] = _flag(_truthy(row.get(props[flag]))) if props.get(flag) else "False"
    if props.get("description") and row.get(props["description"]):
        document["description"] = row[props["description"]]
        fields.setdefault("description", {"value": row[props["description"]], "visible": "False"})
    if props.get("keywords") and row.get(props["keywords"]):
        document["keywords"] = row[props["keywords"]]
        fields.setdefault("keywords", {"value": row[props["keywords"]], "visible": "False"})
    if props.get("footprint_filters") and row.get(props["footprint_filters"]):
        document["footprint_filters"] = row[props["footprint_filters"]].split()
    document["fields"] = fields
    return document


def live_dbls(deployed: Path) -> dict[str, Path]:
    """The live version's `.kicad_dbl` files of a local deployment, by nickname."""
    folder = deployed / "current" / "database"
    return {p.stem: p for p in sorted(folder.glob("*.kicad_dbl"))} if folder.is_dir() else {}
