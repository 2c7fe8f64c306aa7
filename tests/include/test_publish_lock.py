"""Two processes publishing to one local target at once never interleave (include.deployment's lock):
every publish succeeds and `current` and `CURRENT` always name the same complete version."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

from include.deployment import publish_local

ROUNDS = 15


def _publisher(release: Path, target: Path, name: str, start, errors) -> None:
    start.wait(timeout=60)
    try:
        for n in range(ROUNDS):
            publish_local(release, target, f"{name}-{n}", keep=3)
    except Exception as exc:  # noqa: BLE001 - the parent reports it
        errors.put(f"{name}: {exc!r}")


def test_concurrent_publishes_are_serialised(tmp_path):
    target = tmp_path / "target"
    releases = []
    for name in ("a", "b"):
        release = tmp_path / f"release-{name}"
        (release / "symbols").mkdir(parents=True)
        for i in range(30):
            (release / "symbols" / f"S{i}.kicad_sym").write_text(name * 2000)
        releases.append((name, release))
    mp = multiprocessing.get_context("fork")
    start, errors = mp.Barrier(2), mp.Queue()
    procs = [mp.Process(target=_publisher, args=(r, target, n, start, errors)) for n, r in releases]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    found = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert not found, found
    pointer = json.loads((target / "CURRENT").read_text())
    assert Path(os.readlink(target / "current")).name == pointer["version"]
    assert len(list((target / "current" / "symbols").iterdir())) == 30 == pointer["files"]
    assert not list((target / "versions").glob(".*"))
