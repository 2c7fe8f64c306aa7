"""Names KiCad accepts: symbol and footprint names, library nicknames, file names.

One place decides, and every writer and every reference (`Nick:Item` in a symbol's Footprint
field, the parts database's Symbols/Footprints columns, the lib tables) uses the name it returns,
so a reference always equals what was written. The rule follows KiCad's own code:

- KiCad parses every symbol name and every `Nick:Item` reference with LIB_ID (common/lib_id.cpp):
  the first ':' ends the nickname, and an item name may not hold control characters, tab, newline,
  '\\', '<', '>', '"' or ':'. A symbol named `A"B` costs its whole `.kicad_sym` ("Unable to load
  library"); one named `A:B` silently becomes `B`.
- Where KiCad must keep such a character it escapes it with EscapeString (common/string_utils.cpp):
  CTX_LIBID for symbol names (`{dblquote}`, `{colon}`, `{backslash}`, `{lt}`, `{gt}`; '/' stays),
  CTX_FILENAME for names that are also file names (adds `{bar}`, `{tab}`, `{return}`; '/' is '_'
  there, as KiCad's own Altium import writes it).
  Its UnescapeString turns them back for display, so users see the Altium name.
- A footprint's name in a `.pretty` folder is its file name (KiCad's FP_CACHE::Load ignores the name
  inside the file), so a footprint name is a LIB_ID item name and a file name at once; it also may
  not hold ';', where KiCad's database libraries split their Footprints column.
- A character KiCad refuses and has no escape for becomes '_', as KiCad's LIB_ID::FixIllegalChars
  does.
"""

from __future__ import annotations

import hashlib
import re

# KiCad's EscapeString(CTX_LIBID); tab and control characters are not escaped there but refused by
# LIB_ID, so tab gets UnescapeString's {tab} and the rest become '_'.
_LIB_ID_ESCAPES = {
    "\\": "{backslash}",
    "<": "{lt}",
    ">": "{gt}",
    ":": "{colon}",
    '"': "{dblquote}",
    "\t": "{tab}",
    "\n": "",
    "\r": "",
}
# KiCad's EscapeString(CTX_FILENAME), but '/': KiCad's own Altium import writes it as '_' in a
# footprint's file (../shared/reference: `LED RGB APFA3011-AK13/F` is `..._F.kicad_mod`), and the
# file is the name, so ours agree with KiCad's.
_FILE_NAME_ESCAPES = {
    "/": "_",
    "\\": "{backslash}",
    '"': "{dblquote}",
    "<": "{lt}",
    ">": "{gt}",
    "|": "{bar}",
    ":": "{colon}",
    "\t": "{tab}",
    "\n": "{return}",
    "\r": "{return}",
}
# Refused with no KiCad escape: control characters (LIB_ID), '*' and '?' (Windows file names),
# ';' (the separator of a database library's Footprints column).
_NO_ESCAPE_IN_FILE = re.compile(r"[\x00-\x1f*?;]")
_CONTROL = re.compile(r"[\x00-\x1f]")
# Windows device names, refused as a file's stem whatever its extension.
_DEVICE = re.compile(r"(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?", re.IGNORECASE)
# Library nicknames: LIB_ID refuses control characters, '\\' and ':'; files refuse '/*?"<>|';
# ';' splits a database library's Footprints column; KiCad expands ${VAR}, $(VAR) and %VAR% in
# the library URIs and model paths the nickname is part of. Whitespace: a nickname is typed in
# `Nick:Item`, so it has none.
_ILLEGAL_LIBRARY = re.compile(r'[\x00-\x1f\\/:*?"<>|;$%\s]+')
# The longest name (UTF-8 bytes) kept whole: file systems allow 255 for the whole file name,
# which also holds the extension and a clash suffix.
MAX_NAME_BYTES = 200

# Tokens KiCad's UnescapeString turns back into characters.
_UNESCAPES = {
    "dblquote": '"',
    "quote": "'",
    "lt": "<",
    "gt": ">",
    "backslash": "\\",
    "slash": "/",
    "bar": "|",
    "comma": ",",
    "colon": ":",
    "space": " ",
    "dollar": "$",
    "tab": "\t",
    "return": "\n",
    "brace": "{",
}


def _escape(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) for c in text)


def _fit(name: str) -> str:
    """The name, or when too long for a file its start and a short hash of the whole name."""
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    head = name.encode("utf-8")[: MAX_NAME_BYTES - 9].decode("utf-8", errors="ignore")
    return f"{head}_{digest}"


def _not_a_device(stem: str) -> str:
    match = _DEVICE.fullmatch(stem)
    return f"{match.group(1)}_{match.group(2) or ''}" if match else stem


def safe_symbol_name(name: str) -> str:
    """A symbol name KiCad loads and references as `Nick:Item` (KiCad's CTX_LIBID escaping).
    KiCad 9 reads `{slash}` in a symbol name as '/' (its former escape), so that is written."""
    escaped = _CONTROL.sub("_", _escape(name.strip(), _LIB_ID_ESCAPES)).replace("{slash}", "/")
    return _fit(escaped) if escaped else "unnamed"


def safe_footprint_name(name: str) -> str:
    """A footprint name, which is also its file's stem (KiCad's CTX_FILENAME escaping)."""
    escaped = _NO_ESCAPE_IN_FILE.sub("_", _escape(name.strip(), _FILE_NAME_ESCAPES))
    return _not_a_device(_fit(escaped)) if escaped else "unnamed"


def safe_file_name(name: str) -> str:
    """A file name for an item that is no library item (3D model): a footprint's rule, and no '$'
    or '%', since the name is part of a model path KiCad expands variables in."""
    return safe_footprint_name(name.replace("$", "_").replace("%", "_"))


def safe_library_name(stem: str) -> str:
    """A KiCad library nickname (also the file stem) made from a source file's stem (which, made on
    Windows by Altium, is never a device name)."""
    name = _ILLEGAL_LIBRARY.sub("_", stem.strip()).strip("_.")
    return _fit(name) if name else "library"


def unescape(name: str) -> str:
    """The name KiCad shows for an escaped name (KiCad's UnescapeString), to tell when a written
    name reads differently from its source."""
    out: list[str] = []
    i, previous = 0, ""
    while i < len(name):
        c = name[i]
        if c != "{":
            out.append(c)
            previous, i = c, i + 1
            continue
        depth, j = 1, i + 1
        while j < len(name) and depth:
            depth += {"{": 1, "}": -1}.get(name[j], 0)
            j += 1
        if depth:  # unterminated: the rest as it is, inner escapes resolved
            out.append("{" + unescape(name[i + 1 :]))
            break
        token = name[i + 1 : j - 1]
        if previous in ("$", "~", "^", "_") or token not in _UNESCAPES:
            out.append("{" + unescape(token) + "}")
        else:
            out.append(_UNESCAPES[token])
        previous, i = "}", j
    return "".join(out)


class UniqueNames:
    """Hands out names unique within one scope, case-insensitively, suffixing clashes."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, wanted: str) -> tuple[str, bool]:
        """Returns the name to use and whether it had to change because of a clash."""
        name, n = wanted, 1
        while name.lower() in self._taken:
            n += 1
            name = f"{wanted}_{n}"
        self._taken.add(name.lower())
        return name, name != wanted
