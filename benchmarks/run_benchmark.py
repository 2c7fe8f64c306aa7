#!/usr/bin/env python3
"""Whole-run benchmark: the `altium2kicad convert` command on a collection of large libraries,
against `kicad-cli sym/fp upgrade` run once per file (as a user converting with KiCad must).

Prints, never asserts (speed is measured here, not in the tests):
- full run (cold cache), unchanged re-run, re-run with one library changed (and that library's
  own cold conversion, which the last should be about);
- kicad-cli over the same files, and the ratio ours/kicad-cli.
The collection: the largest SchLib/PcbLib files of ../shared/corpus (by item count) plus large
libraries written by the project's fixture writer.
    python benchmarks/run_benchmark.py --shared ../shared            # 24 corpus + 4 generated files
    python benchmarks/run_benchmark.py --corpus-files 40 --generated 0 --jobs 1 --no-kicad
    python benchmarks/run_benchmark.py --collection ../shared/corpus/ubc-thunderbots   # DbLibs too
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.corpus_benchmark import kicad_cli  # noqa: E402


def item_count(path: Path) -> int:
    """Symbols or footprints in a library: its top-level storages (one each), without converting."""
    from converters.altium.compound import CompoundFile, NotAnAltiumLibrary

    try:
        return len(
            [s for s in CompoundFile(path).storages() if s.casefold() not in ("library", "fileheader")]
        )
    except (NotAnAltiumLibrary, OSError):
        return 0


def largest_corpus_libraries(corpus: Path, count: int) -> list[Path]:
    files = [p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in (".schlib", ".pcblib")]
    ranked = sorted(files, key=lambda p: (-item_count(p), str(p)))
    return sorted(ranked[:count])


def generated_libraries(folder: Path, count: int, items: int) -> list[Path]:
    """Large libraries from the fixture writer: sample symbols/footprints repeated under new names."""
    from converters.fixtures.pcblib_writer import write_pcblib
    from converters.fixtures.sample_library import LAYER_NAMES, sample_footprints, sample_symbols
    from converters.fixtures.schlib_writer import write_schlib

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for n in range(count):
        if n % 2 == 0:
            symbols = _renamed_copies(sample_symbols(), n, items)
            written.append(write_schlib(folder / f"Generated{n}.SchLib", symbols))
        else:
            footprints = _renamed_copies(sample_footprints(), n, items)
            written.append(write_pcblib(folder / f"Generated{n}.PcbLib", footprints, LAYER_NAMES))
    return written


def _renamed_copies(base: list, n: int, items: int) -> list:
    """`items` copies of the sample items, each renamed so library `n` differs from the others."""
    copies = []
    for i in range(items):
        item = copy.deepcopy(base[i % len(base)])
        item.name = f"{item.name}_{n}_{i}"
        copies.append(item)
    return copies


def run_ours(source: Path, out: Path, jobs: int, extra: list[str] = ()) -> float:
    command = [
        sys.executable,
        "-m",
        "converters",
        "convert",
        str(source),
        "-o",
        str(out),
        "-q",
        "-j",
        str(jobs),
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command + list(extra), capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"altium2kicad failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def run_kicad(cli: Path, files: list[Path], out: Path) -> tuple[float, int]:
    out.mkdir(parents=True, exist_ok=True)
    failed, started = 0, time.perf_counter()
    for i, path in enumerate(files):
        verb = "sym" if path.suffix.lower() == ".schlib" else "fp"
        target = out / (f"{i}.kicad_sym" if verb == "sym" else f"{i}.pretty")
        done = subprocess.run(
            [str(cli), verb, "upgrade", "--force", str(path), "-o", str(target)], capture_output=True
        )
        failed += done.returncode != 0
    return time.perf_counter() - started, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--corpus-files", type=int, default=24, help="largest corpus libraries used")
    parser.add_argument("--generated", type=int, default=4, help="generated large libraries added")
    parser.add_argument("--generated-items", type=int, default=300, help="items per generated library")
    parser.add_argument(
        "--collection", type=Path, help="convert this folder as it is (DbLibs and all) instead of a selection"
    )
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours per figure (best and median)")
    parser.add_argument("--no-kicad", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    corpus = args.shared / "corpus"
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        source = scratch / "src"
        files = []
        if args.collection:
            shutil.copytree(args.collection, source)
            files = sorted(
                p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in (".schlib", ".pcblib")
            )
        elif corpus.is_dir() and args.corpus_files:
            for i, path in enumerate(largest_corpus_libraries(corpus, args.corpus_files)):
                target = source / f"{i:02d}-{path.name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                files.append(target)
        if not args.collection:
            files += generated_libraries(source / "generated", args.generated, args.generated_items)
        if len(files) < 2:
            print("no libraries to convert (no corpus and --generated 0)", file=sys.stderr)
            return 2
        items = sum(item_count(p) for p in files)
        figures: dict = {
            "files": len(files),
            "items": items,
            "jobs": args.jobs,
            "cores": os.cpu_count(),
            "repeat": args.repeat,
        }
        changed = max(files, key=item_count)  # the worst case: the largest library changed
        size = item_count(changed)  # swapped for libraries as large: the change costs a large library
        others = sorted(
            (p for p in files if p.suffix == changed.suffix and p != changed),
            key=lambda p: abs(item_count(p) - size),
        )[:2]
        contents = [p.read_bytes() for p in others if p.read_bytes() != changed.read_bytes()]
        contents.append(changed.read_bytes())
        if len(contents) < 2:
            print("no other library of the same kind to swap in: the one-changed figure is not measured")
        figures["changed_library"] = changed.name
        full, unchanged, one_changed = [], [], []
        for attempt in range(args.repeat):
            out = scratch / f"out{attempt}"
            full.append(run_ours(source, out, args.jobs))
            unchanged.append(run_ours(source, out, args.jobs))
            swapped = contents[attempt % max(1, len(contents) - 1)]  # another library's bytes: a change
            changed.write_bytes(swapped)
            one_changed.append(run_ours(source, out, args.jobs))
            changed.write_bytes(contents[-1])
            shutil.rmtree(out)
        figures["full_s"], figures["full_median_s"] = min(full), statistics.median(full)
        figures["unchanged_s"], figures["unchanged_median_s"] = min(unchanged), statistics.median(unchanged)
        figures["one_changed_s"], figures["one_changed_median_s"] = (
            min(one_changed),
            statistics.median(one_changed),
        )
        alone = scratch / "alone"
        alone.mkdir()
        (alone / changed.name).write_bytes(contents[0])  # what the one-changed runs converted first
        figures["that_library_alone_s"] = min(
            run_ours(alone, scratch / f"alone-out{i}", 1, ["--no-cache"]) for i in range(args.repeat)
        )
        figures["full_no_cache_jobs1_s"] = min(
            run_ours(source, scratch / f"serial{i}", 1, ["--no-cache"]) for i in range(args.repeat)
        )
        cli = None if args.no_kicad else kicad_cli(args.shared)
        if cli:
            figures["kicad_cli_s"], figures["kicad_cli_failed_files"] = run_kicad(
                cli, files, scratch / "kicad"
            )
            figures["ratio_ours_to_kicad"] = round(figures["full_median_s"] / figures["kicad_cli_s"], 3)
    for key in [k for k in figures if k.endswith("_s")]:
        figures[key] = round(figures[key], 2)
    where = f" in {args.collection} (and the DbLibs there)" if args.collection else ""
    print(f"{figures['files']} libraries{where}, {figures['items']} items, --jobs {figures['jobs']}")
    print(f"(best of {args.repeat}, median in brackets)")
    print(f"full run (cold cache):        {figures['full_s']} s ({figures['full_median_s']})")
    print(
        f"unchanged re-run:             {figures['unchanged_s']} s ({figures['unchanged_median_s']}): "
        f"{100 * figures['unchanged_s'] / figures['full_s']:.1f} % of full "
        f"({100 * figures['unchanged_median_s'] / figures['full_median_s']:.1f} %)"
    )
    print(
        f"one library changed re-run:   {figures['one_changed_s']} s ({figures['one_changed_median_s']}); "
        f"{figures['changed_library']} alone: {figures['that_library_alone_s']} s"
    )
    print(f"full run, --jobs 1, no cache: {figures['full_no_cache_jobs1_s']} s")
    if "kicad_cli_s" in figures:
        print(
            f"kicad-cli sym/fp upgrade, once per file: {figures['kicad_cli_s']} s "
            f"({figures['kicad_cli_failed_files']} files failed); ours (median) / kicad-cli = "
            f"{figures['ratio_ours_to_kicad']}"
        )
    elif not args.no_kicad:
        print("kicad-cli not set up (../shared/tools/kicad/setup): no comparison")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
