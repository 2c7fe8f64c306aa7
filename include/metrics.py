"""Progress metrics of a run: components_migrated, migration_quality, time_spent, and
total_components (the components to migrate: components_migrated's target).

migration_quality = successful mappings / total mappings, where a mapping is one source item
(symbol, footprint, model, part) and successful means it was written (ok or with warnings).
"""

from __future__ import annotations

from datetime import UTC, datetime

COMPONENT_KINDS = {"symbol", "footprint", "model", "part"}


def compute(
    rows: list[dict], started_at: datetime | None, now: datetime | None = None, total: int | None = None
) -> dict[str, tuple[float, str]]:
    """The metrics of `rows` (report rows: kind, status); `total` (the analysis' component count,
    known once the run ends) adds total_components."""
    mappings = [r for r in rows if r["kind"] in COMPONENT_KINDS]
    migrated = sum(1 for r in mappings if r["status"] in ("ok", "warning"))
    quality = migrated / len(mappings) if mappings else 0.0
    now = now or datetime.now(UTC)
    if started_at is not None and started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    spent = (now - started_at).total_seconds() if started_at else 0.0
    figures = {
        "components_migrated": (float(migrated), "items"),
        "migration_quality": (round(quality, 4), "ratio"),
        "time_spent": (round(max(spent, 0.0), 1), "seconds"),
    }
    if total is not None:
        figures["total_components"] = (float(total), "items")
    return figures
