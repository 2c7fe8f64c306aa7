"""KiCad's DRC over every footprint library below some folders, optionally beside a reference.

    python -m scripts.footprint_drc OUT/footprints [--reference ../shared/reference] [--json FILE]

Prints, per collection, how many footprints have footprint-level violations (silk over copper,
silk overlap, courtyard missing or malformed, shorting pads, text too small), in all and per
check, and for ours how many of those we introduced. With --reference, KiCad's own conversion of
the same libraries is checked the same way, so the two can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from include.footprint_drc import FootprintDrc, check_library, summarize


def _cli() -> Path:
    shared = Path(
        os.environ.get("ALTIUM2KICAD_SHARED", Path(__file__).resolve().parents[1].parent / "shared")
    )
    return Path(os.environ.get("ALTIUM2KICAD_KICAD_CLI", shared / "tools" / "kicad" / "kicad-cli"))


def check_all(cli: Path, root: Path) -> list[FootprintDrc]:
    results: list[FootprintDrc] = []
    for pretty in sorted(root.rglob("*.pretty")):
        try:
            results += check_library(cli, pretty)
        except (RuntimeError, OSError) as exc:
            print(f"  {pretty}: {exc}", file=sys.stderr)
    return results


def _print(label: str, summary: dict) -> None:
    print(
        f"{label}: {summary['with_violations']} of {summary['footprints']} footprints with "
        f"footprint-level DRC violations ({summary['with_introduced']} introduced by the conversion)"
    )
    for check, count in summary["per_check"].items():
        print(f"    {check}: {count} footprints")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ours", type=Path, help="folder with converted .pretty libraries")
    parser.add_argument("--reference", type=Path, help="folder with KiCad's own conversion (.pretty)")
    parser.add_argument("--json", type=Path, help="write every footprint's violations here")
    args = parser.parse_args(argv)
    cli = _cli()
    if not cli.exists():
        print(f"kicad-cli not found at {cli} (set ALTIUM2KICAD_KICAD_CLI)", file=sys.stderr)
        return 2
    ours = check_all(cli, args.ours)
    figures = {"ours": summarize(ours)}
    _print("ours", figures["ours"])
    dump = {"ours": [r.to_json() for r in ours]}
    if args.reference:
        theirs = check_all(cli, args.reference)
        figures["reference"] = summarize(theirs)
        _print("KiCad's importer", figures["reference"])
        dump["reference"] = [r.to_json() for r in theirs]
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, **dump}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
