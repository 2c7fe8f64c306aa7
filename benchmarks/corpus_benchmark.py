#!/usr/bin/env python3
"""Corpus benchmark: converts every symbol and footprint library of ../shared/corpus and prints
items per second and peak memory; with KiCad set up, runs `kicad-cli sym upgrade` / `fp upgrade`
(KiCad's own Altium import) over the same files and prints the ratio.

A script, not a test: speed is measured here, never asserted in the suite.
    ./run bench                      # both, whole corpus
    ./run bench --kind symbols --no-kicad
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converters.convert import ConvertOptions, convert_paths  # noqa: E402

KINDS = {"symbols": (".schlib",), "footprints": (".pcblib", ".intlib")}


def corpus_files(corpus: Path, kind: str) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in KINDS[kind])


def run_ours(files: list[Path], out: Path) -> dict:
    started = time.perf_counter()
    report = convert_paths(files, out, ConvertOptions())
    seconds = time.perf_counter() - started
    counts = report.counts()
    items = sum(1 for r in report.items if r.kind in ("symbol", "footprint"))
    return {
        "files": len(files),
        "items": items,
        "seconds": round(seconds, 3),
        "items_per_second": round(items / seconds, 1) if seconds else None,
        "failed": counts["failed"],
    }


def kicad_cli(shared: Path) -> Path | None:
    cli = shared / "tools" / "kicad" / "kicad-cli"
    root = Path(os.environ.get("KICAD_ORACLE_ROOT", "/var/lib/kicad-oracle/trixie"))
    return cli if cli.exists() and (root / "usr/bin/kicad-cli").exists() else None


def run_kicad(cli: Path, files: list[Path], kind: str, out: Path) -> dict:
    verb = "sym" if kind == "symbols" else "fp"
    out.mkdir(parents=True, exist_ok=True)
    failed, started = 0, time.perf_counter()
    for i, path in enumerate(files):
        target = out / (f"{i}.kicad_sym" if verb == "sym" else f"{i}.pretty")
        done = subprocess.run(
            [str(cli), verb, "upgrade", "--force", str(path), "-o", str(target)], capture_output=True
        )
        failed += done.returncode != 0
    seconds = time.perf_counter() - started
    return {"files": len(files), "seconds": round(seconds, 3), "failed": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--kind", choices=("symbols", "footprints", "both"), default="both")
    parser.add_argument("--no-kicad", action="store_true", help="skip the kicad-cli comparison")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    corpus = args.shared / "corpus"
    if not corpus.is_dir():
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    kinds = ["symbols", "footprints"] if args.kind == "both" else [args.kind]
    cli = None if args.no_kicad else kicad_cli(args.shared)
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for kind in kinds:
            files = corpus_files(corpus, kind)
            ours = run_ours(files, Path(scratch) / f"ours-{kind}")
            row = {"ours": ours}
            line = (
                f"{kind}: {ours['files']} libraries, {ours['items']} items in {ours['seconds']} s"
                f" = {ours['items_per_second']} items/s ({ours['failed']} failed rows)"
            )
            if cli:
                theirs = run_kicad(cli, files, kind, Path(scratch) / f"kicad-{kind}")
                row["kicad_cli"] = theirs
                ratio = theirs["seconds"] / ours["seconds"] if ours["seconds"] else None
                row["speedup"] = round(ratio, 2) if ratio else None
                line += (
                    f"; kicad-cli {verb_name(kind)} upgrade: {theirs['seconds']} s"
                    f" ({theirs['failed']} files failed); we are {row['speedup']}x as fast"
                )
            print(line)
            figures[kind] = row
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["peak_memory_mib"] = round(peak_mib, 1)
    print(f"peak memory (this process): {peak_mib:.1f} MiB")
    if not cli and not args.no_kicad:
        print("kicad-cli not set up (../shared/tools/kicad/setup): no comparison")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


def verb_name(kind: str) -> str:
    return "sym" if kind == "symbols" else "fp"


if __name__ == "__main__":
    sys.exit(main())
