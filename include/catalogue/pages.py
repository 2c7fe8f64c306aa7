"""The catalogue as static HTML: an index, one page per library, and a client-side search.

Static files only (no server, no framework): the search index is a plain JS file the pages load
with a <script> tag, so the catalogue works from a file share, an S3 website or file://.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .facts import CatalogueItem, CatalogueLibrary, VersionFacts

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "catalogue"
STATIC = ("search.js", "catalogue.css")
INDEX_JSON, INDEX_JS = "search-index.json", "search-index.js"


def environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, keep_trailing_newline=True
    )


def anchor(item: CatalogueItem) -> str:
    return "item-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in item.name)


def _anchors(lib: CatalogueLibrary) -> dict[str, str]:
    return {i.name: anchor(i) for i in lib.items}


def index_entry(lib: CatalogueLibrary, item: CatalogueItem) -> dict:
    """One search-index row: what the search matches on (`text`) and where a hit links to."""
    words = [
        item.ref,
        item.kind,
        *item.fields.values(),
        item.origin.source_file,
        item.origin.source_item,
        *item.models,
    ]
    return {
        "ref": item.ref,
        "name": item.name,
        "library": item.library,
        "kind": item.kind,
        "value": item.value,
        "description": item.fields.get("Description", ""),
        "source": f"{item.origin.source_item} ({item.origin.source_file})" if item.origin.source_file else "",
        "page": f"libraries/{lib.slug}.html",
        "anchor": anchor(item),
        "text": " ".join(w for w in words if w).lower(),
    }


def search_index(facts: VersionFacts) -> list[dict]:
    return [index_entry(lib, item) for lib in facts.libraries for item in lib.items]


def write_html(facts: VersionFacts, out: Path, pdf_name: str | None = None) -> list[Path]:
    """index.html, libraries/<kind>s-<name>.html, the search index and its script; the files written."""
    env = environment()
    (out / "libraries").mkdir(parents=True, exist_ok=True)
    written = []
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html").render(facts=facts, counts=facts.counts(), pdf=pdf_name),
        encoding="utf-8",
    )
    written.append(index)
    library_page = env.get_template("library.html")
    for lib in facts.libraries:
        page = out / "libraries" / f"{lib.slug}.html"
        page.write_text(library_page.render(facts=facts, lib=lib, anchors=_anchors(lib)), encoding="utf-8")
        written.append(page)
    entries = search_index(facts)
    (out / INDEX_JSON).write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    # `</` cannot end the script early: the index holds field texts written by people
    script = json.dumps(entries, ensure_ascii=False).replace("</", "<\\/")
    (out / INDEX_JS).write_text(f"window.A2K_CATALOGUE_INDEX = {script};\n", encoding="utf-8")
    written += [out / INDEX_JSON, out / INDEX_JS]
    for name in STATIC:
        shutil.copyfile(TEMPLATES / name, out / name)
        written.append(out / name)
    return written
