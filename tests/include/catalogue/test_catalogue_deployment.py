"""A deployment writes the catalogue beside the version: one HTML page per library with every
symbol and footprint and its picture, a search that finds parts by name and by value (run in
node), a PDF that renders, and the wiki's summary pages; the version itself keeps exactly the
accepted files."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from include.deployment import manifest

SEARCH = Path(__file__).resolve().parents[3] / "templates" / "catalogue" / "search.js"
NODE_QUERY = """
const vm = require("vm"), fs = require("fs");
const sandbox = { window: {} };
vm.runInNewContext(fs.readFileSync(process.argv[1], "utf8"), sandbox);
const { search } = require(process.argv[2]);
const out = {};
for (const q of process.argv.slice(3)) out[q] = search(sandbox.window.A2K_CATALOGUE_INDEX, q).map(e => e.ref);
console.log(JSON.stringify(out));
"""


def node_search(catalogue: Path, *queries: str, script: Path = SEARCH) -> dict[str, list[str]]:
    """The catalogue's own search.js run by node over its search-index.js."""
    out = subprocess.run(
        ["node", "-e", NODE_QUERY, "--", str(catalogue / "search-index.js"), str(script), *queries],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_catalogue_is_written_beside_the_version(deployed):
    version = deployed.result["version"]
    assert deployed.result["catalogue"]["location"] == str(deployed.catalogue / "index.html")
    assert (deployed.catalogue / "index.html").is_file()
    # beside, not inside: versions/<version> holds exactly the accepted release (same manifest)
    live = deployed.root / "versions" / version
    release = deployed.home / "var" / "altium2kicad" / "runs"
    assert not any(k.startswith("catalogue") or k.endswith(".html") for k in manifest(live))
    accepted = json.loads(next(release.rglob("accepted_release.json")).read_text())
    assert manifest(live) == accepted["files"]
    assert f"Catalogue: `{deployed.catalogue / 'index.html'}`" in deployed.result["summary"]


def test_one_page_per_library_with_every_item_and_its_picture(deployed):
    version = deployed.root / "versions" / deployed.result["version"]
    pages = {p.name for p in (deployed.catalogue / "libraries").glob("*.html")}
    symbol_libs = [p.stem for p in (version / "symbols").glob("*.kicad_sym")]
    footprint_libs = [p.name.removesuffix(".pretty") for p in (version / "footprints").glob("*.pretty")]
    assert pages == {f"symbols-{n}.html" for n in symbol_libs} | {
        f"footprints-{n}.html" for n in footprint_libs
    }
    assert len(pages) == 4
    index = (deployed.catalogue / "index.html").read_text()
    for page in pages:
        assert f'href="libraries/{page}"' in index
    for lib in footprint_libs:
        html = (deployed.catalogue / "libraries" / f"footprints-{lib}.html").read_text()
        names = sorted(p.stem for p in (version / "footprints" / f"{lib}.pretty").glob("*.kicad_mod"))
        items = re.findall(r'<div class="item" id="item-([^"]+)">\s*<div class="picture"><svg', html)
        assert sorted(items) == sorted(n.replace(".", "_") for n in names) and len(items) == 10
    text = (deployed.catalogue / "libraries" / "symbols-Sample.html").read_text()
    items = re.findall(r'<div class="item" id="item-([^"]+)">\s*<div class="picture"><svg', text)
    assert sorted(items) == ["CAP", "LED", "MCU_32", "NAND2", "NPN", "OPAMP_DUAL", "RES"]
    # fields, Altium origin and 3D model presence are on the page
    assert "Resistor, thick film" in text and "RES in <code>Sample.SchLib</code>" in text
    footprints = (deployed.catalogue / "libraries" / "footprints-Sample.html").read_text()
    assert "<code>${ALTIUM2KICAD_3DMODELS}/Sample.3dshapes/LED0805.step</code>" in footprints
    assert "missing from this version" not in footprints
    assert deployed.result["catalogue"]["symbols"] == 14 and deployed.result["catalogue"]["footprints"] == 20


def test_search_finds_a_part_by_name_and_by_value(deployed):
    hits = node_search(deployed.catalogue, "LQFP-32", "10k", "100n", "sampleintegrated npn", "no-such-part")
    assert hits["LQFP-32"][:2] == ["Sample:LQFP-32", "SampleIntegrated:LQFP-32"]
    assert set(hits["10k"]) == {"Sample:RES", "SampleIntegrated:RES"}  # RES's Value field is 10k
    assert set(hits["100n"]) == {"Sample:CAP", "SampleIntegrated:CAP"}
    assert hits["sampleintegrated npn"] == ["SampleIntegrated:NPN"]
    assert hits["no-such-part"] == []
    index = json.loads((deployed.catalogue / "search-index.json").read_text())
    res = next(e for e in index if e["ref"] == "Sample:RES")
    assert res["page"] == "libraries/symbols-Sample.html" and res["anchor"] == "item-RES"
    assert 'id="item-RES"' in (deployed.catalogue / res["page"]).read_text()


def test_search_check_fails_on_a_broken_search(deployed, tmp_path):
    """The node check can fail: a search.js that compares the wrong field finds nothing by value."""
    broken = tmp_path / "search.js"
    broken.write_text(
        SEARCH.read_text().replace("var text = index[i].text", "var text = index[i].ref.toLowerCase()")
    )
    assert node_search(deployed.catalogue, "10k", script=broken)["10k"] == []


def test_pdf_renders_with_every_part(deployed, tmp_path):
    pdf = deployed.catalogue / "catalogue.pdf"
    assert pdf.is_file()
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120
    )
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) >= 5  # the summary, then a page (or more) per library
    from PIL import Image

    for png in pngs[:2]:
        with Image.open(png) as image:
            low, high = image.convert("L").getextrema()
            assert low < 128 < high  # drawn on, not blank
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for name in ("LQFP-32", "SOT-23-5", "OPAMP_DUAL", "MCU_32", "10k", "Sample.SchLib"):
        assert name in text
    # the pictures are in the PDF: one image per item
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, timeout=60
    ).stdout
    assert len(images.splitlines()) - 2 == 34


def test_wiki_received_the_summary_pages(deployed):
    pages = deployed.wiki.pages()
    base = "/api/pages/KICAD/kicad-library-testing"
    assert set(pages) == {
        base,
        f"{base}-symbols-Sample",
        f"{base}-symbols-SampleIntegrated",
        f"{base}-footprints-Sample",
        f"{base}-footprints-SampleIntegrated",
    }
    summary = pages[base]
    assert summary["version"] == deployed.result["version"] and summary["space"] == "KICAD"
    assert "symbols: 14" in summary["body"] and "footprints: 20" in summary["body"]
    res = pages[f"{base}-symbols-Sample"]["body"]
    assert "<td>RES</td><td>10k</td>" in res and "RES (Sample.SchLib)" in res
    assert deployed.result["catalogue"]["wiki"] == {
        "sent": [p.rsplit("/", 1)[1] for p in pages],
        "failed": [],
    }


@pytest.mark.parametrize("status", [500])
def test_a_failing_wiki_never_fails_the_deployment(deployed, status):
    from include.catalogue.facts import read_version
    from include.catalogue.settings import Wiki
    from include.catalogue.wiki import publish_summary

    from .conftest import WikiServer

    facts = read_version(deployed.root / "versions" / deployed.result["version"], "v", "testing")
    refusing = WikiServer(status=status)
    try:
        result = publish_summary(Wiki(auto_update=True, url=refusing.url, timeout_seconds=5), facts)
    finally:
        refusing.close()
    assert result["sent"] == [] and len(result["failed"]) == 5 and "500" in result["failed"][0]
    assert len(refusing.received) == 5  # every page tried
    gone = publish_summary(Wiki(auto_update=True, url=refusing.url, timeout_seconds=2), facts)
    assert len(gone["failed"]) == 5 and "refused" in gone["failed"][0].lower()


def test_migration_report_links_the_catalogue(deployed):
    report = Path(deployed.result["report"]).read_text()
    assert f"catalogue: <code>{deployed.catalogue / 'index.html'}</code>" in report


def test_the_pages_search_in_a_browser(deployed):
    """The page's own glue (lazy index load, result links) in headless chromium, from file://."""
    page = deployed.catalogue / "libraries" / "footprints-Sample.html"
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            f"{page.as_uri()}?q=10k",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    hits = re.search(r'<ul id="a2k-hits">(.*?)</ul>', dom, re.S)
    assert hits is not None
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', hits.group(1))
    assert links == [
        ("../libraries/symbols-Sample.html#item-RES", "Sample:RES — 10k"),
        ("../libraries/symbols-SampleIntegrated.html#item-RES", "SampleIntegrated:RES — 10k"),
    ]
