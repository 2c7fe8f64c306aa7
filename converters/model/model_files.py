"""What an embedded 3D model file is, and whether KiCad can load it.

Altium embeds whatever the user attached: mostly STEP, sometimes IGES or VRML, and at times native
CAD files KiCad cannot read (a SolidWorks `.sldprt`, Parasolid, STL). KiCad 9's 3D viewer loads
STEP (`.step .stp .stpz`), IGES (`.igs .iges`) through its OpenCascade plugin and VRML/X3D
(`.wrl .wrz .x3d`) through its VRML plugin; only those are referenced from a footprint. The format
is judged by the content where it has a signature, the file name otherwise.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from .footprint import looks_like_step

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# suffixes of the files KiCad 9's 3D plugins (oce, vrml) load
KICAD_3D_SUFFIXES = (".step", ".stp", ".stpz", ".igs", ".iges", ".wrl", ".wrz", ".x3d")

# formats met in Altium libraries that KiCad cannot load, by file suffix
_OTHER_FORMATS = {
    ".sldprt": "SolidWorks part",
    ".sldasm": "SolidWorks assembly",
    ".x_t": "Parasolid",
    ".x_b": "Parasolid",
    ".xmt_txt": "Parasolid",
    ".stl": "STL",
    ".sat": "ACIS",
    ".ipt": "Inventor part",
    ".prt": "Creo/NX part",
    ".catpart": "CATIA part",
    ".3ds": "3D Studio",
    ".obj": "Wavefront OBJ",
    ".3dxml": "3D XML",
    ".igs": "IGES",
    ".iges": "IGES",
    ".wrl": "VRML",
    ".step": "STEP",
    ".stp": "STEP",
}


@dataclass(frozen=True)
class ModelFormat:
    """A model file's format: the suffix it is written with, a name for messages, whether KiCad loads it."""

    suffix: str
    name: str
    kicad_loads: bool

    @property
    def is_step(self) -> bool:
        return self.suffix == ".step"


def _looks_like_iges(head: bytes) -> bool:
    """Fixed-format IGES: 80-column lines, the first a Start line with 'S' in column 73."""
    return len(head) > 72 and head[72:73] == b"S"


def model_format(data: bytes, name: str = "") -> ModelFormat:
    """The format of a model's bytes (`name` is the model's own file name, used without a signature)."""
    if data.startswith(b"\x1f\x8b"):  # gzip: KiCad reads compressed STEP and VRML
        inner = _gunzip_head(data)
        if looks_like_step(inner):
            return ModelFormat(".stpz", "compressed STEP", True)
        if inner.lstrip().startswith(b"#VRML"):
            return ModelFormat(".wrz", "compressed VRML", True)
    head = data.lstrip()[:200]
    if looks_like_step(head):
        return ModelFormat(".step", "STEP", True)
    if head.startswith(b"#VRML"):
        return ModelFormat(".wrl", "VRML", True)
    if b"<X3D" in head:
        return ModelFormat(".x3d", "X3D", True)
    if _looks_like_iges(data):
        return ModelFormat(".igs", "IGES", True)
    own = Path(name).suffix.lower()
    if own in _OTHER_FORMATS:
        label = _OTHER_FORMATS[own]
        if own in KICAD_3D_SUFFIXES:  # named so, but the content says otherwise
            label = f"not {label} despite its name"
        return ModelFormat(own if own not in KICAD_3D_SUFFIXES else ".bin", label, False)
    binary = len(data) > 84 and b"\x00" in data[:80] and not data.startswith(OLE_MAGIC)
    if head.lower().startswith(b"solid") or binary:
        return ModelFormat(".stl", "STL", False)
    if head.startswith(b"**") or b"PARASOLID" in head.upper():
        return ModelFormat(".x_t", "Parasolid", False)
    if data.startswith(OLE_MAGIC):
        return ModelFormat(".bin", "compound file (an older SolidWorks part?)", False)
    if own:
        return ModelFormat(own, f"'{own}' file", False)
    return ModelFormat(".bin", "unknown format", False)


def _gunzip_head(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(wbits=31).decompress(data[:4096], 256)
    except zlib.error:
        return b""


def kicad_can_load(head: bytes, suffix: str) -> bool:
    """Whether a written model file (its first bytes and suffix) is one KiCad 9 loads."""
    found = model_format(head, f"model{suffix}")
    return found.kicad_loads and (suffix.lower() in KICAD_3D_SUFFIXES)
