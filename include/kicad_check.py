"""Asks real KiCad (kicad-cli) to load every written library: the final word on "it opens".

`sym upgrade` / `fp upgrade` load the library and save it again; a load error or fewer items out
than in means KiCad would not show the library as written.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_TOP_SYMBOL = re.compile(r'^\s*\(symbol "(?![^"]*_\d+_\d+")', re.M)
TIMEOUT = 300


@dataclass
class LoadResult:
    library: str
    ok: bool
    items_written: int
    items_loaded: int
    message: str = ""


def _run(cli: Path, args: list[str]) -> subprocess.CompletedProcess:
    """kicad-cli, stopped after TIMEOUT seconds (a hang is reported as that library's failure)."""
    try:
        return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        message = f"kicad-cli {' '.join(args[:2])} did not finish within {TIMEOUT} s"
        return subprocess.CompletedProcess([str(cli), *args], -9, "", message)


def load_symbols(cli: Path, path: Path) -> LoadResult:
    written = len(_TOP_SYMBOL.findall(path.read_text(encoding="utf-8", errors="replace")))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.kicad_sym"
        proc = _run(cli, ["sym", "upgrade", "--force", str(path), "-o", str(out)])
        loaded = (
            len(_TOP_SYMBOL.findall(out.read_text(encoding="utf-8", errors="replace"))) if out.exists() else 0
        )
    ok = proc.returncode == 0 and loaded == written
    why = (
        ""
        if ok
        else (proc.stderr or proc.stdout).strip()[-300:] or f"{written} symbols written, KiCad read {loaded}"
    )
    return LoadResult(str(path), ok, written, loaded, why)


def load_footprints(cli: Path, folder: Path) -> LoadResult:
    written = len(list(folder.glob("*.kicad_mod")))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.pretty"
        proc = _run(cli, ["fp", "upgrade", "--force", str(folder), "-o", str(out)])
        loaded = len(list(out.glob("*.kicad_mod"))) if out.exists() else 0
    ok = proc.returncode == 0 and loaded == written
    why = (
        ""
        if ok
        else (proc.stderr or proc.stdout).strip()[-300:]
        or f"{written} footprints written, KiCad read {loaded}"
    )
    return LoadResult(str(folder), ok, written, loaded, why)


def load_all(cli: Path, symbol_files: list[Path], footprint_folders: list[Path]) -> list[LoadResult]:
    return [load_symbols(cli, p) for p in symbol_files] + [load_footprints(cli, f) for f in footprint_folders]
