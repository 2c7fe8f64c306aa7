"""KiCad 9 embedded files: `(embedded_files (file (name) (type model) (data |base64 zstd|) (checksum)))`.

KiCad stores each file zstd-compressed (level 15) and base64-encoded in lines of 76 characters. The
checksum is KiCad's streaming MurmurHash3 x64-128 of the *uncompressed* bytes with seed 0xABBA2345,
printed as 32 upper-case hex digits (h1 then h2). KiCad's streaming form differs from the reference
MurmurHash3 in its tail: the last partial block is zero-padded to whole 4-byte words (a multiple of
four gets four more zero bytes), the padded length is what is mixed into the final hash, and a
padded tail of 16 bytes is never hashed at all. A checksum that differs makes KiCad drop the file,
so this reproduces that exactly (checked against every embedded model in KiCad's own conversions).
"""

from __future__ import annotations

import base64
import struct

from .sexpr import Symbol, node

SEED = 0xABBA2345
LINE_LENGTH = 76
ZSTD_LEVEL = 15
_MASK = (1 << 64) - 1
_C1, _C2 = 0x87C37B91114253D5, 0x4CF5AD432745937F


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    k ^= k >> 33
    return k


def _mix_k1(k1: int) -> int:
    return (_rotl((k1 * _C1) & _MASK, 31) * _C2) & _MASK


def _mix_k2(k2: int) -> int:
    return (_rotl((k2 * _C2) & _MASK, 33) * _C1) & _MASK


def kicad_murmur3(data: bytes, seed: int = SEED) -> tuple[int, int]:
    """(h1, h2) as KiCad's MMH3_HASH computes them for one `add()` of `data`."""
    h1 = h2 = seed
    blocks = len(data) // 16
    for k1, k2 in struct.iter_unpack("<QQ", data[: blocks * 16]):
        h1 ^= _mix_k1(k1)
        h1 = ((_rotl(h1, 27) + h2) * 5 + 0x52DCE729) & _MASK
        h2 ^= _mix_k2(k2)
        h2 = ((_rotl(h2, 31) + h1) * 5 + 0x38495AB5) & _MASK
    rest = len(data) - blocks * 16
    padded = rest + (4 - rest % 4) if rest else 0
    if 0 < padded < 16:  # the padding is zeros, so only the real bytes count
        k1, k2 = struct.unpack("<QQ", data[blocks * 16 :] + bytes(16 - rest))
        if padded > 8:
            h2 ^= _mix_k2(k2)
        h1 ^= _mix_k1(k1)
    length = (blocks * 16 + padded) & 0xFFFFFFFF  # KiCad counts in a uint32
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return h1, h2


def checksum(data: bytes) -> str:
    """The `(checksum ...)` KiCad 9 expects for a file's uncompressed bytes."""
    h1, h2 = kicad_murmur3(data)
    return f"{h1:016X}{h2:016X}"


def encode(data: bytes) -> list[str]:
    """zstd (level 15, with the content size KiCad needs to decompress) + base64, in 76-character lines."""
    import zstandard

    packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True).compress(data)
    text = base64.b64encode(packed).decode("ascii")
    return [text[i : i + LINE_LENGTH] for i in range(0, len(text), LINE_LENGTH)]


def embedded_file(name: str, data: bytes, kind: str = "model") -> list:
    """One `(file ...)` entry; KiCad skips empty files, so callers should not embed them."""
    lines = encode(data) or [""]
    return node(
        "file",
        node("name", name),
        node("type", Symbol(kind)),
        node("data", Symbol("|" + "\n".join(lines) + "|")),
        node("checksum", checksum(data)),
    )
