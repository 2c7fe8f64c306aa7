"""The QA report flags a migration whose quality is below the configured target."""

from __future__ import annotations

import pytest

from include import report_html
from include.library_db.store import LibraryStore


@pytest.mark.parametrize("quality, flagged", [(0.5, True), (0.99, False)])
def test_quality_below_target_is_flagged(tmp_path, quality, flagged):
    store = LibraryStore(f"sqlite:///{tmp_path}/lib.db")
    store.start_run("r1", "full_library_migration", "src", "development", "basic", str(tmp_path))
    store.put_metrics("r1", {"migration_quality": (quality, "ratio"), "components_migrated": (10, "items")})
    page = report_html.render(store, "r1", [], tmp_path / "index.html", quality_target=0.95).read_text()
    assert f"{quality:.1%}" in page
    assert ("below the target of 95%" in page) is flagged
