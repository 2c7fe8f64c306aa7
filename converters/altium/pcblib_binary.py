"""Little-endian cursor over a PcbLib primitive, and the one place PCB units become millimetres.

Altium stores PCB coordinates as int32 in 1/10000 mil. KiCad converts them with
`KiROUND(value * 2.54)` to integer nanometres and then rounds to the nearest 10 nm (which makes
0.05 mil and 0.01 um steps exact); doing the same here keeps every coordinate equal to what KiCad
itself computes. Y is flipped by the callers that read points.
"""

from __future__ import annotations

import math
import struct


class PrimitiveError(Exception):
    """A primitive's bytes end early or hold impossible values."""


def kiround(value: float) -> int:
    """Round half away from zero, as KiCad's KiROUND does."""
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def to_mm(internal: float) -> float:
    """1/10000 mil to millimetres, rounded to 10 nm as KiCad rounds it."""
    nanometres = kiround(internal * 2.54)
    return kiround(nanometres / 10.0) * 10 / 1_000_000


def mil_text_to_mm(text: str, default: float = 0.0) -> float:
    """A property such as '31.4961mil' (also 'mm') to millimetres."""
    value = text.strip()
    try:
        if value.lower().endswith("mil"):
            return to_mm(float(value[:-3]) * 10000)
        if value.lower().endswith("mm"):
            return round(float(value[:-2]), 6)
        return to_mm(float(value) * 10000) if value else default
    except ValueError:
        return default


class Cursor:
    """Reads fixed-size fields from one subrecord; running past its end raises PrimitiveError."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise PrimitiveError(f"needs {size} bytes at offset {self.pos}, only {self.remaining} left")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def u8(self) -> int:
        return self._take("<B")

    def u16(self) -> int:
        return self._take("<H")

    def u32(self) -> int:
        return self._take("<I")

    def i32(self) -> int:
        return self._take("<i")

    def f64(self) -> float:
        value = self._take("<d")
        if math.isnan(value) or math.isinf(value):
            raise PrimitiveError(f"not a number at offset {self.pos - 8}")
        return value

    def skip(self, count: int) -> None:
        if self.pos + count > len(self.data):
            raise PrimitiveError(f"cannot skip {count} bytes at offset {self.pos}")
        self.pos += count

    def raw(self, count: int) -> bytes:
        self.skip(count)
        return self.data[self.pos - count : self.pos]

    def length(self) -> float:
        return to_mm(self.i32())

    def point(self) -> tuple[float, float]:
        """A board point, Y flipped to KiCad's axis."""
        x = to_mm(self.i32())
        y = -to_mm(self.i32())
        return (x, y + 0.0)

    def pascal_string(self) -> str:
        n = self.u8()
        return self.raw(n).decode("latin-1")

    def properties_block(self) -> bytes:
        """A uint32-length-prefixed `|KEY=VALUE|` block."""
        n = self.u32()
        return self.raw(n)


def split_primitive_subrecords(stream: bytes, pos: int, count: int) -> tuple[list[bytes], int]:
    """`count` subrecords (uint32 length + bytes) starting at `pos`; returns them and the end."""
    subs: list[bytes] = []
    for _ in range(count):
        if pos + 4 > len(stream):
            raise PrimitiveError(f"subrecord header past the end of the stream at byte {pos}")
        (n,) = struct.unpack_from("<I", stream, pos)
        if pos + 4 + n > len(stream):
            raise PrimitiveError(
                f"subrecord at byte {pos} claims {n} bytes, only {len(stream) - pos - 4} remain"
            )
        subs.append(stream[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return subs, pos
