"""Generic 3D bodies (extruded outline, cylinder, sphere) become one coloured STEP per footprint.

Libraries come from the project's fixture writer; the STEP is read back with the kernel that wrote
it (OpenCascade), and KiCad loads the footprints and exports a board holding one to STEP.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

from converters.convert import ConvertOptions, convert_paths
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures.step_box import step_box
from converters.kicad.step_bodies import bodies_key, bodies_step
from tests.converters.step_helpers import read_step_solids, union

_MODEL = re.compile(
    r'\(model "([^"]+)"\s*\(offset \(xyz ([^)]*)\)\)\s*\(scale[^)]*\)\)\s*\(rotate \(xyz ([^)]*)\)'
)


def _mils(*mm: float) -> list[float]:
    return [pcb.mm(v) for v in mm]


def _bodies() -> list[pcb.ComponentBody]:
    """An L-shaped extruded body (3 x 2.5 mm, 0.2 .. 1.5 mm), a horizontal cylinder (r 0.5 mm, 2 mm
    long along -Y from (2, -1) at height 0.5 + 0.5) and a sphere (r 0.25 mm) at (-1, 1, 0.25).
    The outline is absolute: the extruded body's origin (which Altium also stores) moves nothing."""
    outline = [tuple(_mils(x, y)) for x, y in [(-1, -1), (2, -1), (2, 0), (0, 0), (0, 1.5), (-1, 1.5)]]
    return [
        pcb.ComponentBody(
            outline,
            overall_height=pcb.mm(1.5),
            standoff_height=pcb.mm(0.2),
            color=pcb.colorref(255, 204, 0),
            identifier="Body",
            origin=tuple(_mils(0.5, 0.25, 0)),
        ),
        pcb.ComponentBody(
            [tuple(_mils(x, y)) for x, y in [(1.5, -1), (2.5, -1), (2.5, -3), (1.5, -3)]],
            shape=pcb.CYLINDER,
            radius=pcb.mm(0.5),
            cylinder_height=pcb.mm(2),
            standoff_height=0,
            overall_height=pcb.mm(1),
            origin=tuple(_mils(2, -1, 0.5)),
            rotation=(90, 0, 0),
            color=pcb.colorref(0, 0, 255),
            opacity=0.5,
        ),
        pcb.ComponentBody(
            [tuple(_mils(x, y)) for x, y in [(-1.25, 0.75), (-0.75, 0.75), (-0.75, 1.25), (-1.25, 1.25)]],
            shape=pcb.SPHERE,
            radius=pcb.mm(0.25),
            overall_height=pcb.mm(0.5),
            origin=tuple(_mils(-1, 1, 0.25)),
        ),
    ]


def _footprint(name: str, bodies: list[pcb.ComponentBody]) -> pcb.Footprint:
    return pcb.Footprint(name, primitives=[pcb.Pad("1", 0, 0, 30, 30), *bodies])


def _convert(tmp_path, footprints, **options):
    path = pcb.write_pcblib(tmp_path / "Bodies.PcbLib", footprints)
    out = tmp_path / "out"
    report = convert_paths([path], out, ConvertOptions(**options))
    return out, report


def _model_of(out, name: str) -> tuple[str, str, str]:
    text = (out / "footprints" / "Bodies.pretty" / f"{name}.kicad_mod").read_text(encoding="utf-8")
    (found,) = _MODEL.findall(text)
    return found


def _step_of(out, name: str):
    path, offset, rotate = _model_of(out, name)
    prefix = "${ALTIUM2KICAD_3DMODELS}/"
    assert path.startswith(prefix) and (offset, rotate) == ("0 0 0", "0 0 0")
    file = out / "3dmodels" / path[len(prefix) :]
    assert file.is_file(), f"{path} does not resolve under {out / '3dmodels'}"
    return file


def test_generic_bodies_become_one_step_with_their_outlines_heights_and_colours(tmp_path):
    started = time.perf_counter()
    out, report = _convert(tmp_path, [_footprint("THREE", _bodies())])
    seconds = time.perf_counter() - started
    file = _step_of(out, "THREE")
    assert file.name == "THREE.step"
    solids = {s.name: s for s in read_step_solids(file.read_bytes())}
    assert sorted(solids) == ["Body", "body 2", "body 3"]
    # the extruded outline (footprint Y down, model Y up) between standoff and overall height
    assert solids["Body"].box == pytest.approx((-1, -1, 0.2, 2, 1.5, 1.5), abs=1e-4)
    assert solids["Body"].volume == pytest.approx((3 * 1 + 1 * 1.5) * 1.3, rel=1e-6)
    assert solids["Body"].color == pytest.approx((1.0, 0.8, 0.0, 1.0), abs=2e-3)
    # the cylinder lies along -Y (Altium's Y up) from its origin, axis at its height, r 0.5
    assert solids["body 2"].box == pytest.approx((1.5, -3, 0, 2.5, -1, 1), abs=1e-4)
    assert solids["body 2"].color == pytest.approx((0, 0, 1, 0.5), abs=2e-3)
    assert solids["body 3"].box == pytest.approx((-1.25, 0.75, 0, -0.75, 1.25, 0.5), abs=1e-4)
    # each primitive's box is its outline's box and its heights: the outline is Altium's projection
    rows = {r.item: r for r in report.items}
    assert rows["THREE"].status.value == "ok", rows["THREE"].messages
    assert rows["THREE.step"].kind == "model" and rows["THREE.step"].target == "Bodies.3dshapes/THREE.step"
    print(
        f"\nconvert of one footprint with 3 generic bodies (kernel import included): {seconds * 1000:.0f} ms"
    )


def test_bottom_side_bodies_are_mirrored_below_the_board(tmp_path):
    extruded, cylinder, sphere = _bodies()
    for body in (extruded, cylinder, sphere):
        body.bottom = True
    out, _ = _convert(tmp_path, [_footprint("UNDER", [extruded, cylinder, sphere])])
    solids = {s.name: s for s in read_step_solids(_step_of(out, "UNDER").read_bytes())}
    assert solids["Body"].box == pytest.approx((-1, -1, -1.5, 2, 1.5, -0.2), abs=1e-4)
    assert solids["body 2"].box == pytest.approx((1.5, -3, -1, 2.5, -1, 0), abs=1e-4)
    assert solids["body 3"].box == pytest.approx((-1.25, 0.75, -0.5, -0.75, 1.25, 0), abs=1e-4)
    assert all(s.volume > 0 for s in solids.values())


def test_identical_bodies_share_one_file_and_embedded_models_are_kept(tmp_path, monkeypatch):
    from converters.kicad import step_bodies

    builds = []
    real = step_bodies.bodies_step
    monkeypatch.setattr(step_bodies, "bodies_step", lambda bodies: builds.append(len(bodies)) or real(bodies))
    box = pcb.Model3D("box.step", step_box("box", 1, 1, 1))
    with_model = pcb.ComponentBody([(0, 0), (10, 0), (10, 10)], model=box)
    out, report = _convert(
        tmp_path,
        [_footprint("A", _bodies()), _footprint("B", _bodies()), _footprint("C", [with_model, *_bodies()])],
    )
    assert _step_of(out, "A") == _step_of(out, "B") == out / "3dmodels" / "Bodies.3dshapes" / "A.step"
    text = (out / "footprints" / "Bodies.pretty" / "C.kicad_mod").read_text(encoding="utf-8")
    assert [m[0].rsplit("/", 1)[1] for m in _MODEL.findall(text)] == ["box.step", "A.step"]
    assert sorted(p.name for p in (out / "3dmodels" / "Bodies.3dshapes").iterdir()) == ["A.step", "box.step"]
    assert builds == [3]  # built once for the library, not once per footprint
    assert all(r.status.value == "ok" for r in report.items if r.kind == "footprint")


def test_the_sharing_key_holds_every_geometric_field(tmp_path):
    """Footprints share a built file when their bodies' keys are equal: a field left out of the
    key would hand one footprint another's solids."""
    import dataclasses

    from converters.altium.pcblib import read_pcblib

    library = read_pcblib(pcb.write_pcblib(tmp_path / "L.PcbLib", [_footprint("F", _bodies())]))
    bodies = library.footprints[0].bodies
    assert bodies_key(bodies) == bodies_key([dataclasses.replace(b) for b in bodies])
    changes = {
        "outline": [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)],
        "standoff_height": 0.1,
        "overall_height": 9.0,
        "bottom": True,
        "color": (1, 2, 3),
        "opacity": 0.3,
        "cylinder_radius": 0.7,
        "cylinder_height": 0.7,
        "sphere_radius": 0.7,
        "offset": (1.0, 2.0, 3.0),
        "rotation": (0.0, 90.0, 0.0),
        "body_rotation": 45.0,
        "model_type": 3,
        "identifier": "Other",
    }
    for name, value in changes.items():
        changed = [dataclasses.replace(bodies[0], **{name: value}), *bodies[1:]]
        assert bodies_key(changed) != bodies_key(bodies), name


def test_colours_and_opacities_out_of_range_are_clamped():
    from converters.model.footprint import ComponentBody, LayerRef

    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    bodies = [
        ComponentBody(LayerRef(57), outline=square, overall_height=1, opacity=1.5, color=(300, -4, 128)),
        ComponentBody(LayerRef(57), outline=square, overall_height=1, opacity=-0.5),
    ]
    colors = [s.color for s in read_step_solids(bodies_step(bodies).data)]
    assert colors == [
        pytest.approx((1, 0, 0.502, 1), abs=2e-3),
        pytest.approx((0.502, 0.502, 0.502, 0), abs=2e-3),
    ]


def test_embed_3d_embeds_the_bodies_step(tmp_path):
    from tests.converters.test_embedded import _EMBEDDED, _decode

    out, _ = _convert(tmp_path, [_footprint("EMB", _bodies())], embed_3d=True)
    path, offset, rotate = _model_of(out, "EMB")
    assert path == "kicad-embed://EMB.step" and (offset, rotate) == ("0 0 0", "0 0 0")
    text = (out / "footprints" / "Bodies.pretty" / "EMB.kicad_mod").read_text(encoding="utf-8")
    [(data, _checksum)] = _EMBEDDED.findall(text)
    assert _decode(data) == (out / "3dmodels" / "Bodies.3dshapes" / "EMB.step").read_bytes()


def test_a_body_that_cannot_be_built_costs_only_itself(tmp_path):
    crossing = pcb.ComponentBody([(0, 0), (40, 40), (40, 0), (0, 40)], overall_height=20)
    flat = pcb.ComponentBody([(0, 0), (40, 0), (40, 40)], overall_height=10, standoff_height=10)
    sphere = pcb.ComponentBody([(0, 0)], shape=pcb.SPHERE, radius=0)
    good = _bodies()[0]
    out, report = _convert(
        tmp_path, [_footprint("BAD", [crossing, flat, sphere, good]), _footprint("NONE", [flat])]
    )
    assert [s.name for s in read_step_solids(_step_of(out, "BAD").read_bytes())] == ["Body"]
    rows = {r.item: r for r in report.items}
    messages = "\n".join(rows["BAD"].messages)
    assert "'body 1' not built: outline crosses itself" in messages
    assert "'body 2' not built: no height (standoff 0.254 mm, overall 0.254 mm)" in messages
    assert "'body 3' not built: sphere without size" in messages
    assert (
        rows["NONE"].status.value == "warning" and "generic 3D bodies not built" in rows["NONE"].messages[0]
    )
    assert "(model" not in (out / "footprints" / "Bodies.pretty" / "NONE.kicad_mod").read_text(
        encoding="utf-8"
    )


def test_without_the_kernel_each_footprint_says_so(tmp_path, monkeypatch):
    """OpenCascade is optional: when it cannot be imported every footprint with generic bodies
    gets a warning naming the package, and the library is still written."""
    for module in [m for m in sys.modules if m == "OCP" or m.startswith("OCP.")]:
        monkeypatch.setitem(sys.modules, module, None)  # makes `import OCP...` raise ImportError
    monkeypatch.delitem(sys.modules, "converters.kicad.step_bodies", raising=False)
    out, report = _convert(tmp_path, [_footprint("A", _bodies()), _footprint("B", _bodies()[:1])])
    rows = {r.item: r for r in report.items}
    for name in ("A", "B"):
        assert rows[name].status.value == "warning"
        assert "not built: the CAD kernel OpenCascade is not installed" in rows[name].messages[0]
        assert "pip install cadquery-ocp-novtk" in rows[name].messages[0]
    assert (out / "footprints" / "Bodies.pretty" / "A.kicad_mod").is_file()


def test_the_converter_starts_without_loading_the_kernel():
    code = (
        "import sys, converters.cli, converters.convert, converters.footprints_job, "
        "converters.kicad.footprint_writer, converters.altium.pcblib\n"
        "print('OCP' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.kicad
def test_kicad_loads_the_footprints_and_exports_the_bodies(kicad_validate, shared, tmp_path):
    out, _ = _convert(tmp_path, [_footprint("THREE", _bodies())], embed_3d=True)
    pretty = out / "footprints" / "Bodies.pretty"
    result = subprocess.run([str(kicad_validate), str(pretty)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    from tests.converters.test_embedded import _BOARD

    footprint = (pretty / "THREE.kicad_mod").read_text(encoding="utf-8")
    footprint = footprint.replace('(footprint "THREE"', '(footprint "Bodies:THREE" (at 10 10)', 1)
    board = tmp_path / "board.kicad_pcb"
    board.write_text(_BOARD.replace("FOOTPRINT", footprint), encoding="utf-8")
    exported = tmp_path / "board.step"
    result = subprocess.run(
        [str(shared / "tools/kicad/kicad-cli"), "pcb", "export", "step", str(board), "-o", str(exported)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    solids = read_step_solids(exported.read_bytes())
    board_solid = max(solids, key=lambda s: s.volume)
    top = board_solid.box[5]
    ours = [s for s in solids if s is not board_solid]
    box = union([s.box for s in ours])
    # KiCad placed the file unmoved at the footprint (10, 10), i.e. (10, -10) with Y up: the bodies'
    # box (x -1.25..2.5, y -3..1.5, z 0..1.5) sits there on the board, its base on the board's
    # top (KiCad adds the copper and mask thickness above the board's core: < 0.1 mm)
    assert box[:2] + box[3:5] == pytest.approx((8.75, -13, 12.5, -8.5), abs=1e-3)
    assert box[5] - box[2] == pytest.approx(1.5, abs=1e-3) and 0 <= box[2] - top < 0.1
    # and KiCad keeps each part's name, colour and opacity
    assert {s.name: s.color for s in ours} == {
        "Body": pytest.approx((1.0, 0.8, 0.0, 1.0), abs=2e-3),
        "body 2": pytest.approx((0.0, 0.0, 1.0, 0.5), abs=2e-3),
        "body 3": pytest.approx((0.502, 0.502, 0.502, 1.0), abs=2e-3),
    }


_BUILD = """
import hashlib, sys
from converters.fixtures import pcblib_writer as pcb
from converters.fixtures.sample_library import LAYER_NAMES
from converters.convert import convert_paths
from pathlib import Path
out = Path(sys.argv[1])
body = pcb.ComponentBody(outline=[(0, 0), (100, 0), (100, 50), (0, 50)], standoff_height=5, overall_height=40)
lib = pcb.write_pcblib(out / "B.PcbLib", [pcb.Footprint("A", primitives=[body]), pcb.Footprint("B", primitives=[body, body])], LAYER_NAMES)
convert_paths([lib], out / "first")
convert_paths([lib], out / "second")  # the same process writes more STEP files in between
for step in sorted((out / "first").rglob("*.step")) + sorted((out / "second").rglob("*.step")):
    print(step.name, hashlib.sha256(step.read_bytes()).hexdigest())
"""


def test_bodies_step_is_byte_identical_across_runs_and_processes(tmp_path):
    """OpenCascade's entity order and occurrence counter vary; the written file must not."""
    digests = []
    for seed in ("1", "2", "3"):
        folder = tmp_path / seed
        folder.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", _BUILD, str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=str(pathlib.Path(__file__).resolve().parents[2]),
        )
        assert done.returncode == 0, done.stderr[-2000:]
        lines = [line.split() for line in done.stdout.splitlines()]
        digests.append([tuple(w) for w in lines if len(w) == 2 and w[0].endswith(".step")])
    first = digests[0]
    assert len(first) == 4 and all(d == first for d in digests)  # the same bytes in every process
    assert first[:2] == first[2:]  # and for a second conversion in the same process
