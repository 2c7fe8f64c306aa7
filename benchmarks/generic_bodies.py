#!/usr/bin/env python3
"""Generic 3D bodies over the corpus: how many footprints have bodies Altium describes by their
shape alone (extruded outline, cylinder, sphere), how many of those now get a STEP file, and the
time building and writing one takes per footprint (the kernel's import is timed apart).

A script, not a test: speed is measured here, never asserted in the suite.
    .venv/bin/python benchmarks/generic_bodies.py [CORPUS]   # default $ALTIUM2KICAD_SHARED/corpus
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from converters.model.footprint import GENERIC_BODY_TYPES, Footprint, FootprintLibrary  # noqa: E402


def corpus_libraries(corpus: Path) -> list[tuple[str, FootprintLibrary]]:
    """Every footprint library of the corpus: each PcbLib, and each PcbLib inside an IntLib."""
    from converters.altium.pcblib import PcbLibError, read_pcblib, read_pcblib_data
    from converters.intlib_job import IntLibError, embedded_libraries

    libraries = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        try:
            if path.suffix.lower() == ".pcblib":
                libraries.append((str(path), read_pcblib(path)))
            elif path.suffix.lower() == ".intlib":
                pcblibs, _schlibs, _problems = embedded_libraries(path.read_bytes(), str(path))
                libraries += [(label, read_pcblib_data(data, label)) for label, data in pcblibs]
        except (PcbLibError, IntLibError, OSError, ValueError) as exc:
            print(f"skipped {path}: {exc}", file=sys.stderr)
    return libraries


def generic_bodies(library: FootprintLibrary, footprint: Footprint) -> list:
    """The bodies the converter builds: generic shapes without a model file in the library."""
    return [
        b
        for b in footprint.bodies
        if b.model_type in GENERIC_BODY_TYPES and library.models.get(b.model_id) is None
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("ALTIUM2KICAD_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("corpus", nargs="?", type=Path, default=shared / "corpus")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        parser.error(f"no corpus at {args.corpus} (give it, or set ALTIUM2KICAD_SHARED)")
    libraries = corpus_libraries(args.corpus)
    started = time.perf_counter()
    from converters.kicad.step_bodies import StepBodyError, bodies_step

    import_seconds = time.perf_counter() - started
    footprints = with_generic = built = 0
    shapes: Counter[str] = Counter()
    times: list[float] = []
    for _source, library in libraries:
        for footprint in library.footprints:
            footprints += 1
            bodies = generic_bodies(library, footprint)
            if not bodies:
                continue
            with_generic += 1
            shapes.update(str(int(b.model_type)) for b in bodies)
            started = time.perf_counter()
            try:
                bodies_step(bodies)
                built += 1
            except StepBodyError as exc:
                print(f"not built: {footprint.name}: {exc}", file=sys.stderr)
            times.append(time.perf_counter() - started)
    names = {"0": "extruded", "2": "cylinder", "3": "sphere"}
    print(f"libraries: {len(libraries)}, footprints: {footprints}")
    print(
        f"footprints with generic 3D bodies: {with_generic} "
        f"({', '.join(f'{n} {names.get(k, k)}' for k, n in sorted(shapes.items()))} bodies)"
    )
    print(f"footprints that get a STEP of them now: {built} of {with_generic}")
    print(f"kernel import: {import_seconds * 1000:.0f} ms (once per run, only when a footprint needs it)")
    if times:
        print(
            f"build + write per footprint: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms, total {sum(times):.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
