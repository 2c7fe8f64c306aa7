"""Embedded 3D models: which format a model is, and that only formats KiCad 9 loads are referenced
from footprints (issue 8: a SolidWorks part was written and referenced as if KiCad could load it)."""

from __future__ import annotations

import gzip
import json

from converters.cli import main
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures.step_box import step_box
from converters.model.model_files import kicad_can_load, model_format

STEP = step_box("BOX", 1.0, 1.0, 1.0)
SLDPRT = b"\x00\x00\x00\x04SolidWorks binary part: not a format KiCad reads\x00" * 8
IGES = (b"IGES file written by a CAD tool".ljust(72) + b"S      1\n") * 3


def test_formats_by_content_then_by_name():
    assert model_format(STEP, "box.step") == model_format(STEP, "") and model_format(STEP).is_step
    assert (
        model_format(b"#VRML V2.0 utf8\n", "m").suffix == ".wrl" and model_format(b"#VRML V2.0").kicad_loads
    )
    assert (model_format(IGES).suffix, model_format(IGES).kicad_loads) == (".igs", True)
    assert model_format(gzip.compress(STEP)).suffix == ".stpz"
    sw = model_format(SLDPRT, "Housing.SLDPRT")
    assert (sw.suffix, sw.name, sw.kicad_loads) == (".sldprt", "SolidWorks part", False)
    fake = model_format(b"not a step file at all", "fake.step")
    assert not fake.kicad_loads and fake.suffix == ".bin" and "not STEP" in fake.name
    assert not model_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100).kicad_loads


def test_kicad_can_load_checks_content_and_suffix():
    assert kicad_can_load(STEP[:4096], ".step") and kicad_can_load(IGES, ".iges")
    assert not kicad_can_load(SLDPRT, ".sldprt") and not kicad_can_load(STEP, ".sldprt")


def _library(tmp_path):
    step_model = pcb.Model3D("Body.step", STEP)
    sw_model = pcb.Model3D("Housing.SLDPRT", SLDPRT)
    outline = [(-20, -20), (20, -20), (20, 20), (-20, 20)]
    footprints = [
        pcb.Footprint(
            "WITH_STEP", primitives=[pcb.Pad("1", 0, 0, 40, 40), pcb.ComponentBody(outline, model=step_model)]
        ),
        pcb.Footprint(
            "WITH_SLDPRT", primitives=[pcb.Pad("1", 0, 0, 40, 40), pcb.ComponentBody(outline, model=sw_model)]
        ),
    ]
    return pcb.write_pcblib(tmp_path / "Models.PcbLib", footprints)


def test_a_model_kicad_cannot_load_is_kept_but_not_referenced(tmp_path):
    for embed in ([], ["--embed-3d"]):
        out = tmp_path / f"out{len(embed)}"
        assert main(["convert", str(_library(tmp_path)), "-o", str(out), "-q", *embed]) == 0
        pretty = out / "footprints" / "Models.pretty"
        assert "(model " in (pretty / "WITH_STEP.kicad_mod").read_text()
        sw_text = (pretty / "WITH_SLDPRT.kicad_mod").read_text()
        assert "(model " not in sw_text and "Housing" not in sw_text
        assert (out / "3dmodels" / "Models.3dshapes" / "Housing.sldprt").read_bytes() == SLDPRT
        rows = {(r["kind"], r["item"]): r for r in json.loads((out / "report.json").read_text())["items"]}
        fp_row, model_row = rows[("footprint", "WITH_SLDPRT")], rows[("model", "Housing.SLDPRT")]
        assert fp_row[
            "status"
        ] == "warning" and "SolidWorks part (.sldprt), which KiCad cannot load" in " ".join(
            fp_row["messages"]
        )
        assert model_row["status"] == "warning" and "not referenced" in model_row["messages"][0]
        assert rows[("model", "Body.step")]["status"] == "ok"
