"""One GX project per run folder, and warnings carried by GX's own severity."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from include.quality_gates import data_docs_index, run_suite, run_suites

from .test_quality_gates import ROWS


def _project_bytes(root) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_gates_of_a_run_share_one_project(tmp_path):
    docs = tmp_path / "data_docs"
    status = [{"item": "a", "kind": "symbol", "status": "ok", "target": "L:a"}]
    with ThreadPoolExecutor(3) as pool:  # the validation tasks run side by side
        outcomes = list(
            pool.map(
                lambda gate: run_suite("conversion_results", "full", status, docs, gate=gate),
                ["conversion_results.symbols", "conversion_results.footprints", "conversion_results.models"],
            )
        )
    symbols = run_suite("symbols", "full", ROWS, docs)
    assert [p.name for p in docs.iterdir() if p.is_dir()] == ["gx"]  # one project, not one per gate
    assert {o.data_docs for o in [*outcomes, symbols]} == {str(data_docs_index(docs))}
    index = data_docs_index(docs).read_text()
    for gate in ("conversion_results.symbols", "conversion_results.footprints", "symbols"):
        assert gate in index
    assert _project_bytes(docs) < 6 * 2**20  # one 4 MB project for all four gates (was 4 MB each)


def test_warning_is_gx_severity_and_recorded_alike(tmp_path):
    docs = tmp_path / "data_docs"
    outcome = run_suite("symbols", "full", ROWS, docs)
    stored = [
        json.loads(p.read_text()) for p in (docs / "gx" / "uncommitted" / "validations").rglob("*.json")
    ]
    results = [r for v in stored for r in v["results"]]
    severity = {
        r["expectation_config"]["kwargs"].get("column"): r["expectation_config"].get("severity")
        for r in results
        if not r["success"]
    }
    assert severity["off_grid_pins"] == "warning"  # GX's own field, which Data Docs renders
    assert severity["duplicate_pins"] == "critical"
    recorded = {e.column: e.warning_only for e in outcome.expectations if not e.success}
    assert recorded["off_grid_pins"] is True and recorded["duplicate_pins"] is False
    assert outcome.warnings() and not outcome.success


def test_a_tasks_gates_build_the_docs_once(tmp_path, monkeypatch):
    """The gates one task runs share a context and one Data Docs build, whose pages and index hold
    every one of them."""
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext

    builds = []
    real = AbstractDataContext.build_data_docs

    def counted(self, *args, **kwargs):
        builds.append(kwargs.get("resource_identifiers"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(AbstractDataContext, "build_data_docs", counted)
    docs = tmp_path / "data_docs"
    status = [{"item": "a", "kind": "symbol", "status": "failed", "target": None}]
    outcomes = run_suites(
        [("conversion_results", "conversion_results.symbols", status), ("symbols", "symbols", ROWS)],
        "full",
        docs,
    )
    assert len(builds) == 1 and len(builds[0]) == 4  # two results, two suites
    assert [o.gate for o in outcomes] == ["conversion_results.symbols", "symbols"]
    assert not outcomes[0].success and outcomes[0].failures()[0].failed_items == ["a (failed)"]
    index = data_docs_index(docs).read_text()
    assert "conversion_results.symbols.full" in index and "symbols.full" in index
    pages = (data_docs_index(docs).parent / "validations").rglob("*.html")
    assert sorted(p.name for p in pages) == [
        "conversion_results.symbols_rows-conversion_results.symbols.html",
        "symbols_rows-symbols.html",
    ]


def test_data_docs_compile_their_templates_once_and_keep_the_site_configuration(tmp_path):
    """The docs are GX's pages rendered through include/gx_views.py: a second build finds every
    template compiled, and the run's great_expectations.yml still names GX's own site."""
    from include import gx_views

    docs = tmp_path / "data_docs"
    status = [{"item": "a", "kind": "symbol", "status": "failed", "target": None}]
    run_suite("conversion_results", "full", status, docs, gate="first")
    compiled = dict(gx_views.COMPILED.code)
    assert compiled  # the views did render (through the cache)
    run_suite("conversion_results", "full", status, docs, gate="second")
    assert gx_views.COMPILED.code == compiled  # nothing compiled again
    index = data_docs_index(docs).read_text()
    assert "first" in index and "second" in index
    assert "gx_views" not in (docs / "gx" / "great_expectations.yml").read_text()
    page = next((data_docs_index(docs).parent / "validations" / "second").rglob("*.html")).read_text()
    assert "expect_column_values_to_be_in_set" in page or "values must belong to this set" in page


def test_the_projects_config_variables_lose_only_their_comments(tmp_path):
    """GX re-reads config_variables.yml at every configuration access: its comment block goes, its
    values (the instance_id) stay; a file whose meaning the cut would change is left alone."""
    from include.quality_gates import _drop_template_comments

    docs = tmp_path / "data_docs"
    run_suite(
        "conversion_results", "full", [{"item": "a", "kind": "symbol", "status": "ok", "target": "L:a"}], docs
    )
    variables = docs / "gx" / "uncommitted" / "config_variables.yml"
    text = variables.read_text()
    assert "#" not in text and text.strip().startswith("instance_id: ")
    block = "note: |\n  # part of the value\n  text\n# a comment\n"
    variables.write_text(block)
    _drop_template_comments(variables)
    assert variables.read_text() == block


def test_a_deferred_module_is_imported_at_its_first_use(tmp_path, monkeypatch):
    import sys

    from include import quality_gates

    package = tmp_path / "a2k_deferred_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "heavy.py").write_text("LOADED = True\ndef answer():\n    return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "a2k_deferred_pkg.heavy", raising=False)
    quality_gates._defer("a2k_deferred_pkg.heavy")
    try:
        import a2k_deferred_pkg.heavy  # noqa: F401  (an import statement sees it initialised)
        from a2k_deferred_pkg import heavy  # what GX's module does at its top: nothing runs yet

        assert isinstance(sys.modules["a2k_deferred_pkg.heavy"], quality_gates._DeferredModule)
        assert heavy.answer() == 42  # the first use imports the real module
        real = sys.modules["a2k_deferred_pkg.heavy"]
        assert not isinstance(real, quality_gates._DeferredModule) and real.LOADED
        assert sys.modules["a2k_deferred_pkg"].heavy is real
        quality_gates._defer("a2k_deferred_pkg.heavy")  # already imported: left alone
        assert sys.modules["a2k_deferred_pkg.heavy"] is real
    finally:
        sys.modules.pop("a2k_deferred_pkg.heavy", None)
        sys.modules.pop("a2k_deferred_pkg", None)
