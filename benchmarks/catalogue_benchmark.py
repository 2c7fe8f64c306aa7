#!/usr/bin/env python3
"""Catalogue benchmark: how long the catalogue of a deployed version takes (facts, HTML, PDF) and
how large it gets, on a real converted collection.

Prints, never asserts (speed is measured here, not in the tests).
    python benchmarks/catalogue_benchmark.py --collection ../shared/corpus/ubc-thunderbots
    python benchmarks/catalogue_benchmark.py --converted out/     # an altium2kicad convert output
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _size(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, help="Altium libraries to convert first")
    parser.add_argument("--converted", type=Path, help="an existing conversion output (a release layout)")
    parser.add_argument(
        "--copies", type=int, default=1, help="repeat every library N times (as a large library)"
    )
    parser.add_argument("--no-pdf", action="store_true", help="HTML and search only")
    parser.add_argument(
        "--pdf-pictures-up-to", type=int, default=None, help="as documentation.pdf_pictures_up_to"
    )
    args = parser.parse_args()
    from include.catalogue.facts import read_version
    from include.catalogue.pages import write_html
    from include.catalogue.pdf import write_pdf

    with tempfile.TemporaryDirectory(prefix="catalogue-bench-") as scratch:
        folder = args.converted
        if folder is None:
            if args.collection is None:
                parser.error("give --collection or --converted")
            folder = Path(scratch) / "converted"
            cli = Path(sys.executable).parent / "altium2kicad"
            started = time.perf_counter()
            subprocess.run(
                [str(cli), "convert", str(args.collection), "-o", str(folder), "--no-cache"], check=False
            )  # failed items still leave a release
            print(f"conversion: {time.perf_counter() - started:.1f} s (not part of the catalogue)")
        out = Path(scratch) / "catalogue"
        started = time.perf_counter()
        facts = read_version(folder, "bench", "benchmark")
        t_facts = time.perf_counter() - started
        parsed = len(facts.items())
        if args.copies > 1:  # the same items under other library names: size and search at scale
            import copy
            import dataclasses

            base = facts.libraries
            facts.libraries = [copy.copy(lib) for _ in range(args.copies) for lib in base]
            for n, lib in enumerate(facts.libraries):
                lib.name = f"{lib.name}_{n // len(base)}"
                lib.items = [dataclasses.replace(i, library=lib.name) for i in lib.items]
        started = time.perf_counter()
        write_html(facts, out, "catalogue.pdf")
        t_html = time.perf_counter() - started
        started = time.perf_counter()
        if not args.no_pdf:
            write_pdf(facts, out / "catalogue.pdf", args.pdf_pictures_up_to)
        t_pdf = time.perf_counter() - started
        counts = facts.counts()
        items = counts["symbols"] + counts["footprints"]
        pdf = ["pdfinfo", str(out / "catalogue.pdf")]
        pages = "" if args.no_pdf else subprocess.run(pdf, capture_output=True, text=True).stdout
        page_count = next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages")), "?")
        print(
            f"items: {items} ({counts['symbols']} symbols, {counts['footprints']} footprints) in {counts['libraries']} libraries"
        )
        print(
            f"facts (parse + pictures, of one copy): {t_facts:.2f} s, {1000 * t_facts / max(parsed, 1):.2f} ms/item"
        )
        print(
            f"html: {t_html:.2f} s, {_size(out, '*.html') / 1e6:.1f} MB pages, "
            f"{(out / 'search-index.js').stat().st_size / 1e6:.2f} MB search index"
        )
        if not args.no_pdf:
            print(
                f"pdf: {t_pdf:.2f} s, {1000 * t_pdf / max(items, 1):.1f} ms/item, "
                f"{(out / 'catalogue.pdf').stat().st_size / 1e6:.1f} MB, {page_count} pages"
            )
        hits = subprocess.run(
            [
                "node",
                "-e",
                SEARCH,
                str(out / "search-index.js"),
                str(ROOT / "templates" / "catalogue" / "search.js"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        print(f"search (node, one query over the whole index, median of 20): {hits.strip()}")


SEARCH = """
const vm = require("vm"), fs = require("fs"), sandbox = { window: {} };
vm.runInNewContext(fs.readFileSync(process.argv[1], "utf8"), sandbox);
const { search } = require(process.argv[2]), index = sandbox.window.A2K_CATALOGUE_INDEX, t = [];
for (let i = 0; i < 20; i++) { const s = process.hrtime.bigint(); search(index, "10k 0603"); t.push(Number(process.hrtime.bigint() - s) / 1e6); }
t.sort((a, b) => a - b); console.log(t[10].toFixed(2) + " ms over " + index.length + " entries");
"""

if __name__ == "__main__":
    main()
