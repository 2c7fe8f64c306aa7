"""Row items (mapping rules, audit logs, user preferences) from one library database to another.

Incremental: rows are read from the source above the watermark kept for (site, item, direction),
in batches ordered by the watermark column. Each batch is committed at the target before the
watermark moves, so a sync killed midway re-sends at most one batch, and every write is an upsert
on the item's cross-site key (never the local id): a re-run leaves no duplicates and loses nothing.
The read starts a little below the watermark (`OVERLAP`) because a row committed late can carry a
lower id or timestamp than one already read; the re-read rows are found identical and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, tuple_
from sqlalchemy.orm import Session

from include.library_db.models import AuditEntry, MappingRulesVersion, SyncState, UserPreference

ID_OVERLAP = 1000  # ids re-read below the watermark
TIME_OVERLAP = timedelta(minutes=5)  # and seconds, for timestamp watermarks


@dataclass(frozen=True)
class RowItem:
    """How one item travels: its table, cross-site key, watermark and edit-time columns."""

    name: str
    model: Any
    keys: tuple[str, ...]
    watermark: str  # increases with every write into this database (local id or local write time)
    edited_at: str  # when the content was edited at its origin (last_write_wins compares it)
    local_only: tuple[str, ...] = ()  # columns each database assigns itself
    mergeable: str | None = None  # a JSON object column merged key by key under `merge`

    def copied_columns(self) -> list[str]:
        return [c.name for c in self.model.__table__.columns if c.name not in self.local_only]


ROW_ITEMS: dict[str, RowItem] = {
    "audit_logs": RowItem("audit_logs", AuditEntry, ("uid",), "id", "at", local_only=("id",)),
    "mapping_rules": RowItem("mapping_rules", MappingRulesVersion, ("version",), "changed_at", "created_at"),
    "user_preferences": RowItem(
        "user_preferences", UserPreference, ("user_id", "key"), "changed_at", "updated_at", mergeable="value"
    ),
}


@dataclass
class RowSyncResult:
    item: str
    site: str
    direction: str
    sent: int = 0  # rows read from the source
    written: int = 0  # inserted or changed at the target
    conflicts: list[dict] | None = None

    def to_json(self) -> dict:
        return {**self.__dict__, "conflicts": self.conflicts or []}


def utc(value: datetime) -> datetime:
    """SQLite gives timestamps back without a zone; everything we write is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _is_time(spec: RowItem) -> bool:
    return spec.watermark != "id"


def _decode(spec: RowItem, text: str):
    if not text:
        return None
    return datetime.fromisoformat(text) if _is_time(spec) else int(text)


def _encode(value) -> str:
    return utc(value).isoformat() if isinstance(value, datetime) else str(value)


def state(hub: Session, site: str, item: str, direction: str) -> SyncState:
    found = hub.get(SyncState, (site, item, direction))
    if found is None:
        found = SyncState(site=site, item=item, direction=direction, watermark="", transferred=0)
        hub.add(found)
        hub.flush()
    return found


def pending(source: Engine, spec: RowItem, watermark: str) -> tuple[int, datetime | None]:
    """Rows above the watermark and the edit time of the newest of them (None: nothing pending)."""
    col = getattr(spec.model, spec.watermark)
    edited = getattr(spec.model, spec.edited_at)
    query = select(func.count(), func.max(edited))
    mark = _decode(spec, watermark)
    if mark is not None:
        query = query.where(col > mark)
    with Session(source) as s:
        count, newest = s.execute(query.select_from(spec.model)).one()
    return int(count), (utc(newest) if newest else None)


def _content(row, columns: list[str]) -> dict:
    return {c: getattr(row, c) for c in columns}


def _same(a: dict, b: dict, spec: RowItem) -> bool:
    ignore = {spec.watermark, "site"}
    return all(_norm(a[c]) == _norm(b[c]) for c in a if c not in ignore)


def _norm(value):
    return utc(value) if isinstance(value, datetime) else value


def _resolve(
    spec: RowItem, current: dict, incoming: dict, strategy: str, incoming_is_master: bool
) -> dict | None:
    """The row the target keeps (None: keep its own). master_wins: the master's row, always."""
    if strategy == "master_wins":
        return incoming if incoming_is_master else None
    newer = _norm(incoming[spec.edited_at]) > _norm(current[spec.edited_at])
    tie_to_master = _norm(incoming[spec.edited_at]) == _norm(current[spec.edited_at]) and incoming_is_master
    winner = incoming if newer or tie_to_master else current
    if strategy == "merge" and spec.mergeable:
        ours, theirs = current[spec.mergeable], incoming[spec.mergeable]
        if isinstance(ours, dict) and isinstance(theirs, dict):
            loser = current if winner is incoming else incoming
            merged = {**loser[spec.mergeable], **winner[spec.mergeable]}  # a key both set: the newer edit
            if merged != current[spec.mergeable]:
                return {**winner, spec.mergeable: merged}
            return None
    return winner if winner is incoming else None


def sync_rows(
    spec: RowItem,
    source: Engine,
    target: Engine,
    hub: Engine,
    site: str,
    direction: str,
    strategy: str,
    batch_size: int,
    origin_site: str,
    incoming_is_master: bool,
    after_batch: Callable[[int], None] | None = None,
) -> RowSyncResult:
    """Copies the rows changed at `source` since the last sync to `target`, batch by batch."""
    result = RowSyncResult(spec.name, site, direction, conflicts=[])
    columns = spec.copied_columns()
    col = getattr(spec.model, spec.watermark)
    with Session(hub) as h:
        mark = _decode(spec, state(h, site, spec.name, direction).watermark)
        h.commit()
    start = None if mark is None else (mark - (TIME_OVERLAP if _is_time(spec) else ID_OVERLAP))
    batch_no = 0
    while True:
        query = select(spec.model).order_by(col, *[getattr(spec.model, k) for k in spec.keys])
        if start is not None:
            query = query.where(col > start)
        with Session(source) as s:
            read = list(s.scalars(query.limit(batch_size)))
            rows = [_content(r, columns) for r in read]
            marks = [getattr(r, spec.watermark) for r in read]
        if not rows:
            break
        written, conflicts = _apply(spec, target, rows, strategy, origin_site, incoming_is_master)
        result.sent += len(rows)
        result.written += written
        result.conflicts.extend(conflicts)  # type: ignore[union-attr]
        newest = max(marks, key=_norm)
        with Session(hub) as h:  # only after the target committed: a crash here re-sends this batch
            st = state(h, site, spec.name, direction)
            if mark is None or _norm(newest) > _norm(mark):
                st.watermark = _encode(newest)
                mark = newest
            st.synced_at = datetime.now(UTC)
            st.transferred += written
            h.commit()
        batch_no += 1
        if after_batch:
            after_batch(batch_no)
        start = newest
        if len(rows) < batch_size:
            break
    return result


def _apply(
    spec: RowItem, target: Engine, rows: list[dict], strategy: str, origin_site: str, incoming_is_master: bool
) -> tuple[int, list[dict]]:
    """Upserts one batch at the target in one transaction; returns rows written and conflicts."""
    key_cols = [getattr(spec.model, k) for k in spec.keys]
    keys = [tuple(r[k] for k in spec.keys) for r in rows]
    written, conflicts = 0, []
    now = datetime.now(UTC)
    with Session(target) as t, t.begin():
        existing = {
            tuple(getattr(r, k) for k in spec.keys): r
            for r in t.scalars(select(spec.model).where(tuple_(*key_cols).in_(keys)))
        }
        for row, key in zip(rows, keys, strict=True):
            incoming = dict(row)
            if "site" in incoming and not incoming["site"]:
                incoming["site"] = origin_site
            found = existing.get(key)
            if found is None:
                fresh = spec.model(**{**incoming, spec.watermark: now} if _is_time(spec) else incoming)
                t.add(fresh)
                existing[key] = fresh
                written += 1
                continue
            current = _content(found, spec.copied_columns())
            if _same(current, incoming, spec):
                continue
            keep = _resolve(spec, current, incoming, strategy, incoming_is_master)
            conflicts.append(
                {
                    "key": list(key),
                    "strategy": strategy,
                    "kept": "incoming" if keep is incoming else ("merged" if keep else "target"),
                    "incoming_site": incoming.get("site", origin_site),
                    "target_site": current.get("site", ""),
                }
            )
            if keep is None:
                continue
            for column, value in keep.items():
                if column not in spec.keys and column != spec.watermark:
                    setattr(found, column, value)
            if _is_time(spec):
                setattr(found, spec.watermark, now)
            written += 1
    return written, conflicts
