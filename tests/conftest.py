"""Shared test helpers: where ../shared (corpus, reference, KiCad tools) is, or a clean skip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_path() -> Path:
    """ALTIUM2KICAD_SHARED, or the `shared` folder beside the repository."""
    return Path(os.environ.get("ALTIUM2KICAD_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared folder; skips the test (with the reason) when it is absent."""
    path = shared_path()
    if not (path / "corpus").is_dir():
        pytest.skip(f"shared corpus not found at {path} (set ALTIUM2KICAD_SHARED)")
    return path


@pytest.fixture(scope="session")
def kicad_validate() -> Path:
    """../shared/tools/kicad/kicad-validate (see require_kicad)."""
    return require_kicad(shared_path() / "tools" / "kicad")


def require_kicad(tools: Path, timeout: float = 60) -> Path:
    """kicad-validate in `tools`; skips the test only when the tools are absent. KiCad that is
    there but does not answer (fails, times out) fails the test with its error."""
    validate, cli = tools / "kicad-validate", tools / "kicad-cli"
    if not validate.exists() or not cli.exists():
        pytest.skip(f"KiCad tools not found in {tools}")
    try:
        subprocess.run([str(cli), "version"], check=True, capture_output=True, timeout=timeout)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"KiCad is there but broken: {cli} version exited {exc.returncode}: {exc.stderr!r}")
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"KiCad is there but does not run: {cli} version: {exc}")
    return validate
