"""Writes KiCad's `.kicad_dbl` (JSON) for a parts database, and the ODBC string it connects with.

KiCad reads the file with DATABASE_LIB_SETTINGS (common/database/database_lib_settings.cpp):
`meta.version` 1, `source` (KiCad uses `connection_string` when it is not empty, and replaces
`${CWD}` in it by the folder holding the `.kicad_dbl`, which is how a SQLite file beside it is
found wherever the folder is moved), and one `libraries[]` entry per table. Keys are written in a
fixed order so the same database gives the same bytes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..model.parts import PartsDatabase, PartsLibrary

# unixODBC driver names (Debian's libsqliteodbc, odbc-postgresql, odbc-mariadb register these); the
# environment can name another (on Windows the SQLite driver is "SQLite3 ODBC Driver").
SQLITE_DRIVER_ENV = "ALTIUM2KICAD_SQLITE_ODBC_DRIVER"
POSTGRES_DRIVER_ENV = "ALTIUM2KICAD_POSTGRES_ODBC_DRIVER"
MYSQL_DRIVER_ENV = "ALTIUM2KICAD_MYSQL_ODBC_DRIVER"  # a mysql:// URL may well reach a MariaDB server
_DRIVERS = {
    "mysql": "MySQL ODBC 8.0 Unicode Driver",
    "mariadb": "MariaDB Unicode",
    "mssql": "ODBC Driver 18 for SQL Server",
}


def _braced(value: str) -> str:
    """An ODBC value, braced when it holds characters that would end or split it."""
    return "{" + value.replace("}", "}}") + "}" if any(c in value for c in ";{}= ") else value


def sqlite_connection_string(file_name: str) -> str:
    """ODBC string for a SQLite file beside the `.kicad_dbl` (KiCad expands `${CWD}`)."""
    driver = os.environ.get(SQLITE_DRIVER_ENV, "SQLite3")
    return f"Driver={{{driver}}};Database=${{CWD}}/{file_name}"


def odbc_connection_string(url: str, dbl_folder: Path | None = None) -> str:
    """The ODBC string reaching the database a SQLAlchemy URL names (SQLite, PostgreSQL, ...)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        db = Path(parsed.database or "")
        if dbl_folder is not None and db.resolve().parent == dbl_folder.resolve():
            return sqlite_connection_string(db.name)
        driver = os.environ.get(SQLITE_DRIVER_ENV, "SQLite3")
        return f"Driver={{{driver}}};Database={_braced(str(db.resolve()))}"
    if backend == "postgresql":
        driver = os.environ.get(POSTGRES_DRIVER_ENV, "PostgreSQL Unicode")
    elif backend in ("mysql", "mariadb"):
        driver = os.environ.get(MYSQL_DRIVER_ENV, _DRIVERS[backend])
    else:
        driver = _DRIVERS.get(backend, backend)
    server = parsed.host or "localhost"
    parts = [f"Driver={{{driver}}}"]
    if backend == "mssql":
        parts.append(f"Server={server}{',' + str(parsed.port) if parsed.port else ''}")
    else:
        parts.append(f"Server={server}")
        if parsed.port:
            parts.append(f"Port={parsed.port}")
    parts.append(f"Database={_braced(parsed.database or '')}")
    if parsed.username:
        parts.append(f"Uid={_braced(parsed.username)}")
    if parsed.password:
        parts.append(f"Pwd={_braced(str(parsed.password))}")
    return ";".join(parts)


def library_entry(library: PartsLibrary) -> dict:
    return {
        "name": library.name,
        "table": library.table,
        "key": library.key_column,
        "symbols": library.symbols_column,
        "footprints": library.footprints_column,
        "fields": [
            {
                "column": f.column,
                "name": f.name,
                "visible_on_add": f.visible_on_add,
                "visible_in_chooser": f.visible_in_chooser,
                "show_name": f.show_name,
                "inherit_properties": f.inherit_properties,
            }
            for f in library.fields
        ],
        "properties": {
            "description": library.description_column,
            "footprint_filters": library.footprint_filters_column,
            "keywords": library.keywords_column,
            "exclude_from_bom": "",
            "exclude_from_board": "",
        },
    }


def kicad_dbl_text(database: PartsDatabase, connection_string: str, timeout_seconds: int = 2) -> str:
    document = {
        "meta": {"version": 1},
        "name": database.name,
        "description": database.description,
        "source": {
            "type": "odbc",
            "dsn": "",
            "username": "",
            "password": "",
            "timeout_seconds": timeout_seconds,
            "connection_string": connection_string,
        },
        "libraries": [library_entry(lib) for lib in database.libraries],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_kicad_dbl(database: PartsDatabase, path: Path, connection_string: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kicad_dbl_text(database, connection_string), encoding="utf-8")
    return path
