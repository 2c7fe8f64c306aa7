"""Reads an Altium .PcbLib into the neutral footprint model.

One storage per footprint: `Data` (the storage name, then primitives each led by a type byte and a
fixed number of length-prefixed subrecords), `Parameters` (PATTERN = the real name, which the
31-character storage name may truncate), `WideStrings` (Unicode texts) and
`ExtendedPrimitiveInformation` (mask/paste settings of regions). A primitive that cannot be read,
or whose type is unknown, costs itself (a warning), never the footprint; a footprint that cannot be
read at all becomes an ItemFailure, never the library. A file that yields no footprint gets a loss
(a failed library row), and footprints `Library/Data` lists beyond what the file holds a warning, so
a damaged library never vanishes silently.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..model.footprint import ExpansionMode, Footprint, FootprintLibrary, LayerRef
from ..problems import ItemFailure
from .compound import CompoundFile, NotAnAltiumLibrary
from .pcblib_binary import PrimitiveError, mil_text_to_mm, split_primitive_subrecords
from .pcblib_layers import read_layer_table
from .pcblib_models import read_models
from .pcblib_primitives import (
    SUBRECORDS,
    TYPE_NAMES,
    parse_arc,
    parse_body,
    parse_extended_info,
    parse_fill,
    parse_pad,
    parse_region,
    parse_text,
    parse_track,
    parse_via,
    parse_wide_strings,
)
from .records import Properties, parse_properties, text_records

# Altium's default design rules, used where a pad says "from rule" (a library carries no rules).
DEFAULT_MASK_EXPANSION = 0.1016  # 4 mil
DEFAULT_PASTE_EXPANSION = 0.0
_NOT_FOOTPRINTS = {"library", "fileversioninfo"}


class PcbLibError(Exception):
    """The file as a whole cannot be read as a footprint library."""


def read_pcblib(path: Path) -> FootprintLibrary:
    return read_pcblib_data(path.read_bytes(), str(path))


def read_pcblib_data(data: bytes, source_name: str) -> FootprintLibrary:
    try:
        cf = CompoundFile(data, source_name)
    except NotAnAltiumLibrary as exc:
        raise PcbLibError(str(exc)) from exc
    name = Path(source_name.replace("\\", "/")).stem
    library = FootprintLibrary(name=name, source=source_name)
    header = _library_properties(cf, library)
    library.layers = read_layer_table(header)
    try:
        library.models = read_models(cf, library.warnings)
    except Exception as exc:  # damaged model streams cost the models, never the footprints
        library.warnings.append(
            f"Library/Models could not be read ({type(exc).__name__}: {exc}): no 3D models"
        )
    listed = _listed_footprints(cf, library)
    for storage in _footprint_storages(cf, listed, library):
        if not cf.has(storage, "Data"):
            library.failures.append(
                ItemFailure(storage, f"{source_name}: footprint '{storage}': its storage has no Data stream")
            )
            continue
        try:
            library.footprints.append(read_footprint(cf, storage, library))
        except Exception as exc:  # one footprint never costs the library
            library.failures.append(
                ItemFailure(storage, f"{source_name}: footprint '{storage}': {type(exc).__name__}: {exc}")
            )
    if not library.footprints and not library.failures:
        said = f"its Library/Data lists {len(listed)}" if listed else "its Library/Data lists none"
        damage = "; ".join(library.warnings) or "the file holds no footprint storage"
        library.losses.append(f"{source_name}: no footprint could be read ({said}; {damage})")
        library.warnings.clear()  # they are in the loss's message: one row says it all
    return library


def _library_properties(cf: CompoundFile, library: FootprintLibrary) -> Properties:
    try:
        stream = cf.read_optional("Library", "Data")
    except Exception as exc:  # olefile's errors on damaged sectors vary
        library.warnings.append(f"Library/Data could not be read ({type(exc).__name__}: {exc})")
        return Properties()
    if stream is None:
        library.warnings.append("no Library/Data stream (damaged file?): no layer names, no footprint list")
        return Properties()
    if len(stream) < 4:
        library.warnings.append(f"Library/Data is {len(stream)} bytes long (damaged)")
        return Properties()
    (n,) = struct.unpack_from("<I", stream, 0)
    if 4 + (n & 0xFFFFFF) > len(stream):
        library.warnings.append(
            f"Library/Data: its properties claim {n & 0xFFFFFF} bytes but only {len(stream) - 4} remain "
            f"(damaged): no footprint list"
        )
    return parse_properties(stream[4 : 4 + (n & 0xFFFFFF)])


def _listed_footprints(cf: CompoundFile, library: FootprintLibrary) -> list[str]:
    """The footprint names Library/Data lists after its properties: a uint32 count, then per
    footprint a block (uint32 length) holding a Pascal string."""
    try:
        stream = cf.read_optional("Library", "Data") or b""
    except Exception:  # reported by _library_properties
        return []
    listed: list[str] = []
    count = 0
    try:
        (n,) = struct.unpack_from("<I", stream, 0)
        pos = 4 + (n & 0xFFFFFF)
        if pos > len(stream):
            return []
        (count,) = struct.unpack_from("<I", stream, pos)
        pos += 4
        for _ in range(min(count, 100_000)):
            (length,) = struct.unpack_from("<I", stream, pos)
            raw = stream[pos + 4 : pos + 4 + length]
            if len(raw) < length:
                raise IndexError
            listed.append(raw[1 : 1 + raw[0]].decode("latin-1") if raw else "")
            pos += 4 + length
    except (struct.error, IndexError):
        if stream:
            library.warnings.append(
                f"Library/Data: its footprint list ends after {len(listed)} of {count} names (damaged)"
            )
    return listed


def _footprint_storages(cf: CompoundFile, listed: list[str], library: FootprintLibrary) -> list[str]:
    """Storages holding a footprint, in the library's own order when it lists them; footprints the
    list names beyond what the file holds are reported once on the library."""
    found = [s for s in cf.storages() if s.casefold() not in _NOT_FOOTPRINTS]
    by_fold = {s.casefold(): s for s in found}
    ordered, unmatched = [], []
    for name in listed:
        storage = by_fold.pop(name.casefold(), None) or by_fold.pop(_storage_name(name).casefold(), None)
        if storage is None:
            unmatched.append(name)
        else:
            ordered.append(storage)
    missing = len(listed) - len(found)
    if missing > 0:
        shown = ", ".join(f"'{m}'" for m in unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
        library.warnings.append(
            f"Library/Data lists {len(listed)} footprint(s), the file holds {len(found)}: "
            f"{missing} not in the library ({shown})"
        )
    return ordered + sorted(by_fold.values())


def _storage_name(name: str) -> str:
    """Altium's storage name for a footprint without a section key: 31 characters, '/' replaced."""
    return name[:31].replace("/", "_")


def read_footprint(cf: CompoundFile, storage: str, library: FootprintLibrary) -> Footprint:
    params_stream = cf.read_optional(storage, "Parameters") or b""
    params = Properties()
    for _raw, props in text_records(params_stream)[0]:
        params.update(props)
    stream = cf.read(storage, "Data")
    subs, pos = split_primitive_subrecords(stream, 0, 1)
    stored_name = subs[0][1 : 1 + subs[0][0]].decode("latin-1") if subs[0] else storage
    name = params.text("PATTERN").strip() or stored_name or storage
    footprint = Footprint(
        name=name, description=params.text("DESCRIPTION"), storage=storage, parameters=dict(params)
    )
    if params.text("HEIGHT"):
        footprint.height = mil_text_to_mm(params.text("HEIGHT"))
    wide = parse_wide_strings(cf.read_optional(storage, "WideStrings") or b"")
    extended = parse_extended_info(cf.read_optional(storage, "ExtendedPrimitiveInformation", "Data") or b"")
    _read_primitives(stream, pos, footprint, library, wide, extended)
    return footprint


def _read_primitives(
    stream: bytes, pos: int, fp: Footprint, library: FootprintLibrary, wide: dict[int, str], extended: dict
) -> None:
    layer_of = library.layer
    index = 0
    counters: dict[int, int] = {}
    while pos + 4 <= len(stream):
        kind = stream[pos]
        start = pos
        if kind not in SUBRECORDS:
            try:
                pos = _skip_unknown(stream, pos + 1)
            except PrimitiveError as exc:
                fp.warnings.append(
                    f"primitive {index} has unknown type {kind} and the rest of the footprint "
                    f"could not be resynchronised ({exc}); later primitives lost"
                )
                return
            fp.warnings.append(f"primitive {index} (byte {start}) has unknown type {kind}: skipped")
            index += 1
            continue
        try:
            subs, pos = split_primitive_subrecords(stream, pos + 1, SUBRECORDS[kind])
        except PrimitiveError as exc:
            fp.warnings.append(
                f"{TYPE_NAMES[kind]} {index} is cut short ({exc}); the rest of the footprint is lost"
            )
            return
        per_type = counters.get(kind, 0)
        counters[kind] = per_type + 1
        try:
            _add_primitive(kind, subs, fp, layer_of, wide, extended, per_type)
        except (PrimitiveError, struct.error, IndexError, ValueError) as exc:
            fp.warnings.append(f"{TYPE_NAMES[kind]} {index} could not be read ({exc}): skipped")
        index += 1


def _skip_unknown(stream: bytes, pos: int) -> int:
    """Skips the subrecords of an unknown primitive until a known primitive plausibly starts."""
    for _ in range(16):
        _subs, pos = split_primitive_subrecords(stream, pos, 1)
        if pos >= len(stream) - 3:
            return len(stream)
        kind = stream[pos]
        if kind in SUBRECORDS:
            try:
                split_primitive_subrecords(stream, pos + 1, SUBRECORDS[kind])
                return pos
            except PrimitiveError:
                continue
    raise PrimitiveError("no known primitive found after 16 subrecords")


def _add_primitive(
    kind: int, subs: list[bytes], fp: Footprint, layer_of, wide, extended, per_type: int
) -> None:
    if kind == 1:
        fp.arcs.append(parse_arc(subs[0], layer_of))
    elif kind == 2:
        pad = parse_pad(subs, layer_of, fp.warnings)
        if pad.mask_mode == ExpansionMode.RULE:
            pad.mask_expansion = DEFAULT_MASK_EXPANSION
        if pad.paste_mode == ExpansionMode.RULE:
            pad.paste_expansion = DEFAULT_PASTE_EXPANSION
        fp.pads.append(pad)
    elif kind == 3:
        fp.vias.append(parse_via(subs[0], layer_of))
    elif kind == 4:
        fp.lines.append(parse_track(subs[0], layer_of))
    elif kind == 5:
        fp.texts.append(parse_text(subs, layer_of, wide))
    elif kind == 6:
        fp.fills.append(parse_fill(subs[0], layer_of))
    elif kind == 11:
        region = parse_region(subs[0], layer_of)
        info = extended.get(("region", per_type))
        if info:
            modes = {"none": ExpansionMode.NONE, "rule": ExpansionMode.RULE, "manual": ExpansionMode.MANUAL}
            region.mask_mode = modes.get(info.text("SOLDERMASKEXPANSIONMODE").lower())
            region.paste_mode = modes.get(info.text("PASTEMASKEXPANSIONMODE").lower())
            region.mask_expansion = mil_text_to_mm(info.text("SOLDERMASKEXPANSION_MANUAL"))
            region.paste_expansion = mil_text_to_mm(info.text("PASTEMASKEXPANSION_MANUAL"))
        fp.regions.append(region)
    elif kind == 12:
        fp.bodies.append(parse_body(subs[0], layer_of))


__all__ = ["read_pcblib", "read_pcblib_data", "PcbLibError", "LayerRef"]
