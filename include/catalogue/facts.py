"""What the catalogue says about a deployed version, read from the version folder alone.

The folder holds everything needed: the KiCad files (fields, pictures, 3D model references and the
model files themselves) and the release's report.json (each item's Altium file and item, status
and the approximations its conversion made). So the same facts come out in a deployment, in a
promotion (which only has the version folder) and when re-building an old version's catalogue.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from converters.kicad.sexpr_reader import SExprError, child, children, parse, value, walk

from ..svg_render import footprint_svg, symbol_svg, unit_count

log = logging.getLogger(__name__)
MODEL_VARIABLE = "${ALTIUM2KICAD_3DMODELS}"
# symbol properties KiCad keeps for itself: not fields a designer looks up
HIDDEN_PROPERTIES = frozenset({"ki_fp_filters", "ki_keywords", "ki_locked"})


@dataclass
class Origin:
    """Where an item came from in Altium and what its conversion approximated (report.json)."""

    source_file: str = ""  # the Altium library's file name
    source_item: str = ""  # the item's name in it
    status: str = "unknown"  # ok | warning | failed | unknown (not in report.json)
    approximations: list[str] = field(default_factory=list)


@dataclass
class CatalogueItem:
    library: str
    kind: str  # symbol | footprint
    name: str
    fields: dict[str, str]
    picture: str  # inline SVG ("" when it could not be drawn)
    origin: Origin
    pins: int = 0  # pins of a symbol, pads of a footprint
    units: int = 1
    models: list[str] = field(default_factory=list)  # 3D models a footprint references
    missing_models: list[str] = field(default_factory=list)  # referenced but not in the version

    @property
    def ref(self) -> str:
        return f"{self.library}:{self.name}"

    @property
    def value(self) -> str:
        return self.fields.get("Value", "")

    @property
    def has_model(self) -> bool:
        return bool(self.models) and not self.missing_models


@dataclass
class CatalogueLibrary:
    name: str  # the KiCad library nickname
    kind: str  # symbol | footprint
    file: str  # relative to the version folder
    items: list[CatalogueItem]

    @property
    def slug(self) -> str:
        """Its page's file stem: unique even when a symbol and a footprint library share a name."""
        return f"{self.kind}s-{_safe(self.name)}"

    @property
    def approximated(self) -> int:
        return sum(1 for i in self.items if i.origin.approximations)


@dataclass
class VersionFacts:
    version: str
    environment: str
    libraries: list[CatalogueLibrary]
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def items(self) -> list[CatalogueItem]:
        return [i for lib in self.libraries for i in lib.items]

    def counts(self) -> dict[str, int]:
        items = self.items()
        return {
            "libraries": len(self.libraries),
            "symbols": sum(1 for i in items if i.kind == "symbol"),
            "footprints": sum(1 for i in items if i.kind == "footprint"),
            "with_3d_model": sum(1 for i in items if i.has_model),
            "missing_3d_model": sum(1 for i in items if i.missing_models),
            "approximated": sum(1 for i in items if i.origin.approximations),
        }


LISTED_KINDS = ("symbol", "footprint")  # what read_version lists, so all origins() is asked for


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def origins(folder: Path) -> dict[tuple[str, str], Origin]:
    """(kind, `Lib:Item`) -> Origin of the symbols and footprints in the release's report.json
    (empty when it has none): the catalogue lists only those, not the 70,000 parts of a big DbLib."""
    try:
        rows = json.loads((folder / "report.json").read_text(encoding="utf-8"))["items"]
    except (OSError, ValueError, KeyError):
        log.warning("%s: no readable report.json; the catalogue names no Altium origins", folder)
        return {}
    found: dict[tuple[str, str], Origin] = {}
    for row in rows:
        if row.get("kind") not in LISTED_KINDS:
            continue
        found[(row["kind"], row.get("target", ""))] = Origin(
            PurePosixPath(str(row.get("source", "")).replace("\\", "/")).name,
            str(row.get("item", "")),
            str(row.get("status", "unknown")),
            [str(m) for m in row.get("messages") or []],
        )
    return found


def _symbol_item(library: str, sym, known: dict[tuple[str, str], Origin]) -> CatalogueItem:
    name = value(sym)
    fields = {value(p): value(p, 2) for p in children(sym, "property") if value(p) not in HIDDEN_PROPERTIES}
    numbers = {value(child(pin, "number")) for pin in walk(sym, "pin")}
    try:
        picture, units = symbol_svg(sym), unit_count(sym)
    except (ValueError, TypeError, IndexError) as exc:
        log.warning("%s:%s: no picture (%s)", library, name, exc)
        picture, units = "", 1
    origin = known.get(("symbol", f"{library}:{name}"), Origin())
    return CatalogueItem(library, "symbol", name, fields, picture, origin, len(numbers), units)


def _model_file(folder: Path, reference: str) -> Path | None:
    """A model reference inside the version (`${ALTIUM2KICAD_3DMODELS}/Lib.3dshapes/x.step`), else None."""
    if not reference.startswith(MODEL_VARIABLE):
        return None
    return folder / "3dmodels" / reference[len(MODEL_VARIABLE) :].lstrip("/")


def _footprint_item(
    library: str, path: Path, folder: Path, known: dict[tuple[str, str], Origin]
) -> CatalogueItem:
    root = parse(path.read_text(encoding="utf-8"))
    fields = {value(p): value(p, 2) for p in children(root, "property")}
    if descr := value(child(root, "descr")):
        fields.setdefault("Description", descr)
    if tags := value(child(root, "tags")):
        fields["Keywords"] = tags
    if attr := child(root, "attr"):
        fields["Type"] = " ".join(str(a) for a in attr[1:] if not isinstance(a, list))
    models = [value(m) for m in children(root, "model")]
    missing = [
        m for m in models if (f := _model_file(folder, m)) is not None and not f.is_file()
    ]  # a reference outside the version (a shared model path) is not ours to check
    try:
        picture = footprint_svg(root)
    except (ValueError, TypeError, IndexError) as exc:
        log.warning("%s:%s: no picture (%s)", library, path.stem, exc)
        picture = ""
    origin = known.get(("footprint", f"{library}:{path.stem}"), Origin())
    pads = {value(p) for p in children(root, "pad") if value(p)}
    return CatalogueItem(
        library, "footprint", path.stem, fields, picture, origin, len(pads), 1, models, missing
    )


def read_version(folder: Path, version: str, environment: str) -> VersionFacts:
    """Every symbol library and footprint library of a deployed version folder, in name order."""
    known = origins(folder)
    libraries: list[CatalogueLibrary] = []
    for path in sorted((folder / "symbols").glob("*.kicad_sym")):
        try:
            root = parse(path.read_text(encoding="utf-8"))
        except (OSError, SExprError) as exc:
            log.warning("%s: not listed in the catalogue (%s)", path, exc)
            continue
        items = sorted(
            (_symbol_item(path.stem, sym, known) for sym in children(root, "symbol")), key=lambda i: i.name
        )
        libraries.append(CatalogueLibrary(path.stem, "symbol", path.relative_to(folder).as_posix(), items))
    for lib in sorted((folder / "footprints").glob("*.pretty")):
        name = lib.name.removesuffix(".pretty")
        items = []
        for mod in sorted(lib.glob("*.kicad_mod")):
            try:
                items.append(_footprint_item(name, mod, folder, known))
            except (OSError, SExprError) as exc:
                log.warning("%s: not listed in the catalogue (%s)", mod, exc)
        libraries.append(CatalogueLibrary(name, "footprint", lib.relative_to(folder).as_posix(), items))
    return VersionFacts(version, environment, libraries)
