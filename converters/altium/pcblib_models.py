"""Embedded 3D models of a PcbLib: `Library/Models/Data` lists them, `Library/Models/<n>` holds
each one zlib-compressed (usually STEP)."""

from __future__ import annotations

import zlib

from ..model.footprint import EmbeddedModel
from .compound import CompoundFile
from .pcblib_binary import mil_text_to_mm
from .records import text_records


def read_models(cf: CompoundFile, warnings: list[str]) -> dict[str, EmbeddedModel]:
    stream = cf.read_optional("Library", "Models", "Data")
    models: dict[str, EmbeddedModel] = {}
    if not stream:
        return models
    records, problems = text_records(stream)
    warnings += [f"Library/Models/Data: {p}" for p in problems]
    for index, (_raw, props) in enumerate(records):
        model_id = props.text("ID")
        name = props.text("NAME").strip() or f"model_{index}"
        if not props.boolean("EMBED", True):
            continue
        packed = cf.read_optional("Library", "Models", str(index))
        if packed is None:
            warnings.append(f"3D model '{name}': listed but its stream Library/Models/{index} is missing")
            continue
        try:
            data = zlib.decompress(packed)
        except zlib.error:
            data = packed  # some writers store models uncompressed
        models[model_id] = EmbeddedModel(
            model_id,
            name,
            data,
            (props.number("ROTX"), props.number("ROTY"), props.number("ROTZ")),
            mil_text_to_mm(props.text("DZ")),
        )  # a bare number is mils
    return models
