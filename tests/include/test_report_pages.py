"""A big run's report stays usable: summary and failures first, items on numbered pages, a search
index over every item; the first page does not grow with the run."""

from __future__ import annotations

import json

import pytest

from include import report_html
from include.library_db.store import LibraryStore


def _store(tmp_path, parts: int, failed: int, url: str | None = None) -> LibraryStore:
    store = LibraryStore(url or f"sqlite:///{tmp_path}/lib.db")
    store.start_run("r1", "full_library_migration", "src", "development", "basic", str(tmp_path))
    rows = [
        {
            "source": "/src/Big.DbLib",
            "item": f"Table/P{n:05d}",
            "kind": "part",
            "target": f"Big:Table/P{n:05d}",
            "status": "failed" if n >= parts - failed else "ok",
            "messages": [f"symbol library not found for P{n:05d}"] if n >= parts - failed else [],
        }
        for n in range(parts)
    ]
    store.put_converted_items("r1", "full", rows)
    store.put_source_items(
        "r1",
        [
            {
                "library": "/src/Gone.DbLib",
                "item": "Gone.DbLib",
                "kind": "library",
                "facts": {"error": "refused"},
            }
        ],
    )
    return store


def test_failures_first_and_items_paginated(tmp_path):
    parts, failed = 1200, 3
    store = _store(tmp_path, parts, failed)
    index = report_html.render(store, "r1", [], tmp_path / "report" / "index.html", quality_target=0.95)
    page = index.read_text()
    # why the run stopped, then the failed items, before any list of items
    assert page.index("Why the run stopped") < page.index("Failed items: 3") < page.index("Items: 1200")
    assert "library /src/Gone.DbLib could not be opened: refused" in page
    assert page.index("P01199") < page.index("Items: 1200")  # the last (failed) part, shown up front
    pages = sorted((tmp_path / "report" / "items").glob("page-*.html"))
    assert [p.name for p in pages] == ["page-0001.html", "page-0002.html", "page-0003.html"]
    assert page.count("<tr><td></td><td>part</td>") == failed + report_html.PAGE_SIZE
    assert "P00700" not in page  # on page 2 only
    assert "P00700" in pages[1].read_text() and "items/page-0003.html" in page
    # failures lead the pages too; every item is in the search index with its page
    assert "P01197" in pages[0].read_text().split("</tr>")[1]
    index_js = (tmp_path / "report" / "items" / "index.js").read_text()
    items = json.loads(index_js.removeprefix("window.A2K_ITEMS=").removesuffix(";"))
    assert len(items) == parts and {i[4] for i in items} == {1, 2, 3}


def test_first_page_does_not_grow_with_the_run(tmp_path):
    small = report_html.render(_store(tmp_path / "a", 600, 0), "r1", [], tmp_path / "a" / "r" / "index.html")
    big = report_html.render(_store(tmp_path / "b", 6000, 0), "r1", [], tmp_path / "b" / "r" / "index.html")
    assert big.stat().st_size < small.stat().st_size * 1.2
    assert len(list((tmp_path / "b" / "r" / "items").glob("page-*.html"))) == 12


def test_stale_pages_are_removed(tmp_path):
    store = _store(tmp_path, 1200, 0)
    report_html.render(store, "r1", [], tmp_path / "r" / "index.html")
    store.put_converted_items(
        "r1",
        "full",
        [
            {
                "source": "/src/Big.DbLib",
                "item": "only",
                "kind": "part",
                "target": "",
                "status": "ok",
                "messages": [],
            }
        ],
    )
    with store._session() as s, s.begin():  # the rerun converted one library with fewer items
        from sqlalchemy import delete

        from include.library_db.models import ConvertedItem

        s.execute(delete(ConvertedItem).where(ConvertedItem.item != "only"))
    report_html.render(store, "r1", [], tmp_path / "r" / "index.html")
    assert [p.name for p in (tmp_path / "r" / "items").glob("page-*.html")] == ["page-0001.html"]


@pytest.fixture(params=["sqlite", "postgresql"])
def library_db_url(request, tmp_path):
    """SQLite (the rows compared by digest) and PostgreSQL (by the ids' fingerprint)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/lib.db"
        return
    from tests.scratch_databases import scratch_database

    with scratch_database("postgresql") as url:
        yield url


def test_item_pages_rewritten_only_when_their_rows_change(tmp_path, library_db_url):
    """Each later stage renders the report again: unchanged rows keep the pages written (the first
    page still shows them), a changed row (a retried conversion) writes them anew."""
    store = _store(tmp_path, 1200, 3, library_db_url)
    path = tmp_path / "report" / "index.html"
    report_html.render(store, "r1", [], path)
    page2 = tmp_path / "report" / "items" / "page-0002.html"
    written_at = page2.stat().st_mtime_ns
    again = report_html.render(store, "r1", [], path, extra={"test deployment": "/live"}).read_text()
    assert page2.stat().st_mtime_ns == written_at
    assert "Failed items: 3" in again and "Items: 1200" in again and "test deployment" in again
    assert again.count("<tr><td></td><td>part</td>") == 3 + report_html.PAGE_SIZE

    retried = [
        {"source": "/src/Big.DbLib", "item": f"Table/P{n:05d}", "kind": "part", "status": "ok"}
        for n in range(1200)
    ]
    store.put_converted_items("r1", "full", retried)
    fixed = report_html.render(store, "r1", [], path).read_text()
    assert (
        "Failed items" not in fixed
        and "class='failed'" not in (tmp_path / "report" / "items" / "page-0001.html").read_text()
    )
    assert page2.stat().st_mtime_ns != written_at
