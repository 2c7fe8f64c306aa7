"""Reads a STEP file back with the kernel that wrote it (OpenCascade): each solid's bounding box,
volume and colour, for tests that check what the converter built."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

Box = tuple[float, float, float, float, float, float]  # xmin, ymin, zmin, xmax, ymax, zmax


@dataclass
class StepSolid:
    name: str
    box: Box
    volume: float
    color: tuple[float, float, float, float] | None  # sRGB 0-1 and alpha


def _box(shape) -> Box:
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib

    box = Bnd_Box()
    BRepBndLib.AddOptimal_s(shape, box, False, False)
    lo, hi = box.CornerMin(), box.CornerMax()
    return tuple(round(v, 4) for v in (lo.X(), lo.Y(), lo.Z(), hi.X(), hi.Y(), hi.Z()))


def union(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        min(b[2] for b in boxes),
        max(b[3] for b in boxes),
        max(b[4] for b in boxes),
        max(b[5] for b in boxes),
    )


def read_step_solids(data: bytes) -> list[StepSolid]:
    """Every solid of the file, placed where its assembly puts it, with its part's name and colour."""
    from OCP.OCP.collections import Sequence_TDF_Label
    from OCP.STEPCAFControl import STEPCAFControl_Reader
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDocStd import TDocStd_Document
    from OCP.TopLoc import TopLoc_Location
    from OCP.XCAFDoc import XCAFDoc_DocumentTool

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "read.step"
        path.write_bytes(data)
        reader = STEPCAFControl_Reader()
        reader.SetColorMode(True)
        reader.SetNameMode(True)
        assert str(reader.ReadFile(str(path))).endswith("RetDone"), "OpenCascade cannot read the file"
        doc = TDocStd_Document(TCollection_ExtendedString("MDTV-XCAF"))
        assert reader.Transfer(doc)
    shapes = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    colors = XCAFDoc_DocumentTool.ColorTool_s(doc.Main())
    roots = Sequence_TDF_Label()
    shapes.GetFreeShapes(roots)
    solids: list[StepSolid] = []
    for i in range(1, roots.Length() + 1):
        _collect(shapes, colors, roots.Value(i), TopLoc_Location(), solids)
    return solids


def _collect(shapes, colors, label, location, solids: list[StepSolid]) -> None:
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps
    from OCP.OCP.collections import Sequence_TDF_Label
    from OCP.Quantity import Quantity_ColorRGBA, Quantity_TOC_sRGB
    from OCP.TDataStd import TDataStd_Name
    from OCP.TDF import TDF_Label
    from OCP.TopAbs import TopAbs_SOLID
    from OCP.TopExp import TopExp_Explorer
    from OCP.XCAFDoc import XCAFDoc_ColorSurf

    if shapes.IsAssembly_s(label):
        components = Sequence_TDF_Label()
        shapes.GetComponents_s(label, components, False)
        for i in range(1, components.Length() + 1):
            component, part = components.Value(i), TDF_Label()
            shapes.GetReferredShape_s(component, part)
            _collect(shapes, colors, part, location.Multiplied(shapes.GetLocation_s(component)), solids)
        return
    shape = shapes.GetShape_s(label)
    rgba = Quantity_ColorRGBA()
    color = None
    if colors.GetColor(shape, XCAFDoc_ColorSurf, rgba):
        r, g, b = rgba.GetRGB().Values(Quantity_TOC_sRGB)
        color = (round(r, 3), round(g, 3), round(b, 3), round(rgba.Alpha(), 3))
    name = TDataStd_Name()
    found = label.FindAttribute(TDataStd_Name.GetID_s(), name)
    explorer = TopExp_Explorer(shape.Moved(location), TopAbs_SOLID)
    while explorer.More():
        solid = explorer.Current()
        props = GProp_GProps()
        BRepGProp.VolumeProperties_s(solid, props)
        solids.append(StepSolid(name.Get().ToExtString() if found else "", _box(solid), props.Mass(), color))
        explorer.Next()
