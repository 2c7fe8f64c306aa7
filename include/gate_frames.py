"""The tables the quality gates check: one row per item, source facts beside written facts.

Pure functions from (inventory, report rows, written files) to records; `item` names the thing a
failed expectation reports (`Lib:Item` for written items, the source path and item otherwise).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from converters.model.model_files import kicad_can_load

from .inventory import Inventory
from .library_facts import (
    FootprintFacts,
    SymbolFacts,
    WrittenLibraries,
    read_footprint_library,
    read_symbol_library,
)


def _split_target(target: str) -> tuple[str, str]:
    nick, _, name = target.partition(":")
    return (nick, name) if name else ("", target)


def source_parts(inv: Inventory) -> list[dict]:
    rows = []
    names: dict[str, str] = {}  # 70,000 parts name a handful of DbLib files: one Path each
    for part in inv.of_kind("part"):
        f = part.facts
        name = names.get(part.library) or names.setdefault(part.library, Path(part.library).name)
        rows.append(
            {
                "item": f"{name}: {part.item}",
                "key": f.get("key") or None,
                "table_key": f"{f.get('table')}/{f.get('key')}" if f.get("key") else None,
                "symbol_ref": f.get("symbol_ref") or None,
            }
        )
    return rows


def conversion_results(rows: list[dict], kinds: set[str]) -> list[dict]:
    return [
        {
            "item": f"{r['source']}: {r['item']}"
            + (f" ({'; '.join(r['messages'])[:300]})" if r["status"] == "failed" else ""),
            "kind": r["kind"],
            "status": r["status"],
            "target": r.get("target") or None,
        }
        for r in rows
        if r["kind"] in kinds
    ]


def symbols(inv: Inventory, rows: list[dict], written: WrittenLibraries) -> list[dict]:
    facts: dict[tuple[str, str], SymbolFacts] = {}
    unreadable = []
    for path in written.symbol_files:
        for sym in read_symbol_library(path):
            if sym.error:
                unreadable.append(
                    {
                        "item": f"{path.name}",
                        "written": None,
                        "pins_written": -1,
                        "pins_source": 0,
                        "pins_read": 0,
                        "pin_records": 0,
                        "duplicate_pins": None,
                        "off_grid_pins": None,
                    }
                )
            facts[(sym.library, sym.name)] = sym
    source = {(i.library, i.item): i.facts for i in inv.of_kind("symbol")}
    out = unreadable
    for r in rows:
        if r["kind"] != "symbol" or r["status"] == "failed":
            continue
        nick, name = _split_target(r.get("target", ""))
        f = facts.get((nick, name))
        src = source.get((r["source"], r["item"]), {})
        out.append(
            {
                "item": r.get("target") or r["item"],
                "written": f"{nick}:{name}" if f else None,
                "pins_written": f.pins if f else -1,
                "pins_source": src.get("pins", f.pins if f else 0),
                "pins_read": src.get("pins_read", 0),
                "pin_records": src.get("pin_records", src.get("pins_read", 0)),
                "duplicate_pins": ", ".join(f.duplicate_pins) if f and f.duplicate_pins else None,
                "off_grid_pins": ", ".join(f.off_grid_pins[:5]) if f and f.off_grid_pins else None,
            }
        )
    return out


def footprints(
    inv: Inventory, rows: list[dict], written: WrittenLibraries
) -> tuple[list[dict], list[FootprintFacts]]:
    facts: dict[tuple[str, str], FootprintFacts] = {}
    all_facts = []
    for folder in written.footprint_folders:
        for fp in read_footprint_library(folder):
            facts[(fp.library, fp.name)] = fp
            facts.setdefault((fp.library, Path(fp.path).stem), fp)
            all_facts.append(fp)
    source = {(i.library, i.item): i.facts for i in inv.of_kind("footprint")}
    out = [
        {"item": f.path, "written": None, "pads_written": -1, "pads_source": 0, "courtyard": False}
        for f in all_facts
        if f.error
    ]
    for r in rows:
        if r["kind"] != "footprint" or r["status"] == "failed":
            continue
        nick, name = _split_target(r.get("target", ""))
        f = facts.get((nick, name))
        src = source.get((r["source"], r["item"]), {})
        out.append(
            {
                "item": r.get("target") or r["item"],
                "written": f"{nick}:{name}" if f else None,
                "pads_written": f.pads if f else -1,
                # the source's pads, plus those the writer made of vias and copper shapes
                "pads_source": src.get("pads", f.pads if f else 0) + r.get("shape_pads", 0),
                "courtyard": bool(f and f.courtyard),
            }
        )
    return out, all_facts


_VAR = re.compile(r"^\$\{[^}]+\}[/\\]?")


def _model_file(reference: str, footprint_path: Path, written: WrittenLibraries) -> Path | None:
    rel = _VAR.sub("", reference)
    out = footprint_path.parent.parent.parent  # <out>/footprints/<Lib>.pretty/<fp>.kicad_mod
    for candidate in (Path(rel), out / rel, out / "3dmodels" / rel, footprint_path.parent / rel):
        if candidate.is_absolute() and candidate.is_file():
            return candidate
    if rel != reference:
        # a path below a ${VAR} names one file; another library's model of the same name is not it
        return None
    name = Path(rel.replace("\\", "/")).name.casefold()
    return next((m for m in written.model_files if m.name.casefold() == name), None)


def models(footprint_facts: list[FootprintFacts], written: WrittenLibraries) -> list[dict]:
    out = []
    for f in footprint_facts:
        for ref in f.models:
            path = _model_file(ref, Path(f.path), written)
            header = False
            if path is not None:
                with path.open("rb") as fh:  # a format KiCad loads, its content as its name says
                    header = kicad_can_load(fh.read(4096), path.suffix)
            out.append(
                {"item": f"{f.library}:{f.name} -> {ref}", "exists": path is not None, "step_header": header}
            )
    return out


def database_references(written: WrittenLibraries) -> list[dict]:
    """Every Lib:Item in the Symbols/Footprints columns of the written parts databases."""
    symbols_known = {(f.library, f.name) for p in written.symbol_files for f in read_symbol_library(p)}
    footprints_known = {
        (p.name.removesuffix(".pretty"), m.stem)
        for p in written.footprint_folders
        for m in p.glob("*.kicad_mod")
    }
    out = []
    for dbl in written.database_files:
        spec = json.loads(dbl.read_text(encoding="utf-8"))
        conn = spec.get("source", {}).get("connection_string", "")
        m = re.search(r"Database=([^;]+)", conn, re.IGNORECASE)
        db_path = dbl.parent / _VAR.sub("", m.group(1)) if m else dbl.with_suffix(".sqlite")
        if not db_path.is_file():
            out.append({"item": f"{dbl.name}: parts database {db_path.name}", "resolves": False})
            continue
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            for lib in spec.get("libraries", []):
                table, key = lib["table"], lib["key"]
                prefix = f"{dbl.stem}/{lib['name']}/"  # once per table, not per reference (140,000)
                for column, known in (
                    (lib.get("symbols"), symbols_known),
                    (lib.get("footprints"), footprints_known),
                ):
                    if not column:
                        continue
                    query = f'SELECT "{key}", "{column}" FROM "{table}"'
                    for part, refs in db.execute(query):
                        for ref in (refs or "").split(";"):
                            if ref := ref.strip():
                                out.append(
                                    {
                                        "item": f"{prefix}{part}: {ref}",
                                        "resolves": _split_target(ref) in known,
                                    }
                                )
    return out


# Report rows that say a whole library was lost: its file (the row named after it) or its parts database.
WHOLE_LIBRARY_ITEMS = ("parts database",)


def source_libraries(inv: Inventory) -> list[dict]:
    """One row per source library the analysis opened (or could not: the reason in `item`)."""
    rows = []
    for lib in inv.of_kind("library"):
        error = lib.facts.get("error")
        named = error if str(error).startswith(lib.library) else f"{lib.library}: {error}"
        rows.append({"item": named if error else lib.library, "opened": not error})
    return rows


def converted_libraries(rows: list[dict]) -> list[dict]:
    """One row per converted source library: False when the conversion lost it as a whole."""
    lost: dict[str, list[str]] = {}
    names: dict[str, str] = {}  # 70,000 rows name a handful of library files: one Path each
    for r in rows:
        name = names.get(r["source"]) or names.setdefault(r["source"], Path(r["source"]).name)
        whole = r["item"] == name or r["item"] in WHOLE_LIBRARY_ITEMS
        lost.setdefault(r["source"], [])
        if r["kind"] == "library" and r["status"] == "failed" and whole:
            lost[r["source"]] += r["messages"] or [f"{r['item']} failed"]
    return [
        {"item": f"{source}: {'; '.join(reasons)[:500]}" if reasons else source, "opened": not reasons}
        for source, reasons in lost.items()
    ]


def migration_outcome(metrics: dict[str, tuple[float, str]], quality_target: float) -> list[dict]:
    """The run as one row: what was migrated, how well, against the configured target."""
    migrated = metrics["components_migrated"][0]
    quality = metrics["migration_quality"][0]
    return [
        {
            "item": f"run: {migrated:.0f} components migrated, migration_quality {quality:.1%} "
            f"(target {quality_target:.0%})",
            "components_migrated": migrated,
            "migration_quality": quality,
            "quality_target": quality_target,
        }
    ]
