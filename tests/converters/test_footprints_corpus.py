"""The whole corpus of PcbLibs and IntLibs, converted once: nothing fails, Altium's own values
(golden JSON) are met exactly, KiCad's own conversion is matched, every model is STEP or reported,
and KiCad 9 loads every footprint."""

import importlib.util
import io
import json
import shutil
import subprocess
import sys
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from converters.convert import ConvertOptions, convert_paths

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


@pytest.fixture(scope="module")
def converted(shared, tmp_path_factory):
    out = tmp_path_factory.mktemp("footprints_corpus")
    libs = sorted(p for p in (shared / "corpus").rglob("*") if p.suffix.lower() in (".pcblib", ".intlib"))
    report = convert_paths(libs, out, ConvertOptions())
    return out, report, libs


def _tool(shared, name):
    spec = importlib.util.spec_from_file_location(name, shared / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(shared / "tools"))
    spec.loader.exec_module(module)
    return module


def _run_tool(shared, name, argv):
    module = _tool(shared, name)
    old, sys.argv = sys.argv, [name] + argv
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer):
            module.main()
    finally:
        sys.argv = old
    return buffer.getvalue()


def test_no_library_or_footprint_fails(converted):
    _out, report, libs = converted
    failed = [r for r in report.items if r.status.value == "failed" and r.kind in ("library", "footprint")]
    assert not failed, failed[:5]
    assert len(libs) >= 170
    assert sum(r.kind == "footprint" for r in report.items) >= 250


def test_golden_pads_exact(converted, shared):
    out, _report, _libs = converted
    text = _run_tool(
        shared,
        "golden_compare",
        ["--corpus", str(shared / "corpus" / "altiumsharp"), str(out), "--show", "0"],
    )
    line = next(row for row in text.splitlines() if row.startswith("footprints vs Altium"))
    assert (
        "all_exact=100.0%" in line
        and "place=100.0%" in line
        and "size=100.0%" in line
        and "hole=100.0%" in line
    ), line


def _without_generated_fab_reference(footprints: Path, into: Path) -> Path:
    """Copies of the footprints without the fab-layer `${REFERENCE}` we add where Altium has no
    designator text (docs/footprints.md): KiCad's importer adds none, and item counts are compared."""
    for src in footprints.rglob("*.kicad_mod"):
        text = src.read_text(encoding="utf-8")
        start = text.find('(fp_text user "${REFERENCE}"')
        if start >= 0 and "(uuid " in text[start : start + 400]:
            depth, end = 0, start
            while True:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
                end += 1
            text = text[:start].rstrip("\t") + text[end + 2 :]
        dst = into / src.relative_to(footprints)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(text, encoding="utf-8")
    return into


def test_kicad_reference_agreement(converted, shared, tmp_path):
    out, _report, _libs = converted
    result = tmp_path / "cmp.json"
    ours = _without_generated_fab_reference(out / "footprints", tmp_path / "ours")
    _run_tool(
        shared,
        "kicad_compare",
        [
            str(ours),
            str(shared / "reference"),
            "--by-stem",
            "--show",
            "0",
            "--json",
            str(result),
        ],
    )
    summary = json.loads(result.read_text())["summary"]["footprint"]
    assert summary["missing"] == 0
    assert summary["pads_exact"] >= 98.0, summary
    assert summary["graphics"] >= 90.0, summary


def test_models_are_step_or_reported(converted):
    out, report, _libs = converted
    models = [p for p in (out / "3dmodels").rglob("*") if p.is_file()]
    assert models
    rows = {r.target: r for r in report.items if r.kind == "model"}
    for path in models:
        if path.suffix == ".step":
            assert path.read_bytes().lstrip().startswith(b"ISO-10303-21"), path
        else:
            key = f"{path.parent.name}/{path.name}"
            assert rows[key].messages, f"{key} is not STEP and was not reported"


def test_footprints_reference_models_through_the_variable(converted):
    out, _report, _libs = converted
    refs = [
        row
        for f in (out / "footprints").rglob("*.kicad_mod")
        for row in f.read_text().splitlines()
        if "(model " in row
    ]
    assert refs and all("${ALTIUM2KICAD_3DMODELS}/" in ref for ref in refs)
    for line in refs:
        rel = line.split("${ALTIUM2KICAD_3DMODELS}/", 1)[1].rstrip('"')
        assert (out / "3dmodels" / rel).exists(), rel


def test_lib_tables_list_every_library(converted):
    out, _report, _libs = converted
    table = (out / "fp-lib-table").read_text()
    assert table.count("(lib") == len(list((out / "footprints").glob("*.pretty")))


# KiCad 9's board layers (pcbnew's layer names), and the wildcards its pad parser accepts; written
# out here, apart from converters/kicad/layers.py, so the check does not trust the code it checks.
KICAD9_LAYERS = (
    {"F.Cu", "B.Cu", "Edge.Cuts", "Margin", "Dwgs.User", "Cmts.User", "Eco1.User", "Eco2.User"}
    | {f"{side}.{kind}" for side in "FB" for kind in ("Adhes", "Paste", "SilkS", "Mask", "CrtYd", "Fab")}
    | {f"In{n}.Cu" for n in range(1, 31)}
    | {f"User.{n}" for n in range(1, 46)}
)
KICAD9_LAYER_WILDCARDS = {
    "*.Cu",
    "*In.Cu",
    "F&B.Cu",
    "*.Adhes",
    "*.Paste",
    "*.Mask",
    "*.SilkS",
    "*.Fab",
    "*.CrtYd",
}


def _layer_tokens(expr, parent: str = ""):
    """(token, layer name, parent token) of every `(layer X ...)` and `(layers X Y ...)` below expr."""
    if not isinstance(expr, list) or not expr:
        return
    head = expr[0]
    if head == "layer" and len(expr) > 1 and isinstance(expr[1], str):
        yield head, expr[1], parent
    elif head == "layers":
        for name in expr[1:]:
            if isinstance(name, str):
                yield head, name, parent
    for child in expr[1:]:
        yield from _layer_tokens(child, head)


def test_every_layer_written_is_a_kicad_9_layer(converted):
    """Each layer name in every footprint of the corpus is one KiCad 9 has (issue 8: SMD pads on
    Altium's Multi-Layer went to a layer `In73.Cu` KiCad lacks, and their copper was lost)."""
    from converters.kicad.sexpr_reader import parse

    out, _report, _libs = converted
    bad = Counter()
    files = sorted((out / "footprints").rglob("*.kicad_mod"))
    assert len(files) >= 250
    for path in files:
        for token, name, parent in _layer_tokens(parse(path.read_text(encoding="utf-8"))):
            ok = name in KICAD9_LAYERS or (token == "layers" and name in KICAD9_LAYER_WILDCARDS)
            ok = ok or (parent == "padstack" and name == "Inner")  # front_inner_back pad stacks
            if not ok:
                bad[(name, path.parent.name)] += 1
    assert not bad, bad.most_common(10)


@pytest.mark.kicad
def test_kicad_loads_every_footprint(converted, kicad_validate, tmp_path):
    """All footprints in one library (one KiCad start), names made unique per source library."""
    out, _report, _libs = converted
    merged = tmp_path / "all.pretty"
    merged.mkdir()
    count = 0
    for lib in sorted((out / "footprints").glob("*.pretty")):
        for f in lib.glob("*.kicad_mod"):
            count += 1
            shutil.copy(f, merged / f"{count:05d}_{f.name}")
    run = subprocess.run([str(kicad_validate), str(merged)], capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0 and f"({count} footprints)" in run.stdout, run.stdout[-3000:]


def _text_items(module, path: Path) -> Counter:
    """fp_text / fp_text_box of a footprint as (kind, text, placement, size, justify); layer left out
    because our courtyard/assembly mapping differs on purpose."""
    fp = module.parse_sexpr(path.read_text(encoding="utf-8"))[0]
    items = Counter()
    for item in fp[1:]:
        kind = module.head(item)
        if kind not in ("fp_text", "fp_text_box"):
            continue
        label = str(item[2] if kind == "fp_text" else item[1])
        where = [module.kid(item, k) for k in ("at", "start", "end", "pts", "angle")]
        place = tuple(round(module.num(v), 4) for w in where if w for v in w[1:] if not isinstance(v, list))
        pts = module.kid(item, "pts")
        if pts:
            place += tuple(round(module.num(v), 4) for xy in pts[1:] for v in xy[1:])
        effects = module.kid(item, "effects") or []
        font = module.kid(effects, "font") or []
        size = module.kid(font, "size")
        justify = module.kid(effects, "justify")
        items[
            (
                kind,
                label,
                place,
                tuple(size[1:]) if size else (),
                tuple(map(str, justify[1:])) if justify else (),
            )
        ] += 1
    return items


def test_texts_are_placed_as_kicad_places_them(converted, shared):
    """Every text and text frame KiCad's importer wrote for the same footprint is ours too: position
    (baseline drop), rotation, size, justification, frame corners."""
    out, _report, _libs = converted
    module = _tool(shared, "kicad_compare")
    reference = {
        (p.parent.name.lower(), p.name.lower()): p for p in (shared / "reference").rglob("*.kicad_mod")
    }
    compared, missing = 0, []
    for ours in sorted((out / "footprints").rglob("*.kicad_mod")):
        ref = reference.get((ours.parent.name.lower(), ours.name.lower()))
        if ref is None:
            continue
        want, got = _text_items(module, ref), _text_items(module, ours)
        compared += sum(want.values())
        missing += [(ours.name, item) for item in want - got]
    assert compared >= 70 and not missing, missing[:5]
