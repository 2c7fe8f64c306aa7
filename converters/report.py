"""What happened to every item of a conversion: the migration report's rows.

Problems are values: readers and writers attach warnings to the items they produce, and an item
that could not be converted becomes a failed row naming file, item and reason. Nothing is dropped
silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


def _plural(noun: str, count: int) -> str:
    if count == 1:
        return noun
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


@dataclass
class ItemReport:
    """One row of the report: a source item and what became of it."""

    source: str
    item: str
    kind: str  # symbol, footprint, model, part, library
    target: str = ""
    status: Status = Status.OK
    messages: list[str] = field(default_factory=list)
    # a footprint's pads made from vias and copper fills/regions: the gates expect these beyond the
    # source's own pads (KiCad footprints hold no vias or copper shapes; the writer makes them pads)
    shape_pads: int = 0

    @classmethod
    def from_warnings(
        cls, source: str, item: str, kind: str, target: str, warnings: list[str], shape_pads: int = 0
    ) -> ItemReport:
        status = Status.WARNING if warnings else Status.OK
        return cls(source, item, kind, target, status, list(warnings), shape_pads)

    def to_json(self) -> dict:
        # by hand, in field order: dataclasses.asdict deep-copies each row (70,000 in a big DbLib)
        row: dict[str, object] = {
            "source": self.source,
            "item": self.item,
            "kind": self.kind,
            "target": self.target,
            "status": self.status.value,
            "messages": list(self.messages),
        }
        if self.shape_pads:
            row["shape_pads"] = self.shape_pads
        return row


@dataclass
class ConversionReport:
    """Every item of one run, plus the output folder it describes."""

    output: str
    items: list[ItemReport] = field(default_factory=list)
    cache_stats: tuple[int, int] | None = None  # (libraries from the cache, converted); not in report.json

    def add(self, row: ItemReport) -> None:
        self.items.append(row)

    def counts(self) -> dict[str, int]:
        tally = {s.value: 0 for s in Status}
        for row in self.items:
            tally[row.status.value] += 1
        return tally

    def summary_line(self) -> str:
        c = self.counts()
        kinds: dict[str, int] = {}
        for row in self.items:
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
        what = ", ".join(f"{n} {_plural(k, n)}" for k, n in sorted(kinds.items())) or "no items"
        return f"{what}: {c['ok']} ok, {c['warning']} with warnings, {c['failed']} failed -> {self.output}"

    def to_json(self) -> dict:
        return {"output": self.output, "counts": self.counts(), "items": [r.to_json() for r in self.items]}

    def write(self, path: Path) -> None:
        """report.json: output and counts, then one item per line (a row greps as a line). Each row
        goes through the C encoder; an indented dump of the whole report is pure Python, about
        three times as slow on a 70,000-part DbLib."""
        encode = json.JSONEncoder(ensure_ascii=False).encode
        head = f'{{"output": {encode(self.output)}, "counts": {encode(self.counts())}, "items": ['
        rows = ",\n".join([encode(r.to_json()) for r in self.items])
        path.write_text(f"{head}\n{rows}\n]}}\n" if rows else f"{head}]}}\n", encoding="utf-8")
