"""KiCad 9 embedded files: `(embedded_files (file (name) (type model) (data |base64 zstd|) (checksum)))`.

KiCad stores the file zstd-compressed and base64-encoded in lines of 76 characters, with a
MurmurHash3 (x64, 128-bit) checksum of the uncompressed bytes. Needs the `zstandard` package; the
checksum is computed here (pure Python) so no other dependency is needed.
"""

from __future__ import annotations

import base64
import struct

from .sexpr import Symbol, node

_MASK = (1 << 64) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    k ^= k >> 33
    return k


def murmur3_x64_128(data: bytes, seed: int = 0) -> tuple[int, int]:
    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
    h1 = h2 = seed
    n = len(data) // 16
    for i in range(n):
        k1, k2 = struct.unpack_from("<QQ", data, i * 16)
        k1 = (_rotl((k1 * c1) & _MASK, 31) * c2) & _MASK
        h1 ^= k1
        h1 = (_rotl(h1, 27) + h2) & _MASK
        h1 = (h1 * 5 + 0x52DCE729) & _MASK
        k2 = (_rotl((k2 * c2) & _MASK, 33) * c1) & _MASK
        h2 ^= k2
        h2 = (_rotl(h2, 31) + h1) & _MASK
        h2 = (h2 * 5 + 0x38495AB5) & _MASK
    tail = data[n * 16:]
    k1 = k2 = 0
    for i in range(len(tail) - 1, 7, -1):
        k2 ^= tail[i] << ((i - 8) * 8)
    if len(tail) > 8:
        k2 = (_rotl((k2 * c2) & _MASK, 33) * c1) & _MASK
        h2 ^= k2
    for i in range(min(len(tail), 8) - 1, -1, -1):
        k1 ^= tail[i] << (i * 8)
    if tail:
        k1 = (_rotl((k1 * c1) & _MASK, 31) * c2) & _MASK
        h1 ^= k1
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return h1, h2


def checksum(data: bytes) -> str:
    h1, h2 = murmur3_x64_128(data)
    return f"{h1:016X}{h2:016X}"


def embedded_file(name: str, data: bytes, kind: str = "model") -> list:
    import zstandard
    packed = base64.b64encode(zstandard.ZstdCompressor(level=15).compress(data)).decode("ascii")
    lines = [packed[i:i + 76] for i in range(0, len(packed), 76)] or [""]
    return node("file", node("name", name), node("type", Symbol(kind)),
                node("data", Symbol("|" + "\n".join(lines) + "|")), node("checksum", checksum(data)))
