"""The pipeline's conversion task with the conversion cache: a retry or a later run reuses the
output of an unchanged library (same bytes, same rows), and the mapping rules are part of the key."""

from __future__ import annotations

import json
from pathlib import Path

from converters.fixtures.dblib_writer import write_sample_dblib
from converters.fixtures.sample_library import write_sample_library
from include.config import load_config, parse_config
from include.conversion import convert_unit
from include.inventory import analyze
from include.mapping_rules import generate


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_units_reuse_the_cache_across_run_folders_with_the_same_bytes(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_sample_library(src)
    dblib = write_sample_dblib(src)
    rules = generate(analyze(src))
    rules.field_renames["Value"] = "Wert"
    cache = tmp_path / "cache"
    clean = convert_unit(dblib, tmp_path / "runs" / "a", rules)
    expected = files(Path(clean.out))
    first = convert_unit(dblib, tmp_path / "runs" / "a", rules, cache=cache)  # the same folder: replaced
    assert files(Path(first.out)) == expected

    def must_not_read(*args, **kwargs):
        raise AssertionError("an unchanged library was converted again")

    import converters.altium.schlib as schlib

    with monkeypatch.context() as patch:
        patch.setattr(schlib, "read_schlib", must_not_read)
        again = convert_unit(dblib, tmp_path / "runs" / "a", rules, cache=cache)  # a retry
    assert files(Path(again.out)) == expected
    assert (
        json.loads(Path(again.report).read_text())["items"]
        == json.loads(Path(clean.report).read_text())["items"]
    )
    assert "Wert" in (Path(again.out) / "database" / "SampleParts.kicad_dbl").read_text(encoding="utf-8")
    rules.library_names["Sample"] = "Company"  # other rules: other names, converted again
    renamed = convert_unit(dblib, tmp_path / "runs" / "b", rules, cache=cache)
    assert (Path(renamed.out) / "symbols" / "Company.kicad_sym").is_file()


def test_the_caching_keys_are_acted_on(tmp_path, monkeypatch):
    config = load_config()
    assert config.conversion_cache() == config.path(config.caching.folder)
    text = "environments: {development: {validation_level: basic, target: {kind: local, path: x}}, "
    text += "testing: {validation_level: basic, target: {kind: local, path: y}}}\n"
    off = parse_config(text + "caching: {enabled: false}\n", tmp_path / "c.yaml")
    assert off.conversion_cache() is None
    moved = parse_config(text + f"caching: {{folder: {tmp_path / 'elsewhere'}}}\n", tmp_path / "c.yaml")
    assert moved.conversion_cache() == tmp_path / "elsewhere"
