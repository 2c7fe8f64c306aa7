"""Which KiCad layer an Altium layer becomes: a documented default map plus the user's mapping file.

Default (docs/footprints.md): copper and the paired technical layers map one to one; mechanical
layers the library declares as courtyard or assembly (by kind, or by a name saying so) become
F/B.CrtYd and F/B.Fab; other mechanical layers follow KiCad's own importer (1-11 -> User.1-11,
12 F.Fab, 13 B.Fab, 14-16 Eco2.User) and mechanical 17-32 become User.15-User.30.

A user mapping file (YAML or JSON) overrides any of it:

    layers:
      "Mechanical 15": F.CrtYd      # by layer name (case-insensitive)
      "CourtyardTop": F.CrtYd       # by mechanical kind
      "57": User.1                  # by Altium layer number
      "Mechanical 2": null          # leave items on this layer out (each one reported)

A layer neither map knows is reported and written to Eco1.User, never silently dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model.footprint import AltiumLayer as L
from ..model.footprint import LayerRef, mechanical_index

FALLBACK_LAYER = "Eco1.User"

_FIXED: dict[int, str] = {
    L.TOP: "F.Cu",
    L.BOTTOM: "B.Cu",
    L.TOP_OVERLAY: "F.SilkS",
    L.BOTTOM_OVERLAY: "B.SilkS",
    L.TOP_PASTE: "F.Paste",
    L.BOTTOM_PASTE: "B.Paste",
    L.TOP_SOLDER: "F.Mask",
    L.BOTTOM_SOLDER: "B.Mask",
    L.DRILL_GUIDE: "Dwgs.User",
    L.KEEP_OUT: "Margin",
    L.DRILL_DRAWING: "Dwgs.User",
}
_KINDS = {
    "courtyardtop": "F.CrtYd",
    "courtyardbottom": "B.CrtYd",
    "assemblytop": "F.Fab",
    "assemblybottom": "B.Fab",
}
_KICAD_MECH = {12: "F.Fab", 13: "B.Fab", 14: "Eco2.User", 15: "Eco2.User", 16: "Eco2.User"}
_VALID = re.compile(
    r"^(F|B)\.(Cu|SilkS|Paste|Mask|CrtYd|Fab|Adhes)$|^In([1-9]|[12]\d|30)\.Cu$|"
    r"^(Dwgs|Cmts|Eco1|Eco2)\.User$|^User\.([1-9]|[1-3]\d|4[0-5])$|^Edge\.Cuts$|^Margin$"
)


class LayerMapError(Exception):
    """The user's layer mapping file cannot be used."""


def is_kicad_layer(name: str) -> bool:
    return bool(_VALID.match(name))


def default_layer(layer: LayerRef) -> str | None:
    n = layer.number
    if n in _FIXED:
        return _FIXED[n]
    if L.MID_FIRST <= n <= L.MID_LAST:
        return f"In{n - L.MID_FIRST + 1}.Cu"
    mech = mechanical_index(n)
    if mech is None:
        return None
    kind = layer.kind.replace(" ", "").lower()
    if kind in _KINDS:
        return _KINDS[kind]
    name = layer.name.lower()
    side = "B" if "bottom" in name or "bot " in name else "F"
    if "courtyard" in name:
        return f"{side}.CrtYd"
    if "assembly" in name:
        return f"{side}.Fab"
    if mech <= 11:
        return f"User.{mech}"
    if mech <= 16:
        return _KICAD_MECH[mech]
    return f"User.{mech - 2}"


@dataclass
class LayerMap:
    """Default map plus user overrides (by number, name or kind; None = leave out)."""

    overrides: dict[str, str | None] = field(default_factory=dict)

    def lookup(self, layer: LayerRef) -> tuple[str | None, str | None]:
        """(KiCad layer or None to leave the item out, a message when the choice is worth reporting)."""
        for key in (str(layer.number), layer.name.lower(), layer.kind.lower()):
            if key and key in self.overrides:
                target = self.overrides[key]
                if target is None:
                    return None, f"layer '{layer.name or layer.number}' is mapped to nothing: item left out"
                return target, None
        target = default_layer(layer)
        if target is None:
            return FALLBACK_LAYER, (
                f"Altium layer '{layer.name or layer.number}' has no KiCad equivalent: "
                f"item written to {FALLBACK_LAYER}"
            )
        return target, None


def load_layer_map(path: Path | None) -> LayerMap:
    """Reads a YAML or JSON mapping file (see module docstring); None gives the default map."""
    if path is None:
        return LayerMap()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LayerMapError(f"{path}: cannot read layer map ({exc})") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise LayerMapError(
            f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'} ({exc})"
        ) from exc
    if isinstance(data, dict) and "layers" in data:
        data = data["layers"]
    if not isinstance(data, dict):
        raise LayerMapError(f"{path}: expected a mapping of Altium layer -> KiCad layer")
    overrides: dict[str, str | None] = {}
    for key, value in data.items():
        if value is not None and not is_kicad_layer(str(value)):
            raise LayerMapError(f"{path}: '{key}' maps to '{value}', which is not a KiCad footprint layer")
        overrides[str(key).strip().lower()] = None if value is None else str(value)
    return LayerMap(overrides)
