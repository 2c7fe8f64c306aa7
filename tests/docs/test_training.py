"""docs/training/: the walkthroughs say what the tool does, and the tool does it.

Every `$ command` of a `console` block runs as written in an empty folder (one folder per page,
blocks in page order) and the lines shown under it must be among what it prints. The mapping-rules
page's two YAML blocks are the proposal the analysis really makes for the sample and rules whose
effects the page lists; the quality-assurance page's levels and figures are those of the real gates
on the sample's conversion. `knowledge_sharing.training` is what the weekly e-mail links.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from include.config import ConfigError, PipelineConfig, load_config

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "docs" / "training"
MODULES = ["basic-migration", "advanced-mapping", "quality-assurance"]


def _blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", page.read_text(encoding="utf-8"), re.M | re.S)


def _commands(block: str) -> list[tuple[str, list[str]]]:
    """(command, lines shown under it) of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps and line.strip():
            steps[-1][1].append(line)
    return steps


def test_readme_and_index_point_to_every_module():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    index = (TRAINING / "README.md").read_text(encoding="utf-8")
    assert "docs/training/README.md" in readme
    for name in MODULES:
        assert f"docs/training/{name}.md" in readme and f"({name}.md)" in index


def test_configured_modules_resolve_with_their_titles():
    from include import training

    found = training.modules(load_config(REPO / "config" / "altium2kicad.yaml"))
    assert [(m.name, m.title) for m in found] == [
        ("basic-migration", "Basic migration"),
        ("advanced-mapping", "Advanced mapping"),
        ("quality-assurance", "Quality assurance"),
    ]
    assert all(Path(m.link).is_file() for m in found)
    assert (
        load_config(REPO / "config" / "distributed.yaml").knowledge_sharing.training.required_modules
        == MODULES
    )


def _with_training(**training) -> PipelineConfig:
    data = load_config(REPO / "config" / "altium2kicad.yaml").model_dump(mode="json")
    data["knowledge_sharing"]["training"].update(training)
    return PipelineConfig.model_validate(data)


def test_a_missing_required_module_is_a_configuration_error():
    from include import training

    config = _with_training(required_modules=[*MODULES, "pcb-review"])
    with pytest.raises(
        ConfigError, match=r"required_modules: pcb-review has no file .*docs/training/pcb-review\.md"
    ):
        training.modules(config)


def test_published_materials_are_linked_by_url():
    from include import training

    config = _with_training(materials_path="https://wiki.example.com/kicad/training/")
    links = [m.link for m in training.modules(config)]
    assert links == [f"https://wiki.example.com/kicad/training/{n}.md" for n in MODULES]


@pytest.mark.parametrize("name", MODULES + ["README"])
def test_console_commands_print_what_the_page_shows(name, tmp_path):
    page = TRAINING / f"{name}.md"
    steps = [step for block in _blocks(page, "console") for step in _commands(block)]
    if name == "basic-migration":
        assert len(steps) >= 4  # the page's walkthrough is runnable, not prose
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for command, shown in steps:
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        printed = set((done.stdout + done.stderr).splitlines())
        missing = [line for line in shown if line not in printed]
        assert not missing, f"{page.name}: `{command}` did not print {missing}:\n{done.stdout}{done.stderr}"


def _sample(folder: Path) -> Path:
    from converters.fixtures.dblib_writer import write_sample_dblib
    from converters.fixtures.sample_library import write_sample_library

    write_sample_library(folder)
    write_sample_dblib(folder)
    return folder


def _convert(source: Path, out: Path, rules) -> list[dict]:
    """Every unit of `source` converted as run_full_migration converts it; the report rows."""
    from include.conversion import convert_unit, report_rows
    from include.inventory import analyze

    rows = []
    for n, unit in enumerate(analyze(source).units):
        rows += report_rows(Path(convert_unit(Path(unit), out / str(n), rules).report))
    return rows


def test_the_proposed_rules_are_what_the_analysis_proposes(tmp_path):
    from include.inventory import analyze
    from include.mapping_rules import generate

    proposed = yaml.safe_load(_blocks(TRAINING / "advanced-mapping.md", "yaml")[0])
    real = yaml.safe_load(generate(analyze(_sample(tmp_path / "sample-library"))).to_yaml())
    proposed.pop("generated_from"), real.pop("generated_from")
    assert proposed == real


def test_the_edited_rules_do_what_the_page_says(tmp_path):
    from include.mapping_rules import MappingRulesError, load

    rules_file = tmp_path / "my-rules.yaml"
    rules_file.write_text(_blocks(TRAINING / "advanced-mapping.md", "yaml")[1], encoding="utf-8")
    rows = _convert(_sample(tmp_path / "sample"), tmp_path / "out", load(rules_file))
    (out,) = [d for d in (tmp_path / "out").iterdir() if (d / "database").is_dir()]  # the DbLib's unit
    assert (out / "symbols" / "Acme_Passives.kicad_sym").is_file()
    assert (out / "footprints" / "Acme_Passives.pretty" / "SOIC-8.kicad_mod").is_file()
    dbl = json.loads((out / "database" / "Acme_Parts.kicad_dbl").read_text(encoding="utf-8"))
    fields = {f["column"]: f["name"] for lib in dbl["libraries"] for f in lib["fields"]}
    assert fields["Manufacturer Part Number"] == "MPN"
    parts = {r["item"]: r for r in rows if r["kind"] == "part"}
    assert parts["Capacitors/CL21B105KBFNNNE"]["status"] == "ok"
    import sqlite3

    with sqlite3.connect(out / "database" / "Acme_Parts.sqlite") as db:
        links = db.execute(
            "select Symbols, Footprints from Capacitors where Key = 'CL21B105KBFNNNE'"
        ).fetchone()
    assert links == ("Acme_Passives:CAP", "Acme_Passives:C0805")
    soic = (out / "footprints" / "Acme_Passives.pretty" / "SOIC-8.kicad_mod").read_text(encoding="utf-8")
    assert '(layer "User.2")' in soic
    legacy = parts["Capacitors/LEGACY-CAP-1206"]
    assert legacy["status"] == "failed" and len(legacy["messages"]) == 2  # both reasons, no guessed footprint

    rules_file.write_text("schema: 1\nlayer_map:\n  Assembly: F.Nowhere\n", encoding="utf-8")
    with pytest.raises(
        MappingRulesError, match=r"my-rules\.yaml: layer_map: 'Assembly' maps to 'F\.Nowhere'"
    ):
        load(rules_file)


def test_the_levels_treat_the_failed_part_as_the_page_says(tmp_path):
    """basic: conversion_results warns; full: it stops, naming LEGACY-CAP-1206; 40 of 41 migrated."""
    from include import gate_frames, metrics, quality_gates
    from include.inventory import analyze
    from include.mapping_rules import generate

    source = _sample(tmp_path / "sample-library")
    rows = _convert(source, tmp_path / "out", generate(analyze(source)))
    figures = metrics.compute(rows, None)
    assert figures["components_migrated"][0] == 40 and figures["migration_quality"][0] == 0.9756
    kinds = quality_gates.KINDS_OF_ROWS["footprints"]
    frame = gate_frames.conversion_results(rows, kinds)
    basic = quality_gates.run_suite(
        "conversion_results", "basic", frame, gate="conversion_results.footprints"
    )
    assert basic.success and basic.warnings()
    full = quality_gates.run_suite("conversion_results", "full", frame, gate="conversion_results.footprints")
    assert not full.success
    message = full.message()
    assert "quality gate 'conversion_results.footprints' (full) failed on 25 checked rows" in message
    assert (
        "Capacitors/LEGACY-CAP-1206 (footprint 'C1206' linked to 'C0603' of Sample.PcbLib by the "
        "mapping rules (footprint_name_fixes); symbol library not found: Legacy.SchLib" in message
    )
    page = (TRAINING / "quality-assurance.md").read_text(encoding="utf-8")
    assert "40 of 41, 97.6 %" in page and "failed on 25 checked rows" in page


def test_the_demo_takes_the_environment_and_rules_the_pages_use(tmp_path):
    from scripts.demo import run_conf

    rules = tmp_path / "my-rules.yaml"
    rules.write_text("schema: 1\n")
    assert run_conf(tmp_path, "testing", rules) == {
        "source": str(tmp_path),
        "environment": "testing",
        "sample_size": 2,
        "mapping_rules": str(rules.resolve()),
    }
    assert "mapping_rules" not in run_conf(tmp_path, "development", None)
    with pytest.raises(SystemExit, match="--mapping-rules .*nothing.yaml: no such file"):
        run_conf(tmp_path, "testing", tmp_path / "nothing.yaml")
