"""What the source holds before anything is converted: libraries, items, parts, record types and
the features the converter will approximate.

The inventory is the yardstick of the validation gates (pins and pads per item, models per
footprint, parts and their links) and is stored in the library database. Conversion units are the
top-level libraries: a library that a DbLib of the same source uses is converted with that DbLib,
not again on its own.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from converters.library_files import (
    DATABASE_EXTENSIONS,
    FOOTPRINT_EXTENSIONS,
    INTEGRATED_EXTENSIONS,
    SYMBOL_EXTENSIONS,
    find_libraries,
)

if TYPE_CHECKING:
    from converters.altium.parts_tables import PartsTable

# A DbLib path -> (SQLAlchemy URL of its parts database, how it was chosen), or None for the DbLib's
# own settings; raises when the configured source cannot be resolved (the DbLib is then unreadable).
PartsDatabaseLookup = Callable[[Path], "tuple[str, str] | None"]
OWN_SETTINGS = "the DbLib's own connection settings"


@dataclass
class InventoryItem:
    library: str  # source file path
    item: str
    kind: str  # library, symbol, footprint, model, part
    facts: dict = field(default_factory=dict)


class PartsNotLoaded(RuntimeError):
    """An inventory read without its parts was asked for them (a caller bug, never an empty list)."""


@dataclass
class Inventory:
    source: str
    units: list[str] = field(default_factory=list)  # conversion units (top-level library paths)
    libraries: list[str] = field(default_factory=list)  # every library file read, units' dependencies too
    items: list[InventoryItem] = field(default_factory=list)
    record_types: dict[str, int] = field(default_factory=dict)
    approximations: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    parts_loaded: bool = True  # False: read without the parts file, `items` holds no part
    parts_unread: int = 0  # how many parts the unread parts file holds (counts() still says them)

    def counts(self) -> dict[str, int]:
        counts = Counter(i.kind for i in self.items)
        if self.parts_unread:
            counts["part"] += self.parts_unread
        return dict(counts)

    def of_kind(self, kind: str) -> list[InventoryItem]:
        if kind == "part" and not self.parts_loaded:
            raise PartsNotLoaded(f"inventory of {self.source} was read without its parts")
        return [i for i in self.items if i.kind == kind]

    def to_json(self) -> dict:
        # by hand: dataclasses.asdict deep-copies every fact of 70,000 parts (40 s of a big run)
        skip = ("items", "parts_loaded", "parts_unread")
        data = {k: v for k, v in self.__dict__.items() if k not in skip}
        data["items"] = [i.__dict__ for i in self.items]
        return data

    def write(self, path: Path) -> None:
        """`path` holds everything but the parts, `<stem>.parts.json` beside it the parts: most
        tasks never look at 70,000 parts and need not parse them."""
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.to_json()
        parts = [[i["library"], i["item"], i["facts"]] for i in data["items"] if i["kind"] == "part"]
        data["items"] = [i for i in data["items"] if i["kind"] != "part"]
        data["parts"] = {"file": parts_path(path).name, "count": len(parts)}
        parts_path(path).write_text(json.dumps(parts, ensure_ascii=False), encoding="utf-8")
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path, parts: bool = True) -> Inventory:
        """The inventory `write` stored; `parts=False` leaves the parts file unread (asking such an
        inventory for its parts raises PartsNotLoaded)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        stored = data.pop("parts", None)
        data["items"] = [InventoryItem(**i) for i in data["items"]]
        if stored is not None and parts:
            rows = json.loads((path.parent / stored["file"]).read_text(encoding="utf-8"))
            data["items"] += [InventoryItem(library, item, "part", facts) for library, item, facts in rows]
        unread = 0 if parts or stored is None else int(stored["count"])
        return cls(**data, parts_loaded=parts or stored is None, parts_unread=unread)

    def summary(self) -> str:
        c = self.counts()
        plural = {"library": "libraries"}
        what = ", ".join(f"{n} {plural.get(k, k + 's')}" for k, n in sorted(c.items())) or "nothing"
        return f"{len(self.units)} conversion units, {len(self.libraries)} library files: {what}"


def parts_path(inventory_path: Path) -> Path:
    return inventory_path.with_name(f"{inventory_path.stem}.parts.json")


def _approximation_key(message: str) -> str:
    """Groups reader warnings by their wording, without item-specific numbers and names."""
    head = message.split(":")[0] if ":" in message[:60] else message
    return " ".join(w for w in head.split() if not any(ch.isdigit() for ch in w))[:80]


class InventoryBuilder:
    def __init__(
        self,
        source: Path,
        parts_database: PartsDatabaseLookup | None = None,
        snapshot_path: Callable[[Path], Path] | None = None,
    ) -> None:
        self.source = source
        self.parts_database = parts_database
        self.snapshot_path = snapshot_path  # DbLib -> where to keep its parts as read (for the conversion)
        self.inv = Inventory(str(source))
        self.record_types: Counter = Counter()
        self.approximations: Counter = Counter()
        self._read: set[str] = set()

    def build(self) -> Inventory:
        libraries = find_libraries([self.source])
        used_by_dblib: set[str] = set()
        for path in libraries:
            if path.suffix.lower() in DATABASE_EXTENSIONS:
                used_by_dblib |= self.add_database_library(path)
        for path in libraries:
            key = str(path.resolve())
            if path.suffix.lower() in DATABASE_EXTENSIONS or key not in used_by_dblib:
                self.inv.units.append(str(path))
                if path.suffix.lower() not in DATABASE_EXTENSIONS:
                    self.add_library(path)
        self.inv.record_types = dict(self.record_types.most_common())
        self.inv.approximations = dict(self.approximations.most_common())
        return self.inv

    # -- one library file -------------------------------------------------------------------
    def add_library(self, path: Path) -> None:
        key = str(path.resolve())
        if key in self._read:
            return
        self._read.add(key)
        self.inv.libraries.append(str(path))
        ext = path.suffix.lower()
        try:
            if ext in SYMBOL_EXTENSIONS:
                from converters.altium.schlib import read_schlib

                self._symbols(path, read_schlib(path))
            elif ext in FOOTPRINT_EXTENSIONS:
                from converters.altium.pcblib import read_pcblib

                self._footprints(path, read_pcblib(path))
            elif ext in INTEGRATED_EXTENSIONS:
                self._integrated(path)
        except Exception as exc:  # the conversion will report the same file; the inventory notes it
            self.inv.problems.append(f"{path}: cannot be read: {type(exc).__name__}: {exc}")
            self.inv.items.append(InventoryItem(str(path), path.name, "library", {"error": str(exc)}))

    def _library_item(self, path: Path, facts: dict) -> None:
        self.inv.items.append(InventoryItem(str(path), path.name, "library", facts))

    def _integrated(self, path: Path) -> None:
        """An IntLib's embedded PcbLibs and SchLibs, inventoried as the conversion reads them (their
        items under the IntLib's path, as its report rows are); a stream that cannot be unpacked or
        read is a problem of the file, the other streams still count."""
        from converters.altium.pcblib import read_pcblib_data
        from converters.altium.schlib import read_schlib_data
        from converters.intlib_job import embedded_libraries

        pcb, sch, problems = embedded_libraries(path.read_bytes(), str(path))
        facts: dict = {"type": "integrated", "footprint_libraries": len(pcb), "symbol_libraries": len(sch)}
        if not pcb and not sch:
            facts["error"] = "; ".join(problems) or "integrated library holds no SchLib or PcbLib"
        self._library_item(path, facts)
        for label, data in pcb:
            try:
                layers = self._footprints(path, read_pcblib_data(data, label), library_item=False)
                facts["layers"] = sorted(set(facts.get("layers", [])) | set(layers))
            except Exception as exc:
                problems.append(f"{label}: cannot be read: {type(exc).__name__}: {exc}")
        for label, data in sch:
            try:
                self._symbols(path, read_schlib_data(data, label), raw_pin_records(data), library_item=False)
            except Exception as exc:
                problems.append(f"{label}: cannot be read: {type(exc).__name__}: {exc}")
        self.inv.problems += problems  # each names the IntLib's stream (`<IntLib>/SchLib/...`)

    def _symbols(self, path: Path, lib, raw: dict[str, int] | None = None, library_item: bool = True) -> None:
        raw = raw_pin_records(path) if raw is None else raw
        if library_item:
            self._library_item(
                path, {"type": "symbols", "items": len(lib.symbols), "failures": len(lib.failures)}
            )
        for sym in lib.symbols:
            pins = [p for p in sym.pins if p.owner.body_style <= 1]
            for g in sym.graphics:
                self.record_types[f"symbol {type(g).__name__.lower()}"] += 1
            self.record_types["symbol pin"] += len(sym.pins)
            for w in sym.warnings:
                self.approximations[_approximation_key(w)] += 1
            self.inv.items.append(
                InventoryItem(
                    str(path),
                    sym.name,
                    "symbol",
                    {
                        "pins": len(pins),
                        "pins_read": len(sym.pins),
                        "pin_records": raw.get(sym.name, len(sym.pins)),
                        "units": sym.unit_count,
                        "body_styles": sym.body_styles,
                        "footprint": sym.footprint_model,
                        "warnings": len(sym.warnings),
                    },
                )
            )
        for failure in lib.failures:
            self.inv.items.append(InventoryItem(str(path), failure.name, "symbol", {"error": failure.reason}))

    def _footprints(self, path: Path, lib, library_item: bool = True) -> list[str]:
        """Inventories a footprint library; returns the layer names its footprints use."""
        used_layers: set[str] = set()
        for fp in lib.footprints:
            for kind in ("pads", "lines", "arcs", "texts", "fills", "regions", "bodies"):
                used_layers |= {
                    getattr(p.layer, "name", "") for p in getattr(fp, kind) if hasattr(p, "layer")
                }
        if library_item:
            self._library_item(
                path,
                {
                    "type": "footprints",
                    "items": len(lib.footprints),
                    "failures": len(lib.failures),
                    "layers": sorted(n for n in used_layers if n),
                },
            )
        for fp in lib.footprints:
            for kind in ("pads", "vias", "lines", "arcs", "texts", "fills", "regions", "bodies"):
                n = len(getattr(fp, kind))
                if n:
                    self.record_types[f"footprint {kind}"] += n
            for w in fp.warnings:
                self.approximations[_approximation_key(w)] += 1
            models = sorted({b.model_name for b in fp.bodies if b.model_name})
            self.inv.items.append(
                InventoryItem(
                    str(path),
                    fp.name,
                    "footprint",
                    {"pads": len(fp.pads), "models": models, "warnings": len(fp.warnings)},
                )
            )
        for model in lib.models.values():
            self.inv.items.append(
                InventoryItem(str(path), model.name, "model", {"bytes": len(model.data), "id": model.id})
            )
        for failure in lib.failures:
            self.inv.items.append(
                InventoryItem(str(path), failure.name, "footprint", {"error": failure.reason})
            )
        return sorted(n for n in used_layers if n)

    # -- a database library --------------------------------------------------------------------
    def add_database_library(self, path: Path) -> set[str]:
        """Parts of every enabled table (rows, keys, links), and the library files they link (read
        too), through the same parts database the conversion will use."""
        from converters.altium.dblib import DbLibError, read_dblib
        from converters.altium.parts_tables import DatabaseUnreachable, open_parts_source
        from converters.altium.paths import resolve_path
        from converters.dblib_job import table_columns

        self.inv.libraries.append(str(path))
        if self.snapshot_path is not None:  # an earlier attempt's rows never stand in for this one's
            self.snapshot_path(path).unlink(missing_ok=True)
        used: set[str] = set()
        origin = OWN_SETTINGS
        try:
            library = read_dblib(path)
            if self.parts_database:
                origin = "the configured parts source"  # what failed, should the look-up raise
                found = self.parts_database(path)
                url, origin = found if found else (None, OWN_SETTINGS)
            else:
                url = None
            source = open_parts_source(library, url)
        except Exception as exc:  # DbLibError, DatabaseUnreachable, an unresolvable parts source
            reason = str(exc) if isinstance(exc, DbLibError) else f"{path}: {exc}"
            reason += f" (parts database from {origin})" if origin != OWN_SETTINGS else ""
            self.inv.problems.append(reason)
            facts: dict[str, object] = {
                "type": "database",
                "error": reason,
                "parts_source": origin,
                "unreachable": isinstance(exc, DatabaseUnreachable),
            }
            self.inv.items.append(InventoryItem(str(path), path.name, "library", facts))
            return used
        bases = [path.parent]
        resolved: dict[str, str | None] = {}  # one look-up per distinct path text (70,000 rows)

        def find(raw: str) -> str | None:
            """The resolved library file a part's path names (read into the inventory once)."""
            if raw not in resolved:
                hit = resolve_path(raw, bases) if raw and raw.strip() else None
                resolved[raw] = str(hit.resolve()) if hit is not None and hit.is_file() else None
                if hit is not None and resolved[raw]:
                    self.add_library(hit)
            return resolved[raw]

        table_rows: dict[str, int] = {}
        enabled = [t for t in library.tables if t.enabled]
        read: dict[str, PartsTable] | None = {} if len({t.name for t in enabled}) == len(enabled) else None
        try:
            for table in enabled:
                try:
                    key_map = next((m for m in library.maps_for(table.name) if m.is_key), None)
                    source.order_by = key_map.column if key_map else None
                    parts = source.read(table)
                except Exception as exc:
                    self.inv.problems.append(f"{path}: table '{table.name}': {exc}")
                    read = None  # the conversion reads the database itself and reports the table
                    continue
                if read is not None:
                    read[table.name] = parts
                table_rows[table.name] = len(parts.rows)
                cols = table_columns(library.maps_for(table.name), parts.columns, [])
                display = table.name.rstrip("$").replace("/", "_")
                names: set[str] = set()
                for number, row in enumerate(parts.rows, start=1):
                    links = {"symbol": (row.get(cols.library_ref) or "", row.get(cols.library_path) or "")}
                    footprints = [
                        ((row.get(r) or "").strip(), row.get(p) or "" if p else "")
                        for r, p in cols.footprints
                        if (row.get(r) or "").strip()
                    ]
                    facts = {
                        "table": table.name,
                        "row": number,
                        "key": (row.get(cols.key) or "").strip(),
                        "symbol_ref": links["symbol"][0].strip(),
                        "symbol_path": links["symbol"][1],
                        "footprint_refs": [f[0] for f in footprints],
                        "footprint_paths": [f[1] for f in footprints],
                    }
                    for raw in [links["symbol"][1]] + [f[1] for f in footprints]:
                        hit = find(raw)
                        if hit is not None:
                            used.add(hit)
                    name = f"{display}/{facts['key'] or f'row {number}'}"
                    if name.casefold() in names:  # a duplicate key is still a source row of its own
                        name = f"{name} (row {number})"
                    names.add(name.casefold())
                    self.inv.items.append(InventoryItem(str(path), name, "part", facts))
        finally:
            source.close()
        if read is not None and self.snapshot_path is not None:
            from converters.altium.parts_snapshot import write_snapshot

            write_snapshot(self.snapshot_path(path), library, source.description, read)
        self.inv.items.append(
            InventoryItem(
                str(path),
                path.name,
                "library",
                {
                    "type": "database",
                    "tables": len(table_rows),
                    "rows": sum(table_rows.values()),
                    "table_rows": table_rows,
                    "connection": library.connection.masked,
                    "parts_source": origin,
                },
            )
        )
        return used


def raw_pin_records(path: Path | bytes) -> dict[str, int]:
    """Pin records per symbol counted from the record framing alone (not the converter's reader):
    the yardstick that notices a pin the reader had to skip. `path`: a SchLib file, or the bytes of
    one embedded in an IntLib."""
    import struct

    from converters.altium.compound import CompoundFile
    from converters.altium.records import parse_properties, split_records

    counts: dict[str, int] = {}
    try:
        cf = CompoundFile(path)
    except Exception:
        return counts
    try:
        for storage in cf.storages():
            if not cf.has(storage, "Data"):
                continue
            try:
                records, _ = split_records(cf.read(storage, "Data"))
            except Exception:
                continue
            if not records or records[0].binary:
                continue
            name = parse_properties(records[0].payload).text("LIBREFERENCE") or storage
            pins = 0
            for rec in records[1:]:
                if rec.binary:
                    pins += len(rec.payload) >= 4 and struct.unpack_from("<i", rec.payload)[0] == 2
                elif b"RECORD=2|" in rec.payload.upper() + b"|":
                    pins += parse_properties(rec.payload).text("RECORD") == "2"
            counts[name] = pins
    finally:
        cf.close()
    return counts


def analyze(
    source: Path,
    parts_database: PartsDatabaseLookup | None = None,
    snapshot_path: Callable[[Path], Path] | None = None,
) -> Inventory:
    """The inventory of a DbLib, a library file or a folder of them; `parts_database` says where
    a DbLib's parts are when its own connection string cannot be opened here; `snapshot_path`
    where to keep each DbLib's parts tables as read (converters/altium/parts_snapshot.py), so the
    conversion need not read them again."""
    return InventoryBuilder(source, parts_database, snapshot_path).build()
