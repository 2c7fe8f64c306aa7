"""The layer table a PcbLib declares in `Library/Data`: names and mechanical kinds per layer.

Altium numbers layers 1-82 in primitives (57-72 = Mechanical 1-16). Newer files also list layers by
a 32-bit id (`LAYER_V8_<i>LAYERID`, 0x01020000 + n for Mechanical n, up to 32), with the names and
kinds ("CourtyardTop", "AssemblyBottom"...) the user gave them. Mechanical layers above 16 get
numbers 1000 + n here.
"""

from __future__ import annotations

import re

from ..model.footprint import AltiumLayer as L
from ..model.footprint import LayerRef, mechanical_layer_number
from .records import Properties

MECH_V8_BASE = 0x01020000
DEFAULT_NAMES: dict[int, str] = {
    L.TOP: "Top Layer",
    L.BOTTOM: "Bottom Layer",
    L.TOP_OVERLAY: "Top Overlay",
    L.BOTTOM_OVERLAY: "Bottom Overlay",
    L.TOP_PASTE: "Top Paste",
    L.BOTTOM_PASTE: "Bottom Paste",
    L.TOP_SOLDER: "Top Solder",
    L.BOTTOM_SOLDER: "Bottom Solder",
    L.DRILL_GUIDE: "Drill Guide",
    L.KEEP_OUT: "Keep-Out Layer",
    L.DRILL_DRAWING: "Drill Drawing",
    L.MULTI_LAYER: "Multi-Layer",
}
for _n in range(L.MID_FIRST, L.MID_LAST + 1):
    DEFAULT_NAMES[_n] = f"Mid-Layer {_n - L.MID_FIRST + 1}"
for _n in range(L.PLANE_FIRST, L.PLANE_LAST + 1):
    DEFAULT_NAMES[_n] = f"Internal Plane {_n - L.PLANE_FIRST + 1}"
for _n in range(1, 33):
    DEFAULT_NAMES[mechanical_layer_number(_n)] = f"Mechanical {_n}"


def read_layer_table(props: Properties) -> dict[int, LayerRef]:
    names = dict(DEFAULT_NAMES)
    kinds: dict[int, str] = {}
    for key, value in props.items():
        m = re.fullmatch(r"LAYER(\d+)(NAME|MECHKIND)", key)
        if m:
            number = int(m.group(1))
            (names if m.group(2) == "NAME" else kinds)[number] = value.strip()
    for key, value in props.items():
        m = re.fullmatch(r"LAYER_V8_(\d+)LAYERID", key)
        if not m:
            continue
        try:
            layer_id = int(value)
        except ValueError:
            continue
        mech = layer_id - MECH_V8_BASE
        if not 1 <= mech <= 32:
            continue
        number = mechanical_layer_number(mech)
        index = m.group(1)
        name = props.text(f"LAYER_V8_{index}NAME").strip()
        kind = props.text(f"LAYER_V8_{index}MECHKIND").strip()
        if name:
            names[number] = name
        if kind:
            kinds[number] = kind
    return {n: LayerRef(n, names.get(n, ""), kinds.get(n, "")) for n in set(names) | set(kinds)}
