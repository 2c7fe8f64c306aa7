"""One symbol: the records of its `Data` stream (plus pin side streams) to a model Symbol.

A record that is unknown or cannot be parsed costs only that record (a warning on the symbol);
a symbol whose stream does not start with a component record raises SymbolError, which the
library reader turns into a failure row while the other symbols go on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ..model.symbol import Field, Implementation, Owner, Pin, Symbol, Text, TextBox
from .codes import SchRecord
from .records import Properties, parse_properties, split_records
from .schlib_common import Font, SymbolContext
from .schlib_pins import (
    PinRecordError,
    PinTextFonts,
    build_pin,
    parse_binary_pin,
    parse_pin_fracs,
    parse_pin_text_data,
    parse_pin_wide_text,
)
from .schlib_shapes import SHAPE_PARSERS
from .schlib_text import overbar_to_kicad, parse_field, parse_label, parse_text_frame

# free text (4) and text frames (28; 209 in some files): one graphic each
TEXT_GRAPHICS: dict[int, Callable[[Properties, Owner, SymbolContext], Text | TextBox]] = {
    SchRecord.LABEL: parse_label,
    SchRecord.TEXT_FRAME: parse_text_frame,
    SchRecord.NOTE: parse_text_frame,
}


class SymbolError(Exception):
    """The symbol's records cannot make a symbol at all."""


RESERVED_FIELDS = ("Reference", "Value", "Footprint", "Datasheet", "Description")
IMPLEMENTATION_CHILDREN = {
    SchRecord.MAP_DEFINER_LIST,
    SchRecord.MAP_DEFINER,
    SchRecord.IMPLEMENTATION_PARAMETERS,
}
RECORD_NAMES: dict[int, str] = {kind: kind.name.lower().replace("_", " ") for kind in SchRecord}
RECORD_NAMES[SchRecord.IEEE_SYMBOL] = "IEEE symbol"


class _Builder:
    """Collects what the records of one symbol say, then assembles the Symbol."""

    def __init__(self, component: Properties, fonts: list[Font], fallback_name: str) -> None:
        self.name = component.text("LIBREFERENCE") or component.text("DESIGNITEMID") or fallback_name
        modes = max(component.integer("DISPLAYMODECOUNT", 1), 1)
        self.ctx = SymbolContext(fonts=fonts, display_modes=min(modes, 2))
        self.symbol = Symbol(
            name=self.name,
            description=component.text("COMPONENTDESCRIPTION"),
            unit_count=max(component.integer("PARTCOUNT", 2) - 1, 1),
            body_styles=2 if modes >= 2 else 1,
        )
        self.modes = modes
        self.notes: list[str] = []
        self.dropped_modes = 0
        self.designator: Field | None = None
        self.parameters: list[Field] = []
        self.pins_by_record: dict[int, Pin] = {}
        self.pin_params: dict[int, dict[str, str]] = {}
        self.implementations: dict[int, Implementation] = {}
        self.impl_children: dict[int, int] = {}  # record index of 46/47/48 -> implementation record

    # -- records --------------------------------------------------------------------------
    def add(self, index: int, props: Properties, frac=None, wide=None, text_fonts=None) -> None:
        kind = props.integer("RECORD", -1)
        if kind == SchRecord.PIN:
            pin, notes = build_pin(props, self.ctx, frac, wide, text_fonts)
            self.notes += notes
            if pin is None:
                self.dropped_modes += 1
            else:
                self.symbol.pins.append(pin)
                self.pins_by_record[index] = pin
        elif kind in SHAPE_PARSERS or kind in TEXT_GRAPHICS:
            owner = self.ctx.owner(props)
            if owner is None:
                self.dropped_modes += 1
            elif kind in SHAPE_PARSERS:
                self.symbol.graphics += SHAPE_PARSERS[kind](props, owner, self.notes)
            else:
                self.symbol.graphics.append(TEXT_GRAPHICS[kind](props, owner, self.ctx))
        elif kind == SchRecord.DESIGNATOR:
            self.designator = parse_field(props, self.ctx)
        elif kind == SchRecord.PARAMETER:
            self._parameter(props)
        elif kind == SchRecord.IMPLEMENTATION_LIST:
            pass  # the list only owns the implementations that follow
        elif kind == SchRecord.IMPLEMENTATION:
            self.implementations[index] = Implementation(
                kind=props.text("MODELTYPE"),
                name=props.text("MODELNAME"),
                library=props.text("MODELDATAFILE0"),
                description=props.text("DESCRIPTION"),
                current=props.boolean("ISCURRENT"),
            )
        elif kind in IMPLEMENTATION_CHILDREN:
            self._implementation_child(index, props)
        elif kind == SchRecord.IEEE_SYMBOL:
            self.notes.append(f"IEEE symbol {props.integer('SYMBOL')} not drawn (KiCad has no IEEE symbols)")
        elif kind == SchRecord.IMAGE:
            name = props.text("FILENAME") or "embedded image"
            how = "embedded" if props.boolean("EMBEDIMAGE") else "linked"
            self.notes.append(f"image '{name}' ({how}) not converted: KiCad 9 symbols cannot hold images")
        else:
            self.notes.append(f"record {index}: unknown record type {props.text('RECORD') or '?'} skipped")

    def _parameter(self, props: Properties) -> None:
        owner = props.integer("OWNERINDEX", 0)
        if owner > 0:
            parent = self.impl_children.get(owner, owner)
            if parent in self.implementations:
                self.implementations[parent].parameters[props.text("NAME")] = props.text("TEXT")
            else:
                self.pin_params.setdefault(owner, {})[props.text("NAME")] = props.text("TEXT")
            return
        self.parameters.append(parse_field(props, self.ctx))

    def _implementation_child(self, index: int, props: Properties) -> None:
        owner = props.integer("OWNERINDEX", -1)
        parent = self.impl_children.get(owner, owner)
        self.impl_children[index] = parent
        impl = self.implementations.get(parent)
        if impl is None:
            return
        for key in ("DESINTF", "DESIMPCOUNT"):
            if key in props:
                impl.parameters[key] = props[key]
        for i in range(props.integer("DESIMPCOUNT")):
            impl.parameters[f"DESIMP{i}"] = props.text(f"DESIMP{i}")

    # -- assembly -------------------------------------------------------------------------
    def finish(self) -> Symbol:
        symbol = self.symbol
        symbol.implementations = list(self.implementations.values())
        symbol.fields = self._fields()
        self._hidden_net_notes()
        units = [i.owner.unit for i in [*symbol.pins, *symbol.graphics]]
        if units and max(units) > symbol.unit_count:
            self.notes.append(f"items for part {max(units)} beyond the {symbol.unit_count} parts declared")
            symbol.unit_count = max(units)
        if self.modes > 2:
            self.notes.append(
                f"{self.modes} display modes: modes 1 and 2 kept as KiCad body styles, "
                f"{self.dropped_modes} items of the other modes dropped"
            )
        symbol.warnings = _counted(self.notes)
        return symbol

    def _resolve(self, text: str) -> str:
        """Altium's '=Name' refers to another parameter of the component."""
        if text.startswith("="):
            wanted = text[1:].strip().casefold()
            for param in self.parameters:
                if param.name.casefold() == wanted and not param.value.startswith("="):
                    return param.value
        return text

    def _fields(self) -> list[Field]:
        params = {p.name.casefold(): p for p in self.parameters}
        ref = self.designator or Field("Reference", "U", hidden=False)
        ref = Field(
            "Reference", overbar_to_kicad(ref.value.rstrip("?")) or "U", ref.position, ref.style, ref.hidden
        )
        comment = params.get("comment")
        if comment is not None and comment.value.strip() in ("", "*"):
            comment = None  # an empty or '*' comment carries nothing
        value_source = comment or params.get("value")
        used: set[int] = set()
        if value_source is not None:
            used.add(id(value_source))
            text = self._resolve(value_source.value)
            if text.startswith("="):
                self.notes.append(
                    f"Value '{text}' names a parameter the library does not hold (a database "
                    f"column?); written as the symbol name"
                )
                text = self.name
            value = Field("Value", text, value_source.position, value_source.style, value_source.hidden)
            if value_source.value.strip().startswith("="):
                target = params.get(value_source.value.strip()[1:].strip().casefold())
                if target is not None:
                    used.add(id(target))  # its text is now the Value
        else:
            value = Field("Value", self.name, ref.position, ref.style, hidden=True)
        footprint = Field("Footprint", self.symbol.footprint_model, hidden=True)
        datasheet_param = params.get("datasheet")
        link = next(
            (
                params[k]
                for k in ("datasheet", "datasheet url", "datasheeturl", "componentlink1url")
                if k in params and params[k].value.strip()
            ),
            None,
        )
        datasheet = Field("Datasheet", link.value.strip() if link else "", hidden=True)
        if datasheet_param is not None:
            used.add(id(datasheet_param))
        description = Field("Description", self.symbol.description, hidden=True)
        fields = [ref, value, footprint, datasheet, description]
        taken = {f.name.casefold() for f in fields}
        for param in self.parameters:
            if id(param) in used or param.name.casefold() == "comment":
                continue
            name = param.name.strip() or "Parameter"
            if name.casefold() in taken:
                name = f"Altium {name}"
            base, n = name, 1
            while name.casefold() in taken:
                n += 1
                name = f"{base} {n}"
            taken.add(name.casefold())
            text = self._resolve(param.value)
            if text.startswith("=") and len(text) > 1:
                text = "${" + text[1:].strip() + "}"  # KiCad's text variable for another field
            fields.append(Field(name, text, param.position, param.style, param.hidden))
        filters = [i.name for i in self.symbol.footprints if i.name]
        if filters:
            fields.append(
                Field(
                    "ki_fp_filters",
                    " ".join(dict.fromkeys(f.replace(" ", "_") for f in filters)),
                    hidden=True,
                )
            )
        return fields

    def _hidden_net_notes(self) -> None:
        for index, params in self.pin_params.items():
            pin = self.pins_by_record.get(index)
            net = next((v for k, v in params.items() if k.casefold() == "hiddennetname"), "")
            if pin is not None and net and pin.hidden and net != pin.name:
                self.notes.append(
                    f"hidden pin {pin.number} joins net '{net}' in Altium; KiCad joins hidden "
                    f"power pins by pin name '{pin.name}'"
                )


def _counted(notes: list[str]) -> list[str]:
    counts = Counter(notes)
    return [f"{n} x {note}" if n > 1 else note for note, n in counts.items()]


def read_symbol(
    data: bytes,
    fonts: list[Font],
    fallback_name: str,
    pin_frac: bytes | None = None,
    pin_wide_text: bytes | None = None,
    pin_text_data: bytes | None = None,
) -> Symbol:
    """The Symbol held by one storage's `Data` stream and its optional pin side streams."""
    records, framing_error = split_records(data)
    if not records:
        raise SymbolError(f"no records in Data ({framing_error or 'empty stream'})")
    first = records[0]
    component = Properties() if first.binary else parse_properties(first.payload)
    if component.integer("RECORD", -1) != SchRecord.COMPONENT:
        raise SymbolError("Data does not start with a component record (RECORD=1)")
    builder = _Builder(component, fonts, fallback_name)
    if framing_error:
        builder.notes.append(f"Data stream damaged: {framing_error}; the records before it were kept")
    fracs: dict[int, tuple[int, int, int]] = {}
    wide: dict[int, Properties] = {}
    text_fonts: dict[int, PinTextFonts] = {}
    if pin_frac:
        fracs, problems = parse_pin_fracs(pin_frac)
        builder.notes += [f"PinFrac {p}" for p in problems]
    if pin_wide_text:
        wide, problems = parse_pin_wide_text(pin_wide_text)
        builder.notes += [f"PinWideText {p}" for p in problems]
    if pin_text_data:
        text_fonts, problems = parse_pin_text_data(pin_text_data)
        builder.notes += [f"PinTextData {p}" for p in problems]
    pin_ordinal = 0
    for rec in records[1:]:
        props = None
        try:
            if rec.binary:
                props = parse_binary_pin(rec.payload)
            else:
                props = parse_properties(rec.payload)
            is_pin = props.integer("RECORD", -1) == SchRecord.PIN
            ordinal = pin_ordinal
            pin_ordinal += is_pin
            if is_pin:
                builder.add(rec.index, props, fracs.get(ordinal), wide.get(ordinal), text_fonts.get(ordinal))
            else:
                builder.add(rec.index, props)
        except PinRecordError as exc:
            pin_ordinal += 1
            builder.notes.append(f"record {rec.index}: damaged pin skipped ({exc})")
        except Exception as exc:  # one bad record costs only itself
            kind = RECORD_NAMES.get(props.integer("RECORD", -1), "record") if props else "record"
            builder.notes.append(f"record {rec.index} ({kind}) skipped: {type(exc).__name__}: {exc}")
    return builder.finish()
