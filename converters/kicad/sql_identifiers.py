"""SQL table and column names that every server we write to accepts, and stay unique there.

PostgreSQL keeps at most 63 bytes of a name (NAMEDATALEN - 1) and silently cuts longer ones, so two
long names can become one; MySQL/MariaDB allow 64 characters of the Basic Multilingual Plane, no
trailing space, and compare column names ignoring case and accents; SQLite takes anything. One rule
for all servers means the same DbLib gives the same names wherever its parts are written.

A name that does not fit is cut at a character boundary and given a short hash of the whole
original name, so the result is deterministic and two long names sharing a beginning stay apart.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's limit, the smallest of the servers (MySQL/MariaDB: 64 chars)
_HASH_CHARS = 8


@dataclass(frozen=True)
class Renamed:
    """One name written differently from the source, and why (for the report)."""

    original: str
    written: str
    reason: str


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, max_bytes: int) -> str:
    """The longest beginning of `text` within `max_bytes` of UTF-8 (never half a character)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:_HASH_CHARS]


def identifier_fold(name: str) -> str:
    """The form two names share when a server would take them for the same name (MySQL compares
    column names ignoring case and accents)."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def clean_identifier(name: str) -> str:
    """The name without what some server refuses: NUL, characters beyond the BMP (MySQL), trailing
    spaces (MySQL); empty becomes 'unnamed'."""
    cleaned = "".join("_" if ord(c) > 0xFFFF else c for c in name.replace("\x00", "")).rstrip()
    return cleaned if cleaned.strip() else "unnamed"


def shortened(name: str, salt: str = "", max_bytes: int = MAX_IDENTIFIER_BYTES) -> str:
    """`name` cut to fit `max_bytes` with `_<hash of name and salt>` appended."""
    suffix = "_" + _digest(name + ("\x00" + salt if salt else ""))
    head = _cut(name, max_bytes - len(suffix)).rstrip()
    return head + suffix


class IdentifierScope:
    """Hands out SQL names unique within one scope (the tables of a database, the columns of a
    table): as wanted when it fits and is free, else `_2`, `_3`... or a hash-suffixed short form."""

    def __init__(self, max_bytes: int = MAX_IDENTIFIER_BYTES) -> None:
        self.max_bytes = max_bytes
        self._taken: set[str] = set()
        self.renamed: list[Renamed] = []

    def is_taken(self, name: str) -> bool:
        return identifier_fold(clean_identifier(name)) in self._taken

    def _free(self, name: str) -> bool:
        return identifier_fold(name) not in self._taken

    def claim(self, wanted: str) -> str:
        """The name to write for `wanted` (recorded in `renamed` when it differs)."""
        cleaned = clean_identifier(wanted)
        reasons = []
        if cleaned != wanted:
            reasons.append("holds characters a SQL server refuses (NUL, beyond U+FFFF, trailing space)")
        fits = _utf8_len(cleaned) <= self.max_bytes
        if not fits:
            reasons.append(f"longer than {self.max_bytes} bytes, which PostgreSQL cuts and MySQL refuses")
            name = shortened(cleaned, max_bytes=self.max_bytes)
        else:
            name = cleaned
        if not self._free(name):
            reasons.append("used twice (SQL servers may ignore letter case and accents)")
            n = 1
            while True:
                n += 1
                candidate = f"{cleaned}_{n}"
                if _utf8_len(candidate) > self.max_bytes:
                    candidate = shortened(cleaned, str(n), self.max_bytes)
                if self._free(candidate):
                    name = candidate
                    break
        self._taken.add(identifier_fold(name))
        if name != wanted:
            self.renamed.append(Renamed(wanted, name, "; ".join(reasons)))
        return name
