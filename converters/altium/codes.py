"""Altium's numeric codes, named: record kinds of SchLib and PcbLib streams and pin markers.

As KiCad's importer names them (`ALTIUM_SCH_RECORD`, `ALTIUM_RECORD`): a reader says
`SchRecord.PIN`, never `2`. Layer numbers live with the model (`model.footprint.AltiumLayer`),
since the layer map on the writer side reads them too.
"""

from __future__ import annotations

from enum import IntEnum


class SchRecord(IntEnum):
    """`RECORD=` of a SchLib symbol's records."""

    COMPONENT = 1
    PIN = 2
    IEEE_SYMBOL = 3
    LABEL = 4
    BEZIER = 5
    POLYLINE = 6
    POLYGON = 7
    ELLIPSE = 8
    PIE = 9
    ROUND_RECTANGLE = 10
    ELLIPTICAL_ARC = 11
    ARC = 12
    LINE = 13
    RECTANGLE = 14
    TEXT_FRAME = 28
    IMAGE = 30
    DESIGNATOR = 34
    PARAMETER = 41
    IMPLEMENTATION_LIST = 44
    IMPLEMENTATION = 45
    MAP_DEFINER_LIST = 46
    MAP_DEFINER = 47
    IMPLEMENTATION_PARAMETERS = 48
    NOTE = 209


class PcbPrimitive(IntEnum):
    """The type byte that starts each primitive of a PcbLib footprint's `Data` stream."""

    ARC = 1
    PAD = 2
    VIA = 3
    TRACK = 4
    TEXT = 5
    FILL = 6
    REGION = 11
    COMPONENT_BODY = 12


class PinMarker(IntEnum):
    """Pin symbols at the inner/outer edge of a SchLib pin (`SYMBOL_INNEREDGE`, ...)."""

    DOT = 1
    CLOCK = 3
    ACTIVE_LOW_INPUT = 4
    NOT_LOGIC = 6
    ACTIVE_LOW_OUTPUT = 17
