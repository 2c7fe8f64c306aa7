"""A kicad-cli that hangs is stopped and reported as that library's failure, not a hung worker."""

from __future__ import annotations

import time

from include import kicad_check


def test_hanging_cli_is_stopped(tmp_path, monkeypatch):
    cli = tmp_path / "kicad-cli"
    cli.write_text("#!/bin/sh\nsleep 30\n")  # stands in for a kicad-cli that never returns
    cli.chmod(0o755)
    lib = tmp_path / "Lib.kicad_sym"
    lib.write_text('(kicad_symbol_lib (symbol "R"))')
    monkeypatch.setattr(kicad_check, "TIMEOUT", 1)
    started = time.monotonic()
    result = kicad_check.load_symbols(cli, lib)
    assert time.monotonic() - started < 10
    assert not result.ok and "did not finish within 1 s" in result.message
