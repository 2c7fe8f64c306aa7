"""Diff summary between versions and the git history of promoted versions (include/workflow/history.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from include.workflow import history

SYMBOLS = (
    '(kicad_symbol_lib\n\t(version 20241209)\n\t(symbol "R"\n\t\t(pin_names (hide yes))\n\t)\n{extra})\n'
)


def _version(folder: Path, symbol_body: str, footprints: list[str], parts: list[str]) -> Path:
    (folder / "symbols").mkdir(parents=True)
    (folder / "footprints" / "Lib.pretty").mkdir(parents=True)
    (folder / "symbols" / "Lib.kicad_sym").write_text(SYMBOLS.format(extra=symbol_body))
    for name in footprints:
        (folder / "footprints" / "Lib.pretty" / f"{name}.kicad_mod").write_text(f'(footprint "{name}")')
    rows = [{"source": "P.DbLib", "item": p, "kind": "part", "status": "ok", "messages": []} for p in parts]
    rows.append({"source": "P.DbLib", "item": "BROKEN", "kind": "part", "status": "failed", "messages": []})
    (folder / "report.json").write_text(json.dumps({"items": rows}))
    return folder


def test_diff_names_added_removed_and_changed_items(tmp_path):
    old = _version(
        tmp_path / "v1", '\t(symbol "C"\n\t\t(in_bom yes)\n\t)\n', ["R0603", "C0603"], ["P1", "P2"]
    )
    new = _version(
        tmp_path / "v2", '\t(symbol "C"\n\t\t(in_bom no)\n\t)\n', ["R0603", "SOT-23"], ["P1", "P3"]
    )
    changes = history.diff(old, new)
    assert changes["symbols"].counts() == {"added": 0, "removed": 0, "changed": 1}
    assert changes["symbols"].changed == ["Lib:C"]
    assert (changes["footprints"].added, changes["footprints"].removed) == (["Lib:SOT-23"], ["Lib:C0603"])
    assert (changes["parts"].added, changes["parts"].removed) == (["P3"], ["P2"])  # a failed part is no part
    text = history.render("production: v1 -> v2", changes)
    assert "| symbols | 0 | 0 | 1 |" in text and "**footprints removed:** `Lib:C0603`" in text
    assert history.diff(None, new)["footprints"].added == ["Lib:R0603", "Lib:SOT-23"]


def test_each_version_is_one_commit_with_its_summary(tmp_path):
    bare = tmp_path / "history.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    v1 = _version(tmp_path / "v1", "", ["R0603", "C0603"], ["P1"])
    v2 = _version(tmp_path / "v2", "", ["R0603"], ["P1"])
    checkout = tmp_path / "work" / "production"
    first = history.commit_version(str(bare), "main", checkout, v1, "production: v1", "# v1\n")
    second = history.commit_version(str(bare), "main", checkout, v2, "production: v2", "# v2\n")
    log = subprocess.run(
        ["git", "-C", str(bare), "log", "--format=%H %s", "main"], capture_output=True, text=True
    )
    assert log.stdout.splitlines() == [f"{second} production: v2", f"{first} production: v1"]
    stat = subprocess.run(
        ["git", "-C", str(bare), "diff", "--name-status", first, second], capture_output=True, text=True
    ).stdout
    assert "D\tfootprints/Lib.pretty/C0603.kicad_mod" in stat and "M\tCHANGES.md" in stat
