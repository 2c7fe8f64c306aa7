"""The layer table a PcbLib declares in `Library/Data`: names and mechanical kinds per layer.

Altium numbers layers 1-82 in primitives (57-72 = Mechanical 1-16). Newer files also list layers by
a 32-bit id (`LAYER_V8_<i>LAYERID`, 0x01020000 + n for Mechanical n, up to 32), with the names and
kinds ("CourtyardTop", "AssemblyBottom"...) the user gave them. Mechanical layers above 16 get
numbers 1000 + n here.
"""

from __future__ import annotations

import re

from ..model.footprint import LayerRef
from .records import Properties

MECH_V8_BASE = 0x01020000
DEFAULT_NAMES = {
    1: "Top Layer",
    32: "Bottom Layer",
    33: "Top Overlay",
    34: "Bottom Overlay",
    35: "Top Paste",
    36: "Bottom Paste",
    37: "Top Solder",
    38: "Bottom Solder",
    55: "Drill Guide",
    56: "Keep-Out Layer",
    73: "Drill Drawing",
    74: "Multi-Layer",
}
for _n in range(2, 32):
    DEFAULT_NAMES[_n] = f"Mid-Layer {_n - 1}"
for _n in range(39, 55):
    DEFAULT_NAMES[_n] = f"Internal Plane {_n - 38}"
for _n in range(1, 33):
    DEFAULT_NAMES[56 + _n if _n <= 16 else 1000 + _n] = f"Mechanical {_n}"


def mechanical_number(layer: int) -> int | None:
    """Mechanical layer n (1-32) for an Altium layer number, else None."""
    if 57 <= layer <= 72:
        return layer - 56
    if 1017 <= layer <= 1032:
        return layer - 1000
    return None


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
        number = 56 + mech if mech <= 16 else 1000 + mech
        index = m.group(1)
        name = props.text(f"LAYER_V8_{index}NAME").strip()
        kind = props.text(f"LAYER_V8_{index}MECHKIND").strip()
        if name:
            names[number] = name
        if kind:
            kinds[number] = kind
    return {n: LayerRef(n, names.get(n, ""), kinds.get(n, "")) for n in set(names) | set(kinds)}
