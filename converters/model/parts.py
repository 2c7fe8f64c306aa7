"""Neutral model of a database library: tables of parts with their KiCad symbol/footprint links.

Built by the DbLib job from Altium's tables; read by the KiCad writers (the `.kicad_dbl` file and
the SQL parts database). Everything is text, as it is in KiCad's ODBC reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PartField:
    """A column shown as a symbol field when the part is placed (KiCad's `fields[]`)."""

    column: str
    name: str
    visible_on_add: bool = False
    visible_in_chooser: bool = False
    show_name: bool = False
    inherit_properties: bool = False


@dataclass
class PartsLibrary:
    """One table of parts; KiCad shows it as a sub-library named `name`."""

    name: str
    table: str  # the SQL table written
    columns: list[str]  # every column, source columns first, then the added ones
    rows: list[dict[str, str | None]]
    key_column: str
    symbols_column: str
    footprints_column: str
    fields: list[PartField] = field(default_factory=list)
    description_column: str = ""
    keywords_column: str = ""
    footprint_filters_column: str = ""


@dataclass
class PartsDatabase:
    """A whole database library: what the `.kicad_dbl` describes and the database holds."""

    name: str
    description: str
    libraries: list[PartsLibrary] = field(default_factory=list)
