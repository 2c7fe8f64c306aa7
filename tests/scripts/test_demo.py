"""The README's run command: `./run demo` (= `python -m scripts.demo`) on the embedded default.

Runs the real thing in a subprocess, as a newcomer would: SQLite, local folders, the project's own
sample library, both approvals answered over the REST API because the demo's config says so.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_the_migration_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ALTIUM2KICAD_DB"))}
    done = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--home", str(tmp_path / "demo")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    said = dict(
        re.findall(r"^\[demo\] (library \(live version\)|report|library database): (.+)$", done.stdout, re.M)
    )
    live, report = Path(said["library (live version)"]), Path(said["report"])
    assert (live / "symbols" / "Sample.kicad_sym").is_file()
    assert (live / "footprints" / "Sample.pretty" / "SOIC-8.kicad_mod").is_file()
    assert (live / "database" / "SampleParts.kicad_dbl").is_file()
    assert report.is_file() and "<svg" in report.read_text(encoding="utf-8")
    assert said["library database"].startswith("sqlite:///")
    assert done.stdout.count("approved ") == 2
