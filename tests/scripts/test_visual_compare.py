"""The visual check (scripts/visual_compare.py, scripts/visual_diff.py): the score on pictures made
here, then the whole command on a tiny fixture library against KiCad's own import of it."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from scripts import visual_compare, visual_diff


def _frame(shape=(60, 80), box=(10, 10, 40, 60)) -> np.ndarray:
    """An ink mask holding the outline of a rectangle (top, left, bottom, right)."""
    mask = np.zeros(shape, bool)
    top, left, bottom, right = box
    mask[top, left:right] = mask[bottom, left:right] = True
    mask[top:bottom, left] = mask[top:bottom, right] = True
    return mask


def test_the_same_picture_elsewhere_on_its_page_scores_zero():
    """KiCad fits each page to its item: a drawing moved on a larger page is still the same."""
    moved = np.zeros((90, 120), bool)
    moved[25:85, 30:110] = _frame()
    comparison, ours, reference, _ = visual_diff.compare_masks(moved, _frame(), px_per_mm=10)
    assert comparison.score == 0 and comparison.shift == (-25, -30)
    assert ours.shape == reference.shape and (ours == reference).all()


def test_a_stroke_only_one_side_has_raises_the_score_on_that_side():
    ours = _frame()
    ours[25, 10:60] = True  # a line across the box, only ours
    comparison, _, _, picture = visual_diff.compare_masks(ours, _frame(), px_per_mm=10)
    assert comparison.ours_only > 0 and comparison.reference_only == 0
    assert 0.1 < comparison.score < 0.5
    assert (picture == (220, 0, 0)).all(axis=-1).sum() == comparison.ours_only  # drawn red
    nothing_shared = visual_diff.compare_masks(_frame(box=(5, 5, 15, 15)), np.zeros((60, 80), bool), 10)[0]
    assert nothing_shared.score == 1.0


def test_strokes_within_the_tolerance_count_as_the_same():
    thicker = _frame() | np.roll(_frame(), 1, axis=0)  # one pixel bolder
    assert visual_diff.compare_masks(thicker, _frame(), px_per_mm=10)[0].score == 0


def test_a_page_without_a_size_is_a_clear_error(tmp_path):
    svg = tmp_path / "bad.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    with pytest.raises(visual_diff.RenderError, match="bad.svg"):
        visual_diff.svg_size_mm(svg)


@pytest.mark.kicad
def test_the_command_ranks_a_planted_difference_first(tmp_path, kicad_validate):
    """Our conversion of the fixture library against KiCad's import of it (made by the command's
    --convert and --kicad-import), plus a copy of ours in which one symbol got an extra box: that
    symbol is the most different item, the untouched copy scores zero, the page shows them."""
    from converters.fixtures.pcblib_writer import write_pcblib
    from converters.fixtures.pin_text_library import write_pin_text_library
    from converters.fixtures.sample_library import sample_footprints

    source = tmp_path / "src"
    source.mkdir()
    write_pin_text_library(source / "LDO.SchLib")
    write_pcblib(source / "Sample.PcbLib", sample_footprints()[:3])
    ours, reference, out = tmp_path / "ours", tmp_path / "reference", tmp_path / "page"
    cli = kicad_validate.parent / "kicad-cli"
    code = visual_compare.main(
        [str(ours), str(reference), "-o", str(out), "--convert", str(source), "--kicad-import", str(source)]
        + ["--kicad-cli", str(cli), "--jobs", "1"]
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    by_item = {(r["kind"], r["library"], r["item"]): r for r in results}
    ldo = by_item[("symbol", "LDO", "LDO_unit1")]
    assert ldo["status"] == "compared" and ldo["score"] is not None
    assert {r["status"] for r in results if r["kind"] == "footprint"} == {"compared"}
    assert len([r for r in results if r["kind"] == "footprint"]) == 3

    planted = tmp_path / "planted"
    (planted / "twin").mkdir(parents=True)
    text = (ours / "symbols/LDO.kicad_sym").read_text()
    (planted / "twin/LDO.kicad_sym").write_text(text)
    box = "(rectangle (start -20 20) (end 40 -20) (stroke (width 0.5) (type default)) (fill (type none)))"
    (planted / "LDO.kicad_sym").write_text(re.sub(r'(\(symbol "LDO_\d_\d")', r"\1 " + box, text, count=1))
    shutil.copytree(ours / "footprints/Sample.pretty", planted / "Sample.pretty")
    out2 = tmp_path / "page2"
    assert visual_compare.main([str(ours), str(planted), "-o", str(out2), "--kicad-cli", str(cli)]) == 0
    scored = [r for r in json.loads((out2 / "results.json").read_text()) if r["score"] is not None]
    ranked = sorted(scored, key=lambda r: -r["score"])
    assert (ranked[0]["library"], ranked[0]["item"]) == ("LDO", "LDO_unit1") and ranked[0]["score"] > 0.2
    assert ranked[0]["reference_only"] > 0 and ranked[0]["ours_only"] == 0
    assert all(r["score"] == 0 for r in ranked[1:]), ranked[1:]  # the twin and every footprint
    page = (out2 / "index.html").read_text()
    first = page.index("LDO_unit1")
    for picture in ranked[0]["pictures"].values():
        assert (out2 / picture).is_file() and picture in page[first:]
    assert re.search(r"symbols: 2 compared, 1 alike", page)


def test_a_hash_in_an_item_name_is_drawn(tmp_path):
    """LTM4620AIY#PBF: the file name is not read as a URL, whose '#' would start a fragment."""
    svg = tmp_path / "LTM4620AIY#PBF_unit1.svg"
    svg.write_text(
        "<svg xmlns='http://www.w3.org/2000/svg' width='10mm' height='5mm' viewBox='0 0 10 5'>"
        "<rect x='1' y='1' width='8' height='3' fill='none' stroke='#000' stroke-width='0.3'/></svg>"
    )
    assert visual_diff.svg_size_mm(svg) == (10.0, 5.0)
    grey = visual_diff.rasterise(svg, 10)
    assert grey.shape == (50, 100) and visual_diff.ink(grey).any()


def test_names_pair_without_case_and_punctuation():
    """Our naming rule writes spaces as underscores; KiCad keeps them."""
    assert visual_compare.match_key("CAP 0.10uF 16V") == visual_compare.match_key("CAP_0.10uF_16V")
    assert visual_compare.match_key("MCP4725A0T-E CH_unit1") == visual_compare.match_key(
        "mcp4725a0t-e_ch_unit1"
    )
    assert visual_compare.match_key("R1") != visual_compare.match_key("R2")
