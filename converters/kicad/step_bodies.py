"""Builds the solids of a footprint's generic 3D bodies and writes them as one coloured STEP file.

Altium describes many bodies by their geometry instead of a file: an outline extruded from the
standoff to the overall height, a cylinder or a sphere, each with its colour and opacity. KiCad
only shows 3D files (its importer drops these bodies), so they are built here with OpenCascade
(the `OCP` bindings, pip package cadquery-ocp-novtk) and merged into one STEP assembly with a
coloured solid per body. The file holds the bodies where they sit on the footprint, in KiCad's model
frame (millimetres, Y up, Z up from the footprint's side of the board), so the footprint places it
without offset or rotation. Bottom-side bodies are mirrored below that surface.

This module imports the kernel at the top: callers import it inside a function, so the converter
starts and the DAGs parse without loading (or even having) OpenCascade.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from OCP.APIHeaderSection import APIHeaderSection_MakeHeader
from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeFace, BRepBuilderAPI_MakePolygon, BRepBuilderAPI_Transform
from OCP.BRepCheck import BRepCheck_Analyzer
from OCP.BRepPrimAPI import BRepPrimAPI_MakeCylinder, BRepPrimAPI_MakePrism, BRepPrimAPI_MakeSphere
from OCP.gp import gp_Ax1, gp_Ax2, gp_Dir, gp_Pnt, gp_Trsf, gp_Vec
from OCP.IFSelect import IFSelect_RetDone
from OCP.Message import Message, Message_Gravity
from OCP.Quantity import Quantity_Color, Quantity_ColorRGBA, Quantity_TOC_sRGB
from OCP.STEPCAFControl import STEPCAFControl_Writer
from OCP.STEPControl import STEPControl_AsIs
from OCP.TCollection import TCollection_ExtendedString, TCollection_HAsciiString
from OCP.TDataStd import TDataStd_Name
from OCP.TDocStd import TDocStd_Document
from OCP.TopLoc import TopLoc_Location
from OCP.TopoDS import TopoDS_Shape
from OCP.XCAFDoc import XCAFDoc_ColorSurf, XCAFDoc_DocumentTool

from ..model.footprint import BodyModelType, ComponentBody
from .step_canonical import canonical_step

KERNEL_PACKAGE = "cadquery-ocp-novtk"
# No wall-clock time in the file: what it holds depends on the bodies only. (Its bytes still vary:
# OpenCascade orders colour styles by memory address, so sharing goes by `bodies_key`.)
HEADER_TIME = "1970-01-01T00:00:00"
GENERATOR = "altium2kicad"
_EPS = 1e-6  # mm: shorter edges and thinner bodies are degenerate


class StepBodyError(Exception):
    """A body (or all of a footprint's bodies) could not be built; the message says why."""


@dataclass
class BodiesStep:
    """The STEP file of a footprint's generic bodies and what was left out of it."""

    data: bytes
    built: int
    warnings: list[str] = field(default_factory=list)


def body_label(body: ComponentBody, number: int) -> str:
    return body.identifier or body.model_name or f"body {number}"


def bodies_step(bodies: Sequence[ComponentBody]) -> BodiesStep:
    """One STEP file with a solid per buildable body; raises StepBodyError when none is."""
    solids: list[tuple[str, TopoDS_Shape, ComponentBody]] = []
    warnings: list[str] = []
    for number, body in enumerate(bodies, 1):
        label = body_label(body, number)
        try:
            solids.append((label, body_solid(body), body))
        except StepBodyError as exc:
            warnings.append(f"3D body '{label}' not built: {exc}")
    if not solids:
        raise StepBodyError("; ".join(warnings) or "no 3D bodies")
    return BodiesStep(_step_bytes(solids), len(solids), warnings)


def bodies_key(bodies: Sequence[ComponentBody]) -> str:
    """A digest of everything the STEP of these bodies depends on: equal keys, equal solids, so a
    library builds and writes one file for all footprints with the same bodies."""
    fields = [
        (
            body_label(b, n),
            int(b.model_type),
            [tuple(p) for p in b.outline],
            b.standoff_height,
            b.overall_height,
            b.bottom,
            tuple(b.color),
            b.opacity,
            b.cylinder_radius,
            b.cylinder_height,
            b.sphere_radius,
            tuple(b.offset),
            tuple(b.rotation),
            b.body_rotation,
        )
        for n, b in enumerate(bodies, 1)
    ]
    return hashlib.sha256(repr(fields).encode()).hexdigest()


def body_solid(body: ComponentBody) -> TopoDS_Shape:
    """The body's solid in the footprint's model frame (mm, Y up)."""
    if body.model_type == BodyModelType.EXTRUDED:
        return _extruded(body)
    if body.model_type == BodyModelType.CYLINDER:
        if body.cylinder_radius <= _EPS or body.cylinder_height <= _EPS:
            raise StepBodyError(
                f"cylinder without size (radius {body.cylinder_radius} mm, height {body.cylinder_height} mm)"
            )
        return _placed(BRepPrimAPI_MakeCylinder(body.cylinder_radius, body.cylinder_height).Shape(), body)
    if body.model_type == BodyModelType.SPHERE:
        if body.sphere_radius <= _EPS:
            raise StepBodyError(f"sphere without size (radius {body.sphere_radius} mm)")
        return _placed(BRepPrimAPI_MakeSphere(body.sphere_radius).Shape(), body)
    raise StepBodyError(f"model type {body.model_type} is not a generic shape")


def clean_outline(outline: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The outline without repeated points (nor a closing copy of the first), counter-clockwise in
    the model frame (Y up), so its extrusion is a solid of positive volume."""
    points: list[tuple[float, float]] = []
    for x, y in outline:
        p = (x, -y)  # footprint Y points down, the model frame's up
        if not points or math.dist(p, points[-1]) > _EPS:
            points.append(p)
    while len(points) > 1 and math.dist(points[0], points[-1]) <= _EPS:
        points.pop()
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
    return points[::-1] if area < 0 else points


def _extruded(body: ComponentBody) -> TopoDS_Shape:
    points = clean_outline(body.outline)
    if len(points) < 3:
        raise StepBodyError(f"outline has {len(points)} distinct points, a solid needs 3")
    low, high = body.standoff_height, body.overall_height
    if high - low <= _EPS:
        raise StepBodyError(f"no height (standoff {low} mm, overall {high} mm)")
    base = -high if body.bottom else low
    polygon = BRepBuilderAPI_MakePolygon()
    for x, y in points:
        polygon.Add(gp_Pnt(x, y, base))
    polygon.Close()
    face = BRepBuilderAPI_MakeFace(polygon.Wire(), True)
    if not face.IsDone():
        raise StepBodyError("outline is not a plane polygon")
    solid = BRepPrimAPI_MakePrism(face.Face(), gp_Vec(0, 0, high - low)).Shape()
    if not BRepCheck_Analyzer(solid).IsValid():
        raise StepBodyError("outline crosses itself")
    return solid


def _rotation(axis: tuple[float, float, float], degrees: float) -> gp_Trsf:
    trsf = gp_Trsf()
    trsf.SetRotation(gp_Ax1(gp_Pnt(0, 0, 0), gp_Dir(*axis)), math.radians(degrees))
    return trsf


def _placed(shape: TopoDS_Shape, body: ComponentBody) -> TopoDS_Shape:
    """A primitive built at the origin along +Z, turned by the body's 3D rotation (about X, then Y,
    then Z, counter-clockwise, as Altium applies it; the 2D rotation adds to Z) and moved to the
    body's origin; mirrored below the board on the bottom side."""
    x, y, z = body.offset
    trsf = gp_Trsf()
    trsf.SetTranslation(gp_Vec(x, -y, z))
    rx, ry, rz = body.rotation
    for axis, angle in (((0, 0, 1), rz + body.body_rotation), ((0, 1, 0), ry), ((1, 0, 0), rx)):
        trsf.Multiply(_rotation(axis, angle))  # applied right to left: X first
    if body.bottom:
        mirror = gp_Trsf()
        mirror.SetMirror(gp_Ax2(gp_Pnt(0, 0, 0), gp_Dir(0, 0, 1)))
        mirror.Multiply(trsf)
        trsf = mirror
    return BRepBuilderAPI_Transform(shape, trsf, True).Shape()


@functools.cache
def _quiet_kernel() -> None:
    """OpenCascade prints transfer statistics to stdout; only failures are of interest here."""
    for printer in Message.DefaultMessenger_s().Printers():
        printer.SetTraceLevel(Message_Gravity.Message_Fail)


def _step_bytes(solids: list[tuple[str, TopoDS_Shape, ComponentBody]]) -> bytes:
    _quiet_kernel()
    doc = TDocStd_Document(TCollection_ExtendedString("MDTV-XCAF"))
    shapes = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    colors = XCAFDoc_DocumentTool.ColorTool_s(doc.Main())
    root = shapes.NewShape()
    TDataStd_Name.Set_s(root, TCollection_ExtendedString("3D bodies"))
    for label, solid, body in solids:
        part = shapes.AddShape(solid, False)
        TDataStd_Name.Set_s(part, TCollection_ExtendedString(label))
        r, g, b = (min(max(c, 0), 255) / 255 for c in body.color)
        alpha = min(max(body.opacity, 0.0), 1.0)  # OpenCascade refuses values outside 0..1
        colors.SetColor(
            part,
            Quantity_ColorRGBA(Quantity_Color(r, g, b, Quantity_TOC_sRGB), alpha),
            XCAFDoc_ColorSurf,
        )
        shapes.AddComponent(root, part, TopLoc_Location())
    shapes.UpdateAssemblies()
    writer = STEPCAFControl_Writer()
    writer.SetColorMode(True)
    writer.SetNameMode(True)
    if not writer.Transfer(doc, STEPControl_AsIs):
        raise StepBodyError("OpenCascade could not transfer the bodies to STEP")
    header = APIHeaderSection_MakeHeader(writer.ChangeWriter().Model())
    header.SetName(TCollection_HAsciiString("3D bodies"))
    header.SetTimeStamp(TCollection_HAsciiString(HEADER_TIME))
    header.SetOriginatingSystem(TCollection_HAsciiString(GENERATOR))
    stream = io.BytesIO()
    if writer.WriteStream(stream) != IFSelect_RetDone:
        raise StepBodyError("OpenCascade could not write the STEP file")
    return canonical_step(stream.getvalue())
