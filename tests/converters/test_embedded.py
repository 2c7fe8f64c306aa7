"""Embedded 3D models (`--embed-3d`): KiCad's checksum, and KiCad 9 keeping the file on load/save."""

from __future__ import annotations

import base64
import re
import subprocess

import zstandard

from converters.fixtures.step_box import step_box
from converters.kicad.embedded import checksum, embedded_file, kicad_murmur3
from converters.kicad.footprint_writer import FootprintWriter, ModelLink
from converters.kicad.layers import LayerMap
from converters.model.footprint import ComponentBody, CopperShape, Footprint, LayerRef, Pad, PadShape

_EMBEDDED = re.compile(r'\(data\s*\|(.*?)\|\s*\)\s*\(checksum "([0-9A-F]+)"\)', re.S)


def _decode(data: str) -> bytes:
    return zstandard.ZstdDecompressor().decompress(base64.b64decode("".join(data.split())))


def test_checksum_is_seeded_and_hashes_the_padded_tail():
    # the reference MurmurHash3 with seed 0 of b"" is all zeros; KiCad's seed makes it non-zero
    assert kicad_murmur3(b"", 0) == (0, 0) and checksum(b"") != "0" * 32
    # a tail padded to 16 bytes is never hashed, only its padded length counts
    assert checksum(b"x" * 16 + b"a" * 12) == checksum(b"x" * 16 + b"b" * 15)
    # a tail is zero-padded to whole words (so a trailing zero byte may vanish), and a whole-word
    # tail gets a further zero word (so a trailing zero word does not)
    assert checksum(b"ab") == checksum(b"ab\0") and checksum(b"abc") != checksum(b"abc\0")
    assert re.fullmatch(r"[0-9A-F]{32}", checksum(b"model"))


def test_checksum_matches_the_models_kicad_embedded(shared):
    """KiCad's own Altium imports embed STEP models: for every tail length (size mod 16) the smallest
    such model must carry our checksum (hashing all of them in pure Python would be slow)."""
    by_tail: dict[int, tuple[bytes, str]] = {}
    for path in sorted((shared / "reference").rglob("*.kicad_mod")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "(embedded_files" not in text:
            continue
        for data, stored in _EMBEDDED.findall(text):
            raw = _decode(data)
            if len(raw) % 16 not in by_tail or len(raw) < len(by_tail[len(raw) % 16][0]):
                by_tail[len(raw) % 16] = (raw, stored)
    # the reference holds KiCad's conversions of corpus footprints with models: none found is a fault
    assert by_tail, f"no embedded models in {shared / 'reference'}"
    assert {tail: checksum(raw) for tail, (raw, _) in by_tail.items()} == {
        tail: stored for tail, (_, stored) in by_tail.items()
    }


def test_encoding_is_base64_zstd_in_76_character_lines():
    model = step_box("BOX", 1, 2, 3)
    entry = embedded_file("box.step", model)
    data = next(c for c in entry if isinstance(c, list) and c[0] == "data")[1]
    lines = data.strip("|").split("\n")
    assert all(len(line) == 76 for line in lines[:-1]) and 0 < len(lines[-1]) <= 76
    assert _decode(data.strip("|")) == model


def _footprint_with_model(model: bytes) -> str:
    copper = {k: CopperShape(PadShape.RECT, (1.0, 1.0)) for k in ("top", "mid", "bottom")}
    fp = Footprint(
        "BOXED",
        pads=[Pad("1", (0.0, 0.0), 0.0, LayerRef(1, "Top Layer"), copper)],
        bodies=[ComponentBody(LayerRef(57), model_id="M", embedded=True, model_type=1)],
    )
    link = ModelLink("kicad-embed://box.step")
    return FootprintWriter(LayerMap()).write(fp, "BOXED", [link], [embedded_file("box.step", model)]).text


def test_kicad_keeps_the_embedded_model(kicad_validate, shared, tmp_path):
    cli = shared / "tools/kicad/kicad-cli"
    model = step_box("BOX", 1.2, 3.4, 0.7)
    source = tmp_path / "in.pretty"
    source.mkdir()
    (source / "BOXED.kicad_mod").write_text(_footprint_with_model(model), encoding="utf-8")
    result = subprocess.run(
        [str(cli), "fp", "upgrade", "--force", str(source), "-o", str(tmp_path / "out.pretty")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "Checksum error" not in result.stdout + result.stderr, result.stderr
    saved = (tmp_path / "out.pretty" / "BOXED.kicad_mod").read_text(encoding="utf-8")
    assert '(model "kicad-embed://box.step"' in saved and '(name "box.step")' in saved
    [(data, stored)] = _EMBEDDED.findall(saved)
    assert stored == checksum(model) and _decode(data) == model


_BOARD = """(kicad_pcb (version 20241229) (generator "test") (generator_version "9.0")
  (general (thickness 1.6)) (paper "A4")
  (layers (0 "F.Cu" signal) (2 "B.Cu" signal) (25 "Edge.Cuts" user))
  (setup (pad_to_mask_clearance 0)) (net 0 "")
  FOOTPRINT
  (gr_rect (start 0 0) (end 20 20) (stroke (width 0.1) (type default)) (fill no) (layer "Edge.Cuts")))
"""


def test_kicad_exports_the_embedded_model_to_step(kicad_validate, shared, tmp_path):
    """On a board, KiCad's STEP export unpacks the model under its checksum and includes it."""
    cli = shared / "tools/kicad/kicad-cli"
    model = step_box("BOX", 1.2, 3.4, 0.7)
    footprint = _footprint_with_model(model).replace(
        '(footprint "BOXED"', '(footprint "lib:BOXED" (at 10 10)', 1
    )
    board = tmp_path / "board.kicad_pcb"
    board.write_text(_BOARD.replace("FOOTPRINT", footprint), encoding="utf-8")
    result = subprocess.run(
        [str(cli), "pcb", "export", "step", str(board), "-o", str(tmp_path / "board.step")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PRODUCT('kicad_embedded_{checksum(model)}'" in (tmp_path / "board.step").read_text()


def test_kicad_rejects_a_wrong_checksum(kicad_validate, shared, tmp_path):
    """The check above can fail: KiCad reports and drops a file whose checksum is not its own."""
    cli = shared / "tools/kicad/kicad-cli"
    model = step_box("BOX", 1, 1, 1)
    source = tmp_path / "in.pretty"
    source.mkdir()
    text = _footprint_with_model(model).replace(checksum(model), "0" * 32)
    (source / "BOXED.kicad_mod").write_text(text, encoding="utf-8")
    result = subprocess.run(
        [str(cli), "fp", "upgrade", "--force", str(source), "-o", str(tmp_path / "out.pretty")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Checksum error" in result.stdout + result.stderr
