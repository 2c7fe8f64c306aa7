"""What changed between two library versions, and the git history of promoted versions.

Reviewers approve a promotion on a readable summary (symbols, footprints and parts added, removed
or changed), not on a file list; each promoted version is then committed to the environment's
configured git repository (`environments.<env>.git`), so `git log`/`git diff` show the history.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_SYMBOL_START = re.compile(r'^\t\(symbol "((?:[^"\\]|\\.)*)"')


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def symbols(folder: Path) -> dict[str, str]:
    """`Library:SYMBOL` -> digest of its s-expression (top-level symbols of every .kicad_sym)."""
    found: dict[str, str] = {}
    for lib in sorted(folder.glob("symbols/*.kicad_sym")):
        name, block = None, []
        for line in lib.read_text(encoding="utf-8").splitlines():
            m = _SYMBOL_START.match(line)
            if m:
                name, block = m.group(1), [line]
            elif name is not None:
                block.append(line)
                if line == "\t)":
                    found[f"{lib.stem}:{name}"] = _digest("\n".join(block))
                    name = None
    return found


def footprints(folder: Path) -> dict[str, str]:
    """`Library:FOOTPRINT` -> digest of its .kicad_mod file."""
    return {
        f"{mod.parent.stem}:{mod.stem}": _digest(mod.read_bytes())
        for mod in sorted(folder.glob("footprints/*.pretty/*.kicad_mod"))
    }


def parts(folder: Path) -> dict[str, str]:
    """Database-library parts the version's report lists as converted -> digest of their row."""
    report = folder / "report.json"
    if not report.is_file():
        return {}
    rows = json.loads(report.read_text(encoding="utf-8"))["items"]
    return {
        r["item"]: _digest(json.dumps(r, sort_keys=True, default=str))
        for r in rows
        if r["kind"] == "part" and r["status"] != "failed"
    }


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @classmethod
    def between(cls, old: dict[str, str], new: dict[str, str]) -> Changes:
        return cls(
            sorted(set(new) - set(old)),
            sorted(set(old) - set(new)),
            sorted(k for k in set(old) & set(new) if old[k] != new[k]),
        )

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed)}


KINDS = {"symbols": symbols, "footprints": footprints, "parts": parts}
LISTED = 50  # names shown per list; the counts are always complete


def diff(old: Path | None, new: Path) -> dict[str, Changes]:
    """Changes per kind from version folder `old` (None: nothing deployed yet) to `new`."""
    return {kind: Changes.between(read(old) if old else {}, read(new)) for kind, read in KINDS.items()}


def render(title: str, changes: dict[str, Changes]) -> str:
    """Markdown a reviewer reads in the approval and in the commit."""
    lines = [f"# {title}", ""]
    lines.append("| | added | removed | changed |")
    lines.append("|---|---:|---:|---:|")
    for kind, c in changes.items():
        lines.append(f"| {kind} | {len(c.added)} | {len(c.removed)} | {len(c.changed)} |")
    for kind, c in changes.items():
        for what in ("added", "removed", "changed"):
            names = getattr(c, what)
            if names:
                shown = ", ".join(f"`{n}`" for n in names[:LISTED])
                more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
                lines += ["", f"**{kind} {what}:** {shown}{more}"]
    return "\n".join(lines) + "\n"


class GitError(Exception):
    """A git command failed (the message names the command and git's own words)."""


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "altium2kicad",
        "GIT_AUTHOR_EMAIL": "altium2kicad@localhost",
        "GIT_COMMITTER_NAME": "altium2kicad",
        "GIT_COMMITTER_EMAIL": "altium2kicad@localhost",
        "GIT_TERMINAL_PROMPT": "0",
    }
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)} (in {cwd}): {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def commit_version(
    remote: str, branch: str, checkout: Path, version_folder: Path, message: str, summary: str
) -> str:
    """Commits the version's files (plus CHANGES.md, the diff summary) and pushes; returns the sha."""
    if not (checkout / ".git").is_dir():
        shutil.rmtree(checkout, ignore_errors=True)
        checkout.parent.mkdir(parents=True, exist_ok=True)
        _git(checkout.parent, "clone", "--quiet", remote, checkout.name)
    _git(checkout, "fetch", "--quiet", "origin")
    remote_branches = _git(checkout, "branch", "--remotes", "--list", f"origin/{branch}")
    start = [f"origin/{branch}"] if remote_branches else []
    _git(checkout, "checkout", "--quiet", "--force", "-B", branch, *start)
    for entry in checkout.iterdir():  # the tree is the version, exactly
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    shutil.copytree(version_folder, checkout, dirs_exist_ok=True, symlinks=False)
    (checkout / "CHANGES.md").write_text(summary, encoding="utf-8")
    _git(checkout, "add", "--all")
    _git(checkout, "commit", "--quiet", "--allow-empty", "-m", message, "-m", summary)
    _git(checkout, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
    return _git(checkout, "rev-parse", "HEAD")
