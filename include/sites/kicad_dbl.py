"""Reading a deployed `.kicad_dbl`: its libraries (tables, key, links, fields) and its database.

The HTTP library and the part editor must see exactly what KiCad's ODBC reader sees, so they read
the same file KiCad reads and connect to the database its `connection_string` names (an ODBC
string as converters/kicad/dbl_writer.py writes it, turned back into a SQLAlchemy URL here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class KicadDblError(Exception):
    """A `.kicad_dbl` that cannot be served (message names the file and the reason)."""


@dataclass(frozen=True)
class DblField:
    column: str
    name: str
    visible_on_add: bool = False


@dataclass(frozen=True)
class DblLibrary:
    """One `libraries[]` entry: a KiCad sub-library (an HTTP library category)."""

    name: str
    table: str
    key: str
    symbols: str
    footprints: str
    fields: tuple[DblField, ...] = ()
    properties: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class KicadDbl:
    path: Path
    name: str
    description: str
    connection_string: str
    libraries: tuple[DblLibrary, ...]

    def library(self, name: str) -> DblLibrary | None:
        return next((lib for lib in self.libraries if lib.name == name), None)


def read_kicad_dbl(path: Path) -> KicadDbl:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        libraries = tuple(
            DblLibrary(
                name=lib["name"],
                table=lib["table"],
                key=lib["key"],
                symbols=lib.get("symbols", ""),
                footprints=lib.get("footprints", ""),
                fields=tuple(
                    DblField(f["column"], f["name"], bool(f.get("visible_on_add", False)))
                    for f in lib.get("fields", [])
                ),
                properties={k: v for k, v in (lib.get("properties") or {}).items() if v},
            )
            for lib in doc.get("libraries", [])
        )
        return KicadDbl(
            path,
            doc.get("name") or path.stem,
            doc.get("description", ""),
            doc["source"].get("connection_string", ""),
            libraries,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KicadDblError(f"{path}: not a readable .kicad_dbl ({type(exc).__name__}: {exc})") from None


def parse_odbc(connection_string: str) -> dict[str, str]:
    """`Key=Value;Key={braced;value}` pairs, keys folded to lower case (ODBC ignores their case)."""
    pairs: dict[str, str] = {}
    i, text = 0, connection_string
    while i < len(text):
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if text[i : i + 1] == "{":
            value, i = [], i + 1
            while i < len(text):
                if text[i] == "}":
                    if text[i + 1 : i + 2] == "}":
                        value.append("}")
                        i += 2
                        continue
                    i += 1
                    break
                value.append(text[i])
                i += 1
            pairs[key] = "".join(value)
            i = text.find(";", i) + 1 or len(text)
        else:
            end = text.find(";", i)
            end = len(text) if end < 0 else end
            pairs[key] = text[i:end].strip()
            i = end + 1
    return pairs


def database_url(dbl: KicadDbl) -> str:
    """The SQLAlchemy URL of the database the `.kicad_dbl` points KiCad at (password included)."""
    from sqlalchemy.engine import URL

    pairs = parse_odbc(dbl.connection_string)
    driver = pairs.get("driver", "").lower()
    database = pairs.get("database", "")
    if not driver or not database:
        raise KicadDblError(
            f"{dbl.path}: connection_string names no driver and database (a DSN-only .kicad_dbl "
            "cannot be served over HTTP)"
        )
    if "sqlite" in driver:
        file = Path(database.replace("${CWD}", str(dbl.path.parent)))
        if not file.is_file():
            raise KicadDblError(f"{dbl.path}: its SQLite parts database {file} is missing")
        return f"sqlite:///{file.resolve()}"
    if "postgres" in driver:
        dialect = "postgresql+psycopg2"
    elif "mysql" in driver or "mariadb" in driver:
        dialect = "mysql+pymysql"
    else:
        raise KicadDblError(f"{dbl.path}: ODBC driver '{pairs['driver']}' is not one the server can reach")
    port = pairs.get("port")
    return URL.create(
        dialect,
        username=pairs.get("uid") or None,
        password=pairs.get("pwd") or None,
        host=pairs.get("server") or "localhost",
        port=int(port) if port else None,
        database=database,
    ).render_as_string(hide_password=False)
