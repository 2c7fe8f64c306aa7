"""Reads an Altium .PcbLib into the neutral footprint model.

One storage per footprint: `Data` (the storage name, then primitives each led by a type byte and a
fixed number of length-prefixed subrecords), `Parameters` (PATTERN = the real name, which the
31-character storage name may truncate), `WideStrings` (Unicode texts) and
`ExtendedPrimitiveInformation` (mask/paste settings of regions). A primitive that cannot be read,
or whose type is unknown, costs itself (a warning), never the footprint; a footprint that cannot be
read at all becomes an ItemFailure, never the library.
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
    header = _library_properties(cf)
    library.layers = read_layer_table(header)
    library.models = read_models(cf, library.warnings)
    for storage in _footprint_storages(cf):
        try:
            library.footprints.append(read_footprint(cf, storage, library))
        except Exception as exc:  # one footprint never costs the library
            library.failures.append(
                ItemFailure(storage, f"{source_name}: footprint '{storage}': {type(exc).__name__}: {exc}")
            )
    return library


def _library_properties(cf: CompoundFile) -> Properties:
    stream = cf.read_optional("Library", "Data")
    if not stream or len(stream) < 4:
        return Properties()
    (n,) = struct.unpack_from("<I", stream, 0)
    return parse_properties(stream[4 : 4 + (n & 0xFFFFFF)])


def _footprint_storages(cf: CompoundFile) -> list[str]:
    """Storages holding a footprint, in the library's own order when it lists them."""
    found = [s for s in cf.storages() if s.casefold() not in _NOT_FOOTPRINTS and cf.has(s, "Data")]
    listed: list[str] = []
    stream = cf.read_optional("Library", "Data") or b""
    try:
        (n,) = struct.unpack_from("<I", stream, 0)
        pos = 4 + (n & 0xFFFFFF)
        (count,) = struct.unpack_from("<I", stream, pos)
        pos += 4
        for _ in range(min(count, 100_000)):
            (length,) = struct.unpack_from("<I", stream, pos)
            raw = stream[pos + 4 : pos + 4 + length]
            listed.append(raw[1 : 1 + raw[0]].decode("latin-1") if raw else "")
            pos += 4 + length
    except (struct.error, IndexError):
        pass
    by_fold = {s.casefold(): s for s in found}
    ordered = [by_fold.pop(name.casefold()) for name in listed if name.casefold() in by_fold]
    return ordered + sorted(by_fold.values())


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
