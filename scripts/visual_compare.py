"""Our conversion against KiCad's own, as pictures: which symbols and footprints look most different.

    python -m scripts.visual_compare OURS REFERENCE -o var/visual
    python -m scripts.visual_compare OURS REFERENCE -o var/visual --convert ~/AltiumLibs --kicad-import ~/AltiumLibs

OURS is a conversion output folder (or any folder of .kicad_sym files and .pretty folders);
REFERENCE is KiCad's own conversion of the same libraries (`../shared/reference` for the corpus).
`--convert SRC` first converts SRC into OURS with our converter; `--kicad-import SRC` first has
KiCad 9 import every SchLib, PcbLib and IntLib under SRC into REFERENCE (`kicad-cli sym/fp
upgrade`), so any collection can be checked. Libraries are paired by file name, items by the file
names `kicad-cli sym/fp export svg` gives them (both without case and punctuation: match_key).
Every item is drawn by KiCad itself, rasterised and scored (scripts/visual_diff.py); OUT/index.html lists the most
different items with both pictures and their overlay side by side, OUT/results.json every score.
The output folder is scratch: keep it out of git (var/ is ignored).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KINDS = ("symbol", "footprint")
SYMBOL_SOURCES = (".schlib", ".intlib")
FOOTPRINT_SOURCES = (".pcblib", ".intlib")
KICAD_TIMEOUT_S = 600


@dataclass
class LibraryPair:
    kind: str  # symbol or footprint
    label: str  # the reference library relative to REFERENCE, without its extension
    ours: Path  # .kicad_sym file or .pretty folder
    reference: Path

    @property
    def key(self) -> str:
        """The label as a folder name."""
        return _slug(self.label)


@dataclass
class ItemResult:
    kind: str
    library: str  # the reference library, relative to REFERENCE
    item: str  # the SVG file's stem: symbol name + unit (+ _demorgan), or footprint name
    score: float | None = None  # None: only one side has it, or it could not be drawn
    ours_only: int = 0
    reference_only: int = 0
    shared: int = 0
    status: str = "compared"  # compared, only in ours, only in reference, error
    error: str = ""
    pictures: dict[str, str] = field(default_factory=dict)  # ours/reference/diff -> path in OUT


def default_kicad_cli() -> Path:
    """ALTIUM2KICAD_KICAD_CLI, else ../shared/tools/kicad/kicad-cli beside the repository."""
    shared = Path(os.environ.get("ALTIUM2KICAD_SHARED", REPO.parent / "shared"))
    return Path(os.environ.get("ALTIUM2KICAD_KICAD_CLI", shared / "tools/kicad/kicad-cli"))


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=KICAD_TIMEOUT_S)


# --- the two conversions ------------------------------------------------------------------------------
def convert_with_ours(sources: list[Path], ours: Path) -> None:
    cmd = [sys.executable, "-m", "converters", "convert", *map(str, sources), "-o", str(ours), "-q"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode == 2:
        raise SystemExit(f"our converter could not read {sources}: {done.stderr.strip()}")


def import_with_kicad(source: Path, reference: Path, kicad_cli: Path) -> list[str]:
    """KiCad's own conversion of every library under `source`, laid out like it; the problems."""
    problems = []
    libraries = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for lib in libraries:
        suffix = lib.suffix.lower()
        target = reference / (lib.relative_to(source).parent if source.is_dir() else Path())
        jobs = []
        if suffix in SYMBOL_SOURCES:
            jobs.append(("sym", target / f"{lib.stem}.kicad_sym"))
        if suffix in FOOTPRINT_SOURCES:
            jobs.append(("fp", target / f"{lib.stem}.pretty"))
        for tool, out in jobs:
            target.mkdir(parents=True, exist_ok=True)
            done = _run([str(kicad_cli), tool, "upgrade", "--force", str(lib), "-o", str(out)])
            if done.returncode != 0:
                problems.append(
                    f"{lib}: KiCad's import failed ({tool}): {(done.stdout + done.stderr).strip()}"
                )
    return problems


# --- pairing ------------------------------------------------------------------------------------------
def _libraries(folder: Path, kind: str) -> list[Path]:
    if kind == "symbol":
        return sorted(p for p in folder.rglob("*.kicad_sym") if p.is_file())
    return sorted(p for p in folder.rglob("*.pretty") if p.is_dir())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def match_key(name: str) -> str:
    """Library and item names compared without case and punctuation: our naming rule writes
    `CAP 0.10uF 16V` as `CAP_0.10uF_16V` where KiCad keeps the space."""
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def pair_libraries(ours: Path, reference: Path, kind: str) -> tuple[list[LibraryPair], list[ItemResult]]:
    """Reference libraries with our library of the same file stem; the libraries only one side has."""
    by_stem: dict[str, list[Path]] = {}
    for path in _libraries(ours, kind):
        by_stem.setdefault(match_key(path.stem), []).append(path)
    pairs, unpaired = [], []
    seen: set[str] = set()
    for ref in _libraries(reference, kind):
        rel = ref.relative_to(reference).with_suffix("").as_posix()
        candidates = by_stem.get(match_key(ref.stem), [])
        if not candidates:
            unpaired.append(ItemResult(kind, rel, "(whole library)", status="only in reference"))
            continue
        seen.add(match_key(ref.stem))
        pairs.append(LibraryPair(kind, rel, candidates[0], ref))
    for stem, paths in by_stem.items():
        if stem not in seen:
            for path in paths:
                unpaired.append(ItemResult(kind, path.name, "(whole library)", status="only in ours"))
    return pairs, unpaired


# --- one library pair ---------------------------------------------------------------------------------
def export_svgs(kicad_cli: Path, library: Path, kind: str, out: Path, layers: str = "") -> dict[str, Path]:
    """KiCad's drawing of every item of the library: file stem -> SVG. Symbols in colour (a
    black-and-white drawing leaves coloured fills out, and Altium symbols often have them),
    footprints in black and white (layer colours such as the silkscreen's are too pale to tell from
    the background). `layers` (footprints): KiCad's layer names to draw, e.g. "F.Cu,B.Cu"; all when
    empty."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tool = "sym" if kind == "symbol" else "fp"
    extra = ["--black-and-white"] if kind == "footprint" else []
    extra += ["--layers", layers] if layers and kind == "footprint" else []
    done = _run([str(kicad_cli), tool, "export", "svg", *extra, "-o", str(out), str(library)])
    svgs = {p.stem: p for p in out.glob("*.svg")}
    if done.returncode != 0 and not svgs:
        raise RuntimeError(
            f"kicad-cli {tool} export svg failed on {library}: {(done.stdout + done.stderr).strip()}"
        )
    return svgs


def compare_pair(
    pair: LibraryPair, kicad_cli: Path, out: Path, layers: str = "", max_pixels: int = 800
) -> list[ItemResult]:
    """Every item of one library pair, scored; pictures under OUT/pictures/<library>/."""
    from scripts.visual_diff import compare_svgs, save_png

    rel = pair.label
    try:
        svg = out / "svg" / pair.kind
        ours = export_svgs(kicad_cli, pair.ours, pair.kind, svg / "ours" / pair.key, layers)
        theirs = export_svgs(kicad_cli, pair.reference, pair.kind, svg / "reference" / pair.key, layers)
    except (RuntimeError, subprocess.SubprocessError) as exc:
        return [ItemResult(pair.kind, rel, "(whole library)", status="error", error=str(exc))]
    ours_by_key = {match_key(k): v for k, v in ours.items()}
    theirs_by_key = {match_key(k): v for k, v in theirs.items()}
    results = []
    for key in sorted(ours_by_key.keys() | theirs_by_key.keys()):
        mine, ref = ours_by_key.get(key), theirs_by_key.get(key)
        item = (ref or mine).stem
        if mine is None or ref is None:
            status = "only in reference" if mine is None else "only in ours"
            results.append(ItemResult(pair.kind, rel, item, status=status))
            continue
        try:
            comparison, ours_grey, reference_grey, diff = compare_svgs(mine, ref, max_pixels)
        except Exception as exc:  # one item that cannot be drawn costs only itself
            results.append(
                ItemResult(pair.kind, rel, item, status="error", error=f"{type(exc).__name__}: {exc}")
            )
            continue
        folder = out / "pictures" / pair.kind / pair.key
        pictures = {}
        for name, pixels in (("ours", ours_grey), ("reference", reference_grey), ("diff", diff)):
            path = folder / f"{_slug(item)}.{name}.png"
            save_png(pixels, path)
            pictures[name] = path.relative_to(out).as_posix()
        results.append(
            ItemResult(
                pair.kind,
                rel,
                item,
                comparison.score,
                comparison.ours_only,
                comparison.reference_only,
                comparison.shared,
                pictures=pictures,
            )
        )
    return results


# --- the page -----------------------------------------------------------------------------------------
def _summary(results: list[ItemResult], kind: str) -> str:
    mine = [r for r in results if r.kind == kind]
    scored = [r.score for r in mine if r.score is not None]
    counts = {s: sum(r.status == s for r in mine) for s in ("only in ours", "only in reference", "error")}
    if not mine:
        return f"{kind}s: none"
    mean = sum(scored) / len(scored) if scored else 0.0
    return (
        f"{kind}s: {len(scored)} compared, {sum(s < 0.01 for s in scored)} alike (score < 0.01), "
        f"{sum(s >= 0.1 for s in scored)} different (score >= 0.1), mean score {mean:.3f}; "
        f"{counts['only in ours']} only in ours, {counts['only in reference']} only in KiCad's, "
        f"{counts['error']} errors"
    )


def write_html(results: list[ItemResult], out: Path, top: int) -> Path:
    """index.html: the summary, the `top` most different items of each kind with their pictures,
    then the items only one side has and the errors."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>altium2kicad: visual comparison</title>",
        "<style>body{font-family:sans-serif;margin:1em}td,th{border-bottom:1px solid #ccc;padding:4px;"
        "vertical-align:top}img{max-width:320px;max-height:320px;border:1px solid #eee}"
        ".k{color:#555;font-size:90%}</style></head><body>",
        "<h1>Our conversion against KiCad's own</h1>",
        "<p class='k'>Score: ink only one picture has, over all ink (0 = alike, 1 = nothing shared). "
        "Overlay: black both, <span style='color:#dc0000'>red only ours</span>, "
        "<span style='color:#003ce6'>blue only KiCad's</span>.</p><ul>",
        *[f"<li>{esc(_summary(results, kind))}</li>" for kind in KINDS],
        "</ul>",
    ]
    for kind in KINDS:
        scored = sorted(
            (r for r in results if r.kind == kind and r.score is not None),
            key=lambda r: (-r.score, r.library, r.item),
        )
        if not scored:
            continue
        parts.append(f"<h2>The {min(top, len(scored))} most different {kind}s</h2><table>")
        parts.append("<tr><th>#</th><th>item</th><th>ours</th><th>KiCad's</th><th>overlay</th></tr>")
        for n, r in enumerate(scored[:top], 1):
            pics = "".join(
                f"<td><img src='{esc(r.pictures[k])}' loading='lazy'></td>"
                for k in ("ours", "reference", "diff")
            )
            parts.append(
                f"<tr><td>{n}</td><td><b>{esc(r.item)}</b><br><span class='k'>{esc(r.library)}</span><br>"
                f"score {r.score:.3f}<br>only ours {r.ours_only} px, only KiCad's {r.reference_only} px</td>{pics}</tr>"
            )
        parts.append("</table>")
    rest = [r for r in results if r.score is None]
    if rest:
        parts.append(
            "<h2>Not compared</h2><table><tr><th>kind</th><th>library</th><th>item</th><th>why</th></tr>"
        )
        for r in sorted(rest, key=lambda r: (r.kind, r.status, r.library, r.item)):
            why = r.status + (f": {r.error}" if r.error else "")
            parts.append(
                f"<tr><td>{r.kind}</td><td>{esc(r.library)}</td><td>{esc(r.item)}</td><td>{esc(why)}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    page = out / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page


# --- the command --------------------------------------------------------------------------------------
def compare(
    ours: Path,
    reference: Path,
    out: Path,
    kicad_cli: Path,
    kinds: tuple[str, ...] = KINDS,
    jobs: int = 2,
    layers: str = "",
    max_pixels: int = 800,
) -> list[ItemResult]:
    """Every item of every paired library, scored; writes OUT/results.json."""
    out.mkdir(parents=True, exist_ok=True)
    pairs, results = [], []
    for kind in kinds:
        found, unpaired = pair_libraries(ours, reference, kind)
        pairs += found
        results += unpaired
    if jobs > 1 and len(pairs) > 1:
        with ProcessPoolExecutor(jobs) as pool:
            n = len(pairs)
            rest = ([kicad_cli] * n, [out] * n, [layers] * n, [max_pixels] * n)
            for batch in pool.map(compare_pair, pairs, *rest):
                results += batch
    else:
        for pair in pairs:
            results += compare_pair(pair, kicad_cli, out, layers, max_pixels)
    (out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1), encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.visual_compare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("ours", type=Path, help="our conversion (output folder)")
    parser.add_argument("reference", type=Path, help="KiCad's conversion of the same libraries")
    parser.add_argument(
        "-o", "--output", type=Path, default=REPO / "var" / "visual", help="scratch folder for the page"
    )
    parser.add_argument("--convert", type=Path, nargs="+", metavar="SRC", help="first convert SRC into OURS")
    parser.add_argument(
        "--kicad-import", type=Path, metavar="SRC", help="first import SRC into REFERENCE with KiCad"
    )
    parser.add_argument("--kind", choices=[*KINDS, "both"], default="both")
    parser.add_argument(
        "--fp-layers", default="", help="footprint layers to draw, e.g. F.Cu,B.Cu (default: all)"
    )
    parser.add_argument(
        "--pixels", type=int, default=800, help="longest side of a drawing in pixels (default 800)"
    )
    parser.add_argument("--top", type=int, default=60, help="items per kind on the page (default 60)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--kicad-cli", type=Path, default=default_kicad_cli())
    args = parser.parse_args(argv)
    if not args.kicad_cli.exists():
        parser.error(f"kicad-cli not found at {args.kicad_cli} (set ALTIUM2KICAD_KICAD_CLI or --kicad-cli)")
    if args.convert:
        convert_with_ours(args.convert, args.ours)
    if args.kicad_import:
        for problem in import_with_kicad(args.kicad_import, args.reference, args.kicad_cli):
            print(problem, file=sys.stderr)
    for folder in (args.ours, args.reference):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
    kinds = KINDS if args.kind == "both" else (args.kind,)
    results = compare(
        args.ours, args.reference, args.output, args.kicad_cli, kinds, args.jobs, args.fp_layers, args.pixels
    )
    page = write_html(results, args.output, args.top)
    for kind in kinds:
        print(_summary(results, kind))
    for r in results:
        if r.status == "error":
            print(f"error: {r.library} {r.item}: {r.error}", file=sys.stderr)
    print(f"page: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
