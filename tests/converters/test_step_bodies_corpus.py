"""Every generic 3D body of the corpus is built, and its solid fills exactly the box Altium states
for it: the outline (Altium's projection of the body on the board) and standoff..overall height.
For cylinders this checks the placement (origin, rotation about X, Y, Z) against Altium's own."""

from __future__ import annotations

import pytest

from converters.kicad.step_bodies import bodies_step, body_solid, clean_outline
from converters.model.footprint import GENERIC_BODY_TYPES
from tests.converters.step_helpers import read_step_solids

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


def _generic_footprints(shared):
    from converters.altium.pcblib import read_pcblib, read_pcblib_data
    from converters.intlib_job import embedded_libraries

    libraries = []
    for path in sorted(p for p in (shared / "corpus").rglob("*") if p.is_file()):
        if path.suffix.lower() == ".pcblib":
            libraries.append(read_pcblib(path))
        elif path.suffix.lower() == ".intlib":
            pcblibs, _, _ = embedded_libraries(path.read_bytes(), str(path))
            libraries += [read_pcblib_data(data, label) for label, data in pcblibs]
    for library in libraries:
        for fp in library.footprints:
            bodies = [
                b
                for b in fp.bodies
                if b.model_type in GENERIC_BODY_TYPES and library.models.get(b.model_id) is None
            ]
            if bodies:
                yield library.source, fp.name, bodies


def _solid_box(solid) -> tuple[float, ...]:
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib

    box = Bnd_Box()
    BRepBndLib.AddOptimal_s(solid, box, False, False)
    lo, hi = box.CornerMin(), box.CornerMax()
    return lo.X(), lo.Y(), lo.Z(), hi.X(), hi.Y(), hi.Z()


def test_every_generic_body_fills_its_outline_and_heights(shared):
    footprints = list(_generic_footprints(shared))
    assert len(footprints) >= 30  # the corpus holds 37 such footprints (docs/footprints.md)
    shapes = set()
    for source, name, bodies in footprints:
        for body in bodies:
            shapes.add(int(body.model_type))
            xs, ys = zip(*clean_outline(body.outline), strict=True)
            expected = (min(xs), min(ys), body.standoff_height, max(xs), max(ys), body.overall_height)
            assert _solid_box(body_solid(body)) == pytest.approx(expected, abs=0.01), (source, name)
        # and the written file holds one solid per body
        assert len(read_step_solids(bodies_step(bodies).data)) == len(bodies), (source, name)
    assert shapes == {0, 2}  # extruded outlines and cylinders (no sphere in the corpus)
