"""Quality gates: Great Expectations suites (JSON in expectations/) run against gate frames.

A suite's expectations carry `meta.levels` (basic, full, strict: which validation levels apply
them) and `meta.warning_only` (reported, never failing), which becomes GX's own
`severity: warning` so Data Docs and the recorded gate results say the same; whether an expectation
only warns is read back from GX's result. A failed gate raises GateFailed whose message names each
failed expectation and the items it failed on. Results are rendered as GX Data Docs in one GX
project per run folder (`<docs_root>/gx`), shared by the run's gates under a file lock (parallel
validation tasks take turns), not one project per gate; a task's gates run in one context and
build the docs once.
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.util
import json
import logging
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # great_expectations is imported only when a gate runs (DAG parse speed)
    from great_expectations.expectations.metadata_types import FailureSeverity

EXPECTATIONS = Path(__file__).resolve().parents[1] / "expectations"
LEVELS = ("basic", "full", "strict")
MAX_NAMED = 20


class GateFailed(Exception):
    """A quality gate failed; the message names the expectations and items."""


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str
    success: bool
    warning_only: bool
    failed_items: list[str] = field(default_factory=list)
    failed_count: int = 0
    notes: str = ""


@dataclass
class GateOutcome:
    gate: str
    level: str
    checked: int
    success: bool
    expectations: list[ExpectationOutcome] = field(default_factory=list)
    data_docs: str = ""

    def failures(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success and not e.warning_only]

    def warnings(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success and e.warning_only]

    def message(self) -> str:
        lines = [f"quality gate '{self.gate}' ({self.level}) failed on {self.checked} checked rows:"]
        for e in self.failures():
            more = (
                f" and {e.failed_count - len(e.failed_items)} more"
                if e.failed_count > len(e.failed_items)
                else ""
            )
            lines.append(
                f"  {e.expectation}({e.column}) [{e.notes}] failed for {e.failed_count} items: "
                f"{'; '.join(e.failed_items)}{more}"
            )
        return "\n".join(lines)

    def to_json(self) -> dict:
        return asdict(self)


def load_suite(name: str, level: str) -> dict:
    """The suite's JSON with only the expectations the level applies."""
    if level not in LEVELS:
        raise ValueError(f"validation level '{level}' is not one of {LEVELS}")
    data = json.loads((EXPECTATIONS / f"{name}.json").read_text(encoding="utf-8"))
    data["expectations"] = [
        e for e in data["expectations"] if level in e.get("meta", {}).get("levels", LEVELS)
    ]
    return data


def _quiet_ge() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    for name in DEFERRED_MODULES:
        _defer(name)


# Imported at the top of GX's expect_column_kl_divergence_to_be_less_than (statistics, charts) and
# used only when that expectation runs, which no suite here has: about 1 s of every GX import.
DEFERRED_MODULES = ("scipy.stats", "altair")


class _DeferredModule(types.ModuleType):
    """Stands in for a module until something reads an attribute of it, then imports the real one
    (which replaces this stand-in in sys.modules and on its parent package) and answers from it.

    Not importlib.util.LazyLoader, the standard library's lazy import: its module loads at the first
    read of *any* attribute, and an `import altair` statement reads `__spec__`, so GX's own import
    loads altair at once (measured: GX import 2.4 s with LazyLoader, 2.0 s with this, 3.1 s eager)."""

    def __getattr__(self, attr: str):
        name = self.__name__
        if sys.modules.get(name) is self:
            sys.modules.pop(name, None)  # another thread may be a step ahead
        return getattr(importlib.import_module(name), attr)


def _defer(name: str) -> None:
    if name in sys.modules:
        return
    parent, _, child = name.rpartition(".")
    try:
        spec = importlib.util.find_spec(name)  # imports the parent package (scipy's is light)
    except (ImportError, ValueError):
        return
    if spec is None:
        return
    stand_in = _DeferredModule(name)
    stand_in.__spec__ = spec  # `import name` sees a module already initialised
    sys.modules[name] = stand_in
    if parent:
        setattr(sys.modules[parent], child, stand_in)


@contextmanager
def _run_context(docs_root: Path | None) -> Iterator:
    """The run's one GX file context (under an exclusive lock), or an ephemeral one without docs."""
    import great_expectations as gx

    if docs_root is None:
        yield gx.get_context(mode="ephemeral")
        return
    docs_root.mkdir(parents=True, exist_ok=True)
    with open(docs_root / ".gx.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # gates of one run validate in parallel tasks
        try:
            context = gx.get_context(mode="file", project_root_dir=str(docs_root))
            _drop_template_comments(docs_root / "gx" / "uncommitted" / "config_variables.yml")
            yield context
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _drop_template_comments(variables: Path) -> None:
    """The project's config_variables.yml without the explanatory comments GX writes into it.

    GX parses this file again (with pure-Python ruamel.yaml) at every read of its configuration,
    some fifty times per gate; the comment block is most of each parse, the variables (the
    project's instance_id) stay as they are."""
    import yaml

    try:
        text = variables.read_text(encoding="utf-8")
    except OSError:
        return
    kept = "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))
    if kept != text and yaml.safe_load(kept) == yaml.safe_load(text):  # never a value changed
        variables.write_text(kept, encoding="utf-8")


def data_docs_index(docs_root: Path) -> Path:
    return docs_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _is_warning(cfg) -> bool:
    """GX's own severity on the result's expectation (what Data Docs shows)."""
    severity = getattr(cfg, "severity", None) or (
        cfg.to_json_dict() if hasattr(cfg, "to_json_dict") else {}
    ).get("severity")
    return str(getattr(severity, "value", severity) or "").lower() == "warning"


def _severity(spec: dict) -> FailureSeverity:
    from great_expectations.expectations.metadata_types import FailureSeverity

    return FailureSeverity.WARNING if spec.get("meta", {}).get("warning_only") else FailureSeverity.CRITICAL


def run_suite(
    name: str, level: str, rows: list[dict], docs_root: Path | None = None, gate: str | None = None
) -> GateOutcome:
    """Validates `rows` (each with an `item` column) against suite `name` at `level`."""
    return run_suites([(name, gate or name, rows)], level, docs_root)[0]


def run_suites(
    gates: list[tuple[str, str, list[dict]]], level: str, docs_root: Path | None = None
) -> list[GateOutcome]:
    """Validates each (suite, gate name, rows) at `level`, in one GX context; with `docs_root`,
    Data Docs are built once for all of them.

    One build per task instead of one per gate: each build compiles GX's page templates again
    and renders the index over every stored result, seconds apiece on a 70,000-item run."""
    outcomes: list[GateOutcome] = []
    pending = []
    for name, gate, rows in gates:
        suite_json = load_suite(name, level)
        outcomes.append(GateOutcome(gate, level, len(rows), True))
        if rows and suite_json["expectations"]:
            pending.append((len(outcomes) - 1, name, gate, suite_json, rows))
    if not pending:
        return outcomes
    _quiet_ge()
    import pandas as pd

    with _run_context(docs_root) as context:
        built = []
        for index, name, gate, suite_json, rows in pending:
            frame = pd.DataFrame(rows, columns=_checked_columns(suite_json, rows)).reset_index(drop=True)
            key, validation = _validate(context, name, gate, level, suite_json, frame)
            _read_outcome(outcomes[index], validation, rows)
            built.append((key, validation.suite_name))
        if docs_root is not None:
            _build_data_docs(context, built)
    if docs_root is not None:
        site = data_docs_index(docs_root)
        for index, *_ in pending:
            outcomes[index].data_docs = str(site) if site.exists() else ""
    return outcomes


def _checked_columns(suite_json: dict, rows: list[dict]) -> list[str]:
    """The columns the suite's expectations read, of those the rows have (a column no row has stays
    absent, as GX should see it).

    GX fingerprints every batch by hashing the whole frame: without the `item` names (long text,
    70,000 of them in a big run; failed rows are named from `rows` by index) building and hashing
    the frame costs a tenth of what it did."""
    present: set[str] = set()
    for row in rows:
        present.update(row)
    wanted: list[str] = []
    for spec in suite_json["expectations"]:
        per_row = spec["type"].startswith(("expect_column_values_", "expect_column_pair_values_"))
        if not per_row or "row_condition" in spec["kwargs"]:  # may read any column: give it all
            return [c for c in rows[0] if c in present] + sorted(present - set(rows[0]))
        for key in ("column", "column_A", "column_B"):
            column = spec["kwargs"].get(key)
            if column and column not in wanted:
                wanted.append(column)
    return [c for c in wanted if c in present]


def _read_outcome(outcome: GateOutcome, validation, rows: list[dict]) -> None:
    """The outcome of each expectation (the items it failed on, by the rows' `item`; GX's
    unexpected indexes are positions in `rows`)."""
    for r in validation.results:
        cfg = r.expectation_config
        meta = cfg.meta or {}
        indexes = r.result.get("unexpected_index_list") or []
        values = r.result.get("unexpected_list") or []
        items = []
        for n, i in enumerate(indexes):
            if not (isinstance(i, int) or str(i).isdigit()):
                continue
            shown = values[n] if n < len(values) else None
            if isinstance(shown, (tuple, list)):  # pair expectations: written vs source
                shown = " vs ".join(str(v) for v in shown)
            name = str(rows[int(i)].get("item"))
            items.append(f"{name} ({shown})" if shown is not None and str(shown) not in name else name)
        count = r.result.get("unexpected_count", len(items)) or len(items)
        column = cfg.kwargs.get("column") or f"{cfg.kwargs.get('column_A')}={cfg.kwargs.get('column_B')}"
        outcome.expectations.append(
            ExpectationOutcome(
                cfg.type,
                column,
                bool(r.success),
                _is_warning(cfg),
                items[:MAX_NAMED],
                int(count),
                meta.get("notes", ""),
            )
        )
    outcome.success = not outcome.failures()


def _build_data_docs(context, results: list) -> None:
    """GX's Data Docs for these stored validation results and their suites, and the site index
    (what UpdateDataDocsAction does per checkpoint, done once)."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from .gx_views import site_config

    identifiers = []
    for key, suite_name in results:
        identifiers += [key, ExpectationSuiteIdentifier(name=suite_name)]
    # the sites as configured, rendered by views that compile GX's templates once per process
    # (include/gx_views.py); only this build sees them, nothing is saved
    sites = context.variables.data_docs_sites or {}
    context.variables.data_docs_sites = {name: site_config(site) for name, site in sites.items()}
    try:
        context.build_data_docs(resource_identifiers=identifiers, build_index=True)
    finally:
        context.variables.data_docs_sites = sites


def _validate(context, name: str, gate: str, level: str, suite_json: dict, frame):
    """One checkpoint run (its result stored in the context); every GX object is named by the
    gate, so the run's gates coexist. Returns the result's store key and the result."""
    import great_expectations as gx

    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_or_update_pandas(f"{gate}_rows")
    asset = next((a for a in source.assets if a.name == gate), None) or source.add_dataframe_asset(gate)
    batch = next(iter(asset.batch_definitions), None) or asset.add_batch_definition_whole_dataframe(
        "all rows"
    )
    expectations = []
    for spec in suite_json["expectations"]:
        cls = gx.expectations.registry.get_expectation_impl(spec["type"])
        expectations.append(cls(**spec["kwargs"], meta=spec.get("meta", {}), severity=_severity(spec)))
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=f"{gate}.{level}", expectations=expectations, meta=suite_json.get("meta", {})
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"{gate}_{level}", data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{gate}_gate",
            validation_definitions=[definition],
            actions=[],  # Data Docs: built once for the task's gates (_build_data_docs)
            result_format={"result_format": "COMPLETE"},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    return next(iter(result.run_results.items()))


def suites_for(kind: str) -> list[str]:
    """Which suites a validation task runs (conversion results of its kind first)."""
    return {
        "symbols": ["conversion_results", "symbols"],
        "footprints": ["conversion_results", "footprints", "database_library"],
        "models": ["conversion_results", "models"],
    }[kind]


KINDS_OF_ROWS = {"symbols": {"symbol", "library"}, "footprints": {"footprint", "part"}, "models": {"model"}}
