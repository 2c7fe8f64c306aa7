"""Facts about the KiCad libraries a run wrote, read back from the files themselves.

The gates compare these with the source inventory: pins per symbol, pin numbers per unit, pads per
footprint, courtyard present, 3D model references. Reading the written text (not the writer's
model) is what makes the comparison a check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from converters.kicad.sexpr_reader import SExprError, at, child, children, parse, value, walk

GRID_MM = 1.27  # 50 mil
_UNIT_NAME = re.compile(r"^(?P<base>.+)_(?P<unit>\d+)_(?P<style>\d+)$")


@dataclass
class SymbolFacts:
    library: str
    name: str
    pins: int = 0
    units: int = 1
    duplicate_pins: list[str] = field(default_factory=list)  # "unit 1: 3" when a unit repeats a number
    off_grid_pins: list[str] = field(default_factory=list)
    footprint: str = ""
    error: str = ""


@dataclass
class FootprintFacts:
    library: str
    name: str
    path: str
    pads: int = 0
    courtyard: bool = False
    models: list[str] = field(default_factory=list)
    error: str = ""


def _on_grid(v: float) -> bool:
    return abs(v / GRID_MM - round(v / GRID_MM)) < 1e-3


def read_symbol_library(path: Path) -> list[SymbolFacts]:
    """Facts of every symbol in a .kicad_sym; a file that cannot be read is one fact with an error."""
    nickname = path.stem
    try:
        root = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SExprError) as exc:
        return [SymbolFacts(nickname, "", error=f"{path}: cannot be read back: {exc}")]
    facts = []
    for sym in children(root, "symbol"):
        name = value(sym)
        f = SymbolFacts(nickname, name)
        for prop in children(sym, "property"):
            if value(prop) == "Footprint":
                f.footprint = value(prop, 2)
        per_unit: dict[int, list[str]] = {}
        units = set()
        for sub in children(sym, "symbol"):
            m = _UNIT_NAME.match(value(sub))
            unit = int(m.group("unit")) if m else 0
            style = int(m.group("style")) if m else 1
            if unit:
                units.add(unit)
            for pin in children(sub, "pin"):
                number = value(child(pin, "number"))
                if style <= 1:  # De Morgan alternates repeat the same pins
                    f.pins += 1
                    per_unit.setdefault(unit, []).append(number)
                x, y, _ = at(pin)
                if not (_on_grid(x) and _on_grid(y)):
                    f.off_grid_pins.append(f"{number} at ({x:g}, {y:g})")
        f.units = max(len(units), 1)
        common = per_unit.pop(0, [])
        for unit, numbers in sorted(per_unit.items()) or [(0, [])]:
            seen: set[str] = set()
            for n in numbers + common:
                if n in seen and n:
                    f.duplicate_pins.append(f"unit {unit}: {n}")
                seen.add(n)
        facts.append(f)
    return facts


def read_footprint(path: Path, library: str) -> FootprintFacts:
    try:
        root = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SExprError) as exc:
        return FootprintFacts(library, path.stem, str(path), error=f"{path}: cannot be read back: {exc}")
    f = FootprintFacts(library, value(root) or path.stem, str(path))
    f.pads = sum(1 for _ in children(root, "pad"))
    f.courtyard = any(
        value(child(g, "layer")) in ("F.CrtYd", "B.CrtYd")
        for token in ("fp_line", "fp_rect", "fp_poly", "fp_circle", "fp_arc")
        for g in walk(root, token)
    )
    f.models = [value(m) for m in children(root, "model")]
    return f


def read_footprint_library(folder: Path) -> list[FootprintFacts]:
    nickname = folder.name.removesuffix(".pretty")
    return [read_footprint(p, nickname) for p in sorted(folder.glob("*.kicad_mod"))]


@dataclass
class WrittenLibraries:
    """Every library below one or more conversion output folders."""

    symbol_files: list[Path] = field(default_factory=list)
    footprint_folders: list[Path] = field(default_factory=list)
    model_files: list[Path] = field(default_factory=list)
    database_files: list[Path] = field(default_factory=list)

    @classmethod
    def find(cls, outputs: list[Path]) -> WrittenLibraries:
        w = cls()
        for out in outputs:
            w.symbol_files += sorted(out.glob("symbols/*.kicad_sym"))
            w.footprint_folders += sorted(p for p in out.glob("footprints/*.pretty") if p.is_dir())
            w.model_files += sorted(p for p in out.glob("3dmodels/**/*") if p.is_file())
            w.database_files += sorted(out.glob("database/*.kicad_dbl"))
        return w
