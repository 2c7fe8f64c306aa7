"""KiCad's own design-rule check on converted footprints: the DRC a designer would see on a board.

Each library's footprints are placed, far apart, on one generated board; `kicad-cli pcb drc` checks
it, and every violation is given back to the footprint it belongs to. Only footprint-level checks
count (silkscreen over copper or overlapping, courtyard missing or malformed, pads shorting, text
too small); board-level ones (outline, hole limits of an empty board setup) say nothing about a
library part. A violation that involves an item this converter made up (auto-placed Reference or
Value, generated courtyard: uuids from `converters.kicad.footprint_fields.generated_uuid`) or a
malformed courtyard is *introduced*; the rest the Altium original already has.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from converters.kicad.footprint_fields import GENERATED_ROLES, generated_uuid
from converters.kicad.sexpr_reader import SExprError, parse, walk

TIMEOUT = 300  # s for one library's board
CELL_GAP = 20.0  # mm between placed footprints, so no violation spans two of them
PER_ROW = 10

FOOTPRINT_CHECKS = {
    "silk_over_copper",
    "silk_overlap",
    "malformed_courtyard",
    "missing_courtyard",
    "shorting_items",
    "text_height",
    "text_thickness",
    "holes_co_located",
    "hole_to_hole",
    "padstack",
}
ALWAYS_INTRODUCED = {"malformed_courtyard"}  # we promise closed courtyards (or a generated one)

_BOARD_LAYERS = """	(layers
		(0 "F.Cu" signal) (2 "B.Cu" signal)
		(9 "F.Adhes" user "F.Adhesive") (11 "B.Adhes" user "B.Adhesive")
		(13 "F.Paste" user) (15 "B.Paste" user)
		(5 "F.SilkS" user "F.Silkscreen") (7 "B.SilkS" user "B.Silkscreen")
		(1 "F.Mask" user) (3 "B.Mask" user)
		(17 "Dwgs.User" user "User.Drawings") (19 "Cmts.User" user "User.Comments")
		(21 "Eco1.User" user "User.Eco1") (23 "Eco2.User" user "User.Eco2")
		(25 "Edge.Cuts" user) (27 "Margin" user)
		(31 "F.CrtYd" user "F.Courtyard") (29 "B.CrtYd" user "B.Courtyard")
		(35 "F.Fab" user) (33 "B.Fab" user)
	)
"""
_NAME = re.compile(r'^\s*\(footprint\s+("(?:[^"\\]|\\.)*"|[^\s()]+)')
_HEADER_TOKENS = re.compile(r'\n?\s*\((?:version \d+|generator "[^"]*"|generator_version "[^"]*")\)')
_REFERENCE = re.compile(r'\(property\s+"Reference"\s+"(?:[^"\\]|\\.)*"')
_COORDS = ("at", "start", "end", "center", "mid", "xy")


@dataclass
class Violation:
    check: str  # KiCad's DRC type, e.g. silk_over_copper
    severity: str
    description: str
    introduced: bool  # made by this converter, not in the Altium original


@dataclass
class FootprintDrc:
    library: str  # .pretty folder
    footprint: str  # footprint name
    violations: list[Violation] = field(default_factory=list)

    @property
    def introduced(self) -> list[Violation]:
        return [v for v in self.violations if v.introduced]

    @property
    def original(self) -> list[Violation]:
        return [v for v in self.violations if not v.introduced]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class _Placed:
    name: str
    designator: str
    box: tuple[float, float, float, float]  # board coordinates of its cell
    generated: set[str]


def _extent(tree: list) -> tuple[float, float, float, float]:
    xs, ys = [0.0], [0.0]
    for token in _COORDS:
        for n in walk(tree, token):
            try:
                xs.append(float(n[1]))
                ys.append(float(n[2]))
            except (IndexError, ValueError, TypeError):
                continue
    return min(xs), min(ys), max(xs), max(ys)


def _board_footprint(text: str, designator: str, at: tuple[float, float]) -> str:
    body = _HEADER_TOKENS.sub("", text.strip())
    match = _NAME.match(body)
    if not match:
        raise ValueError("not a footprint file")
    name = match.group(1).strip('"')
    body = body[: match.start(1)] + f'"DRC:{name}"' + body[match.end(1) :]
    body = re.sub(r'\(layer\s+"?F\.Cu"?\)', lambda m: f"{m.group(0)}\n\t(at {at[0]} {at[1]})", body, count=1)
    return _REFERENCE.sub(f'(property "Reference" "{designator}"', body, count=1)


def write_board(pretty: Path, board: Path) -> list[_Placed]:
    """One board holding every footprint of `pretty`, in a grid of cells far apart."""
    placed: list[_Placed] = []
    parts: list[str] = []
    x = y = row_height = 0.0
    for n, path in enumerate(sorted(pretty.glob("*.kicad_mod"))):
        text = path.read_text(encoding="utf-8")
        try:
            tree = parse(text)
        except SExprError:
            continue  # KiCad cannot load it either; the load gate reports that
        name = str(tree[1])
        x1, y1, x2, y2 = _extent(tree)
        if n and n % PER_ROW == 0:
            x, y, row_height = 0.0, y + row_height + CELL_GAP, 0.0
        origin = (round(x - x1 + CELL_GAP, 4), round(y - y1 + CELL_GAP, 4))
        designator = f"FP{n + 1}"
        parts.append(_board_footprint(text, designator, origin))
        box = (x, y, x + (x2 - x1) + 2 * CELL_GAP, y + (y2 - y1) + 2 * CELL_GAP)
        placed.append(_Placed(name, designator, box, {generated_uuid(name, r) for r in GENERATED_ROLES}))
        x = box[2]
        row_height = max(row_height, box[3] - box[1])
    board.write_text(
        '(kicad_pcb\n\t(version 20241229)\n\t(generator "altium2kicad")\n\t(generator_version "9.0")\n'
        '\t(general\n\t\t(thickness 1.6)\n\t\t(legacy_teardrops no)\n\t)\n\t(paper "A4")\n'
        + _BOARD_LAYERS
        + '\t(setup\n\t\t(pad_to_mask_clearance 0)\n\t)\n\t(net 0 "")\n'
        + "\n".join(parts)
        + "\n)\n",
        encoding="utf-8",
    )
    return placed


def _owner(item: dict, placed: list[_Placed]) -> _Placed | None:
    found = re.search(r"\bof (FP\d+)\b|\bFootprint (FP\d+)\b", item.get("description", ""))
    if found:
        designator = found.group(1) or found.group(2)
        return next((p for p in placed if p.designator == designator), None)
    pos = item.get("pos") or {}
    px, py = pos.get("x", -1e9), pos.get("y", -1e9)
    return next((p for p in placed if p.box[0] <= px <= p.box[2] and p.box[1] <= py <= p.box[3]), None)


def attribute(report: dict, placed: list[_Placed], library: str) -> list[FootprintDrc]:
    """The DRC report's footprint-level violations, per footprint (every placed one listed)."""
    results = {p.designator: FootprintDrc(library, p.name) for p in placed}
    for v in report.get("violations", []):
        if v.get("type") not in FOOTPRINT_CHECKS:
            continue
        items = v.get("items") or []
        owner = next((o for o in (_owner(i, placed) for i in items) if o), None)
        if owner is None:
            continue
        introduced = v["type"] in ALWAYS_INTRODUCED or any(i.get("uuid") in owner.generated for i in items)
        described = "; ".join(i.get("description", "") for i in items)
        results[owner.designator].violations.append(
            Violation(
                v["type"], v.get("severity", ""), f"{v.get('description', '')}: {described}", introduced
            )
        )
    return list(results.values())


def check_library(cli: Path, pretty: Path, keep: Path | None = None) -> list[FootprintDrc]:
    """Runs KiCad's DRC on a board of every footprint in `pretty`; raises when KiCad fails."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        board = folder / f"{pretty.stem}.kicad_pcb"
        report = folder / f"{pretty.stem}.drc.json"
        placed = write_board(pretty, board)
        if not placed:
            return []
        proc = subprocess.run(
            [
                str(cli),
                "pcb",
                "drc",
                "--format",
                "json",
                "--severity-all",
                "--units",
                "mm",
                "-o",
                str(report),
                str(board),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if not report.exists():
            raise RuntimeError(
                f"{pretty}: kicad-cli pcb drc failed: {(proc.stderr or proc.stdout).strip()[-300:]}"
            )
        return attribute(json.loads(report.read_text(encoding="utf-8")), placed, str(pretty))


def gate_rows(results: list[FootprintDrc]) -> list[dict]:
    """One row per footprint for the `footprint_drc` suite: counts of introduced/original violations,
    the item naming the footprint and which checks it breaks."""
    rows = []
    for r in results:
        checks = Counter(v.check for v in r.violations)
        named = ", ".join(f"{c} x{n}" if n > 1 else c for c, n in sorted(checks.items()))
        rows.append(
            {
                "item": f"{Path(r.library).stem}:{r.footprint}" + (f" [{named}]" if named else ""),
                "drc_introduced": len(r.introduced),
                "drc_original": len(r.original),
            }
        )
    return rows


def summarize(results: list[FootprintDrc]) -> dict:
    """Footprints with footprint-level violations, in all and per check (each footprint once)."""
    per_check: Counter[str] = Counter()
    for r in results:
        per_check.update({v.check for v in r.violations})
    return {
        "footprints": len(results),
        "with_violations": sum(1 for r in results if r.violations),
        "with_introduced": sum(1 for r in results if r.introduced),
        "per_check": dict(sorted(per_check.items())),
    }
