"""Running the conversion engine for the pipeline, with the run's mapping rules applied.

The engine (`converters.convert`) stays Airflow-free; this module only chooses what to convert
where, hands it the rules and returns small summaries (paths and counts) for XCom.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from converters.cache import ConversionCache
from converters.convert import LIBRARY_JOBS
from converters.library_files import UsageError
from converters.run import ConversionRun, ConvertedLibrary, ConvertOptions

from .mapping_rules import MappingRules, rename_dbl_fields, write_layer_map


class RuledConversionRun(ConversionRun):
    """A ConversionRun whose library names and part links follow the mapping rules."""

    def __init__(
        self, out: Path, rules: MappingRules, options: ConvertOptions | None = None, cache: Path | None = None
    ) -> None:
        super().__init__(out, options, LIBRARY_JOBS, ConversionCache(cache) if cache else None)
        self.rules = rules

    def nickname_stem(self, stem: str) -> str:
        return self.rules.nickname_for(stem)

    def cache_context(self) -> object:
        return {"mapping_rules": self.rules.sha256}

    def footprint_library(self, path: Path) -> ConvertedLibrary:
        converted = super().footprint_library(path)
        for old, new in self.rules.fixes_for(path.name).items():
            target = converted.lookup(new)
            if target is not None and converted.lookup(old) is None:
                converted.items[old] = target  # parts naming `old` now link to `new`
                converted.notes[old] = (
                    f"footprint '{old}' linked to '{new}' of {path.name} by the mapping rules "
                    "(footprint_name_fixes)"
                )
        return converted


@dataclass
class UnitResult:
    unit: str
    out: str
    report: str
    counts: dict
    seconds: float

    def to_xcom(self) -> dict:
        return {
            "unit": self.unit,
            "out": self.out,
            "report": self.report,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
        }


def convert_unit(
    unit: Path,
    out: Path,
    rules: MappingRules,
    options: ConvertOptions | None = None,
    cache: Path | None = None,
) -> UnitResult:
    """Converts one library (with everything a DbLib uses) into `out`; rerunning replaces `out`.

    `cache` (the configuration's `caching.folder`, outside every run folder) survives `out`: a
    retry or a later run with the same library, rules and options copies the stored files
    instead of converting again, with the same bytes."""
    import shutil

    if out.exists():
        shutil.rmtree(out)  # idempotent: a retry never mixes files of two attempts
    out.mkdir(parents=True)
    options = options or ConvertOptions()
    options.layer_map = options.layer_map or write_layer_map(rules, out.parent / f".{out.name}-rules")
    started = time.perf_counter()
    run = RuledConversionRun(out, rules, options, cache)
    try:
        run.convert(unit)
    except UsageError:
        raise
    except Exception as exc:  # a converter bug costs this unit's file, reported, never the task
        run.fail_library(unit, "library", f"could not be converted: {type(exc).__name__}: {exc}")
    report = run.finish()
    for dbl in out.glob("database/*.kicad_dbl"):
        rename_dbl_fields(dbl, rules.field_renames)
    return UnitResult(
        str(unit), str(out), str(out / "report.json"), report.counts(), time.perf_counter() - started
    )


def report_rows(report_path: Path) -> list[dict]:
    return json.loads(report_path.read_text(encoding="utf-8"))["items"]
