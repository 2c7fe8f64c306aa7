"""Damaged copies of every corpus PcbLib and SchLib (made in tmp at test time, never kept): each copy
that yields fewer items than the intact library is named in report.json (issue 8, section 4: of
300 such copies, 62 once gave no item and no message)."""

from __future__ import annotations

import pytest

from converters.altium.pcblib import read_pcblib
from converters.altium.schlib import read_schlib
from converters.convert import ConvertOptions, convert_paths
from converters.fixtures import broken

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


def _intact_items(path) -> int:
    if path.suffix.lower() == ".schlib":
        return len(read_schlib(path).symbols)
    return len(read_pcblib(path).footprints)


def test_every_damaged_copy_that_loses_items_is_named(shared, tmp_path):
    sources = sorted(p for p in (shared / "corpus").rglob("*") if p.suffix.lower() in (".pcblib", ".schlib"))
    copies = tmp_path / "damaged"
    copies.mkdir()
    made = {}
    for n, source in enumerate(sources):
        folder = copies / str(n)  # corpus names repeat across folders
        folder.mkdir()
        for copy in broken.damaged_copies(source, folder).values():
            made[copy] = source
    report = convert_paths([copies], tmp_path / "out", ConvertOptions())
    yielded: dict[str, int] = {}
    named: set[str] = set()
    for row in report.items:
        if row.kind in ("symbol", "footprint") and row.status.value != "failed":
            yielded[row.source] = yielded.get(row.source, 0) + 1
        if row.status.value == "failed" or (row.kind == "library" and row.status.value == "warning"):
            named.add(row.source)
    lost = [copy for copy, source in made.items() if yielded.get(str(copy), 0) < _intact_items(source)]
    assert len(lost) > len(made) / 3, "the damage should cost items in many copies"
    silent = [str(copy.relative_to(copies)) for copy in lost if str(copy) not in named]
    assert silent == [], f"{len(silent)} of {len(lost)} damaged copies lost items without a row"
