"""Mapping rules: the editable decisions between the analysis and the conversion.

A YAML file people can review and edit; every distinct text is a version in the library database.

    schema: 1
    library_names: {"Fuse_Library": "Fuses"}        # source file stem -> KiCad nickname
    field_renames: {"Supplier 1": "Supplier"}        # part parameter -> KiCad field name
    layer_map: {"Mechanical 15": F.CrtYd}            # Altium layer -> KiCad layer (null: leave out)
    footprint_name_fixes:                            # per footprint library file name:
      "0603.PcbLib": {"0603 ": "0603"}               #   name a part uses -> name in the library

The conversion applies them: nicknames when libraries are named, the layer map through the
footprint writer's layer-map file, name fixes when parts are linked, field renames in the written
`.kicad_dbl`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

SCHEMA = 1


class MappingRulesError(Exception):
    """The rules file cannot be used (message names the file, key and problem)."""


@dataclass
class MappingRules:
    schema: int = SCHEMA
    generated_from: str = ""
    library_names: dict[str, str] = field(default_factory=dict)
    field_renames: dict[str, str] = field(default_factory=dict)
    layer_map: dict[str, str | None] = field(default_factory=dict)
    footprint_name_fixes: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_yaml(self) -> str:
        header = (
            "# altium2kicad mapping rules: edit, then pass this file as the run's 'mapping_rules' param.\n"
            "# Every distinct version is stored in the library database.\n"
        )
        return header + yaml.safe_dump(asdict(self), sort_keys=False, allow_unicode=True, width=120)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_yaml().encode("utf-8")).hexdigest()

    def nickname_for(self, stem: str) -> str:
        return self.library_names.get(stem, stem)

    def fixes_for(self, library_file: str) -> dict[str, str]:
        folded = {k.casefold(): v for k, v in self.footprint_name_fixes.items()}
        return folded.get(library_file.casefold(), {})


def load(path: Path) -> MappingRules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise MappingRulesError(f"{path}: cannot read mapping rules ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise MappingRulesError(f"{path}: not valid YAML: {exc}") from None
    return from_dict(data, path)


def from_dict(data: dict, path: Path) -> MappingRules:
    if not isinstance(data, dict):
        raise MappingRulesError(f"{path}: the rules must be a mapping")
    known = set(MappingRules.__dataclass_fields__)
    for key in data:
        if key not in known:
            raise MappingRulesError(f"{path}: {key}: unknown key (known: {', '.join(sorted(known))})")
    if data.get("schema", SCHEMA) != SCHEMA:
        raise MappingRulesError(
            f"{path}: schema: {data.get('schema')!r} is not supported (expected {SCHEMA})"
        )
    for key in ("library_names", "field_renames", "layer_map", "footprint_name_fixes"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise MappingRulesError(f"{path}: {key}: must be a mapping, not {type(value).__name__}")
        data[key] = {str(k): v for k, v in value.items()}
    for lib, fixes in data["footprint_name_fixes"].items():
        if not isinstance(fixes, dict):
            raise MappingRulesError(f"{path}: footprint_name_fixes.{lib}: must map old names to new names")
    if data["layer_map"]:
        import tempfile

        from converters.kicad.layers import LayerMapError, load_layer_map

        # checked by the footprint writer's own reader, through a scratch file: the rules' folder
        # may be read-only, and the scratch name is kept out of the message
        with tempfile.TemporaryDirectory() as scratch:
            probe = Path(scratch) / "layers.json"
            probe.write_text(json.dumps({"layers": data["layer_map"]}), encoding="utf-8")
            try:
                load_layer_map(probe)
            except LayerMapError as exc:
                raise MappingRulesError(f"{path}: layer_map: {str(exc).removeprefix(f'{probe}: ')}") from None
    return MappingRules(**{k: data.get(k, getattr(MappingRules(), k)) for k in known})


def generate(inventory) -> MappingRules:
    """Rules proposed from the inventory: identity names, no renames, layer defaults, name fixes."""
    from converters.naming import safe_library_name

    rules = MappingRules(generated_from=inventory.source)
    for path in inventory.units + inventory.libraries:
        stem = Path(path).stem
        rules.library_names.setdefault(stem, safe_library_name(stem))
    mechanical: set[str] = set()
    for lib in inventory.of_kind("library"):
        mechanical |= {n for n in lib.facts.get("layers", []) if n.lower().startswith("mechanical")}
    if mechanical:
        rules.layer_map = _default_layers(
            sorted(mechanical, key=lambda n: int(n.split()[-1]) if n.split()[-1].isdigit() else 0)
        )
    rules.footprint_name_fixes = _name_fixes(inventory)
    return rules


def _default_layers(names: list[str]) -> dict[str, str | None]:
    """What the footprint converter would do anyway, written out so people can change it."""
    try:
        from converters.kicad.layers import load_layer_map
        from converters.model.footprint import LayerRef
    except ImportError:
        return {}
    default = load_layer_map(None)
    result: dict[str, str | None] = {}
    for name in names:
        number = int(name.split()[-1])
        altium = 56 + number if number <= 16 else 1000 + number
        target, _ = default.lookup(LayerRef(altium, name))
        result[name] = target
    return result


def _name_fixes(inventory) -> dict[str, dict[str, str]]:
    """Parts naming a footprint their library does not hold under that name, but nearly."""
    names_by_file: dict[str, list[str]] = {}
    for fp in inventory.of_kind("footprint"):
        names_by_file.setdefault(Path(fp.library).name.casefold(), []).append(fp.item)
    # 70,000 parts name a handful of libraries: each library's names casefolded once
    known = {file: {n.casefold() for n in names} for file, names in names_by_file.items()}
    fixes: dict[str, dict[str, str]] = {}
    for part in inventory.of_kind("part"):
        for ref, raw in zip(
            part.facts.get("footprint_refs", []), part.facts.get("footprint_paths", []), strict=False
        ):
            file_name = raw.replace("\\", "/").rsplit("/", 1)[-1] if raw else ""
            names = names_by_file.get(file_name.casefold())
            if not names or ref.casefold() in known[file_name.casefold()]:
                continue
            if ref in fixes.get(file_name, {}):  # another part naming it: matched already
                continue
            close = difflib.get_close_matches(ref, names, n=1, cutoff=0.6)
            if close:
                fixes.setdefault(file_name, {})[ref] = close[0]
    return fixes


def write_layer_map(rules: MappingRules, folder: Path) -> Path | None:
    """The layer map as the footprint writer's mapping file (None when the rules have none)."""
    if not rules.layer_map:
        return None
    path = folder / "layer_map.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"layers": rules.layer_map}, indent=1), encoding="utf-8")
    return path


def rename_dbl_fields(dbl: Path, renames: dict[str, str]) -> int:
    """Applies field renames to a written .kicad_dbl (the names users see); returns how many."""
    if not renames:
        return 0
    data = json.loads(dbl.read_text(encoding="utf-8"))
    folded = {k.casefold(): v for k, v in renames.items()}
    count = 0
    for lib in data.get("libraries", []):
        for f in lib.get("fields", []):
            new = folded.get(str(f.get("name", "")).casefold())
            if new and new != f["name"]:
                f["name"] = new
                count += 1
    dbl.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return count
