"""Concurrent edits of deployed parts: a version per row, explicit locks, merges, an audit trail.

Why versions and not only locks: two library managers at different sites read a part, both
change it, the second write is based on what the first already replaced. Each row carries
`row_version` (added to a parts table on its first edit; KiCad reads only the columns the
`.kicad_dbl` lists, so it never sees it). A write names the version it was based on:
- same as the row's: applied, version + 1;
- older (stale): with `conflict_resolution.strategy: last_write_wins` it is applied anyway;
  with `merge_support` it is applied when none of its fields changed since that version (the
  row's state at each version is kept in `altium2kicad_part_history`); otherwise refused
  (EditConflict: HTTP 409, exit code 4).
Explicit locks (`altium2kicad_part_lock`) last `locking.timeout` seconds; a lapsed lock frees
itself when `auto_release`, and `locking.type: pessimistic` refuses a write without the lock.
The row is read `FOR UPDATE` inside one transaction at `transaction_isolation`, so two writers
of one row queue on it and the second sees the first's version. Every applied or refused edit
goes to the library database's audit log.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Body, Depends, Header, Response
from fastapi.responses import JSONResponse
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    inspect,
    select,
    text,
    update,
)

from .http_library import catalog, current_config, editor
from .kicad_dbl import DblLibrary
from .parts_catalog import PartsCatalog, UnknownId

log = logging.getLogger(__name__)
VERSION_COLUMN = "row_version"
_meta = MetaData()
HISTORY = Table(
    "altium2kicad_part_history",
    _meta,
    Column("table_name", String(128), primary_key=True),
    Column("part_key", String(600), primary_key=True),  # MySQL: one key under 3072 bytes
    Column("version", Integer, primary_key=True),
    Column("row_values", Text, nullable=False),  # JSON of the row at that version
    Column("replaced_by", String(250), nullable=False),
    Column("replaced_at", DateTime(timezone=True), nullable=False),
)
LOCKS = Table(
    "altium2kicad_part_lock",
    _meta,
    Column("table_name", String(128), primary_key=True),
    Column("part_key", String(600), primary_key=True),  # MySQL: one key under 3072 bytes
    Column("holder", String(250), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


class EditError(Exception):
    status = 422
    exit_code = 2


class EditConflict(EditError):
    """A stale write that may not be applied; names the fields changed meanwhile."""

    status, exit_code = 409, 4

    def __init__(self, message: str, current_version: int, fields: list[str]) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.fields = fields


class PartLocked(EditError):
    status, exit_code = 423, 5


class VersionRequired(EditError):
    status, exit_code = 428, 2


@dataclass
class EditOutcome:
    key: str
    version: int  # the row's version now
    resolution: str  # applied | merged | last_write_wins
    row: dict = field(default_factory=dict)


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_versioned: set[tuple[str, str]] = set()
_versioning_lock = threading.Lock()


def ensure_versioning(engine, table_name: str) -> None:
    """Adds `row_version` to a parts table and creates the history and lock tables (idempotent)."""
    marker = (engine.url.render_as_string(hide_password=True), table_name)
    with _versioning_lock:
        if marker not in _versioned:
            _add_versioning(engine, table_name)
            _versioned.add(marker)


def _add_versioning(engine, table_name: str) -> None:
    try:
        _meta.create_all(engine, checkfirst=True)
    except Exception:  # another process created them between the check and the CREATE
        _meta.create_all(engine, checkfirst=True)
    if VERSION_COLUMN in {c["name"] for c in inspect(engine).get_columns(table_name)}:
        return
    quoted = engine.dialect.identifier_preparer.quote
    clause = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        conn.execute(
            text(
                f"ALTER TABLE {quoted(table_name)} ADD COLUMN {clause}{VERSION_COLUMN} "
                "INTEGER NOT NULL DEFAULT 1"
            )
        )


def _columns(library: DblLibrary, table: Table, changes: dict[str, str | None]) -> dict[str, str | None]:
    """Changes by column: a name may be a column or a `.kicad_dbl` field name."""
    by_field = {f.name: f.column for f in library.fields}
    resolved = {}
    for name, value in changes.items():
        column = name if name in table.c else by_field.get(name)
        if column is None or column == VERSION_COLUMN:
            raise EditError(
                f"category '{library.name}': no field or column '{name}' "
                f"(fields: {', '.join(sorted(by_field))})"
            )
        if column == library.key:
            raise EditError(
                f"category '{library.name}': the key column '{column}' names the part; not editable"
            )
        resolved[column] = value
    if not resolved:
        raise EditError("nothing to change")
    return resolved


def _lock_row(conn, table_name: str, key: str):
    return (
        conn.execute(
            select(LOCKS)
            .where(and_(LOCKS.c.table_name == table_name, LOCKS.c.part_key == key))
            .with_for_update()
        )
        .mappings()
        .first()
    )


def _check_lock(conn, locking, table_name: str, key: str, actor: str, writing: bool = True) -> None:
    """Refuses when another holds the lock (or, pessimistic, when a writer holds none)."""
    held = _lock_row(conn, table_name, key)
    lapsed = held is not None and _aware(held["expires_at"]) <= now()
    if held is not None and lapsed and locking.auto_release:
        conn.execute(delete(LOCKS).where(and_(LOCKS.c.table_name == table_name, LOCKS.c.part_key == key)))
        held = None
    if held is not None and held["holder"] != actor:
        state = "lapsed, not auto-released" if lapsed else f"until {_aware(held['expires_at']).isoformat()}"
        raise PartLocked(f"part '{key}' is locked by {held['holder']} ({state})")
    if writing and locking.type == "pessimistic" and held is None:
        raise PartLocked(f"part '{key}': locking.type is pessimistic; take the lock first")


def edit_part(
    catalog: PartsCatalog,
    category_id: str,
    key: str,
    changes: dict[str, str | None],
    base_version: int | None,
    actor: str,
    policy,
) -> EditOutcome:
    """Applies one edit under `policy` (config `concurrency`); raises EditConflict when stale."""
    library = catalog.category(category_id)
    engine = catalog.engine
    ensure_versioning(engine, library.table)
    table = Table(library.table, MetaData(), autoload_with=engine)
    columns = _columns(library, table, changes)
    strategy = policy.conflict_resolution.strategy
    key_col = table.c[library.key]
    with engine.begin() as conn:
        found = conn.execute(select(table).where(key_col == key).with_for_update()).mappings().first()
        if found is None:
            raise UnknownId(f"no part '{key}' in category '{library.name}' of {catalog.dbl.name}")
        row = dict(found)
        if base_version is None and strategy != "last_write_wins":
            raise VersionRequired(
                f"part '{key}': say which version the edit is based on (If-Match / --version); "
                "conflict_resolution.strategy is not last_write_wins"
            )
        _check_lock(conn, policy.locking, library.table, key, actor)
        current = int(row[VERSION_COLUMN])
        resolution = "applied"
        if base_version is not None and base_version != current:
            resolution = _resolve_stale(conn, policy, library, key, row, columns, base_version, current)
        snapshot = {k: v for k, v in row.items() if k != VERSION_COLUMN}
        conn.execute(
            HISTORY.insert().values(
                table_name=library.table,
                part_key=key,
                version=current,
                row_values=json.dumps(snapshot, ensure_ascii=False, default=str),
                replaced_by=actor,
                replaced_at=now(),
            )
        )
        written = conn.execute(
            update(table)
            .where(and_(key_col == key, table.c[VERSION_COLUMN] == current))
            .values(**columns, **{VERSION_COLUMN: current + 1})
        )
        if written.rowcount != 1:  # only without a row lock (an isolation level that allows it)
            raise EditConflict(f"part '{key}' changed while it was written; read it again", current, [])
        after = {**row, **columns, VERSION_COLUMN: current + 1}
    return EditOutcome(key, current + 1, resolution, after)


def _resolve_stale(conn, policy, library, key, row, columns, base_version, current) -> str:
    if base_version > current:
        raise EditConflict(f"part '{key}' has no version {base_version} (now {current})", current, [])
    strategy = policy.conflict_resolution.strategy
    if strategy == "last_write_wins":
        return "last_write_wins"
    if policy.conflict_resolution.merge_support:
        stored = conn.execute(
            select(HISTORY.c.row_values).where(
                and_(
                    HISTORY.c.table_name == library.table,
                    HISTORY.c.part_key == key,
                    HISTORY.c.version == base_version,
                )
            )
        ).scalar()
        if stored is not None:
            base = json.loads(stored)
            changed = sorted(c for c in columns if str(base.get(c)) != str(row.get(c)))
            if not changed:
                return "merged"
            raise EditConflict(
                f"part '{key}': version {base_version} is stale (now {current}) and "
                f"{', '.join(changed)} changed since; read it again",
                current,
                changed,
            )
    raise EditConflict(
        f"part '{key}': version {base_version} is stale (now {current}); read it again",
        current,
        sorted(columns),
    )


def take_lock(catalog: PartsCatalog, category_id: str, key: str, actor: str, policy) -> datetime:
    """An explicit lock for `locking.timeout` seconds (renewed when the holder asks again)."""
    library = catalog.category(category_id)
    ensure_versioning(catalog.engine, library.table)
    if catalog.row(library, key) is None:
        raise UnknownId(f"no part '{key}' in category '{library.name}' of {catalog.dbl.name}")
    expires = now() + timedelta(seconds=policy.locking.timeout)
    with catalog.engine.begin() as conn:
        _check_lock(conn, policy.locking, library.table, key, actor, writing=False)
        conn.execute(delete(LOCKS).where(and_(LOCKS.c.table_name == library.table, LOCKS.c.part_key == key)))
        conn.execute(
            LOCKS.insert().values(
                table_name=library.table, part_key=key, holder=actor, acquired_at=now(), expires_at=expires
            )
        )
    return expires


def release_lock(catalog: PartsCatalog, category_id: str, key: str, actor: str, force: bool = False) -> bool:
    library = catalog.category(category_id)
    ensure_versioning(catalog.engine, library.table)
    where = and_(LOCKS.c.table_name == library.table, LOCKS.c.part_key == key)
    with catalog.engine.begin() as conn:
        held = _lock_row(conn, library.table, key)
        if held is None:
            return False
        if held["holder"] != actor and not force:
            raise PartLocked(f"part '{key}' is locked by {held['holder']}, not {actor}")
        conn.execute(delete(LOCKS).where(where))
    return True


def audit(config, environment: str, actor: str, action: str, detail: dict) -> None:
    """The edit in the library database's audit log, and as `part_edited` when configured."""
    audit_library(config, f"parts/{environment}", actor, action, detail)


def audit_library(config, subject: str, actor: str, action: str, detail: dict) -> None:
    from include.library_db.store import LibraryStore

    LibraryStore(config.library_db_url()).audit(subject, actor, action, detail)
    if config.concurrency.notify_on_change:  # the edit is committed and audited; sending never raises
        from include.notifications.dispatch import send_event

        try:
            send_event(
                config,
                "part_edited",
                {},
                {
                    "actor": actor,
                    "change": action.replace("_", " "),
                    "detail": json.dumps(detail, default=str)[:1500],
                },
            )
        except Exception as exc:
            log.warning("part edit notification not sent: %s", exc)


def add_edit_routes(app) -> None:
    """PATCH a part (If-Match or `version`), POST/DELETE its lock; errors as JSON with status."""

    def run(environment, library, part_id, actor, action, work):
        cat = catalog(environment, library, writable=True)
        category_id, lib, key = cat.locate(part_id)
        detail = {"library": library, "category": lib.name, "key": key}
        try:
            result = work(cat, category_id, key)
        except EditError as exc:
            audit(current_config(), environment, actor, f"{action}_refused", {**detail, "reason": str(exc)})
            body: dict[str, object] = {"detail": str(exc)}
            if isinstance(exc, EditConflict):
                body.update(current_version=exc.current_version, conflicting_fields=exc.fields)
            return JSONResponse(body, status_code=exc.status)
        return detail, result

    @app.patch("/{environment}/{library}/v1/parts/{part_id}.json")
    def patch_part(
        environment: str,
        library: str,
        part_id: str,
        response: Response,
        fields: Annotated[dict[str, str | None], Body(embed=True)],
        actor: Annotated[str, Depends(editor)],
        version: Annotated[int | None, Body(embed=True)] = None,
        if_match: Annotated[str | None, Header()] = None,
    ):
        base = version if version is not None else _version_of(if_match)
        config = current_config()

        def work(cat, category_id, key):
            return edit_part(cat, category_id, key, fields, base, actor, config.concurrency)

        outcome = run(environment, library, part_id, actor, "part_edit", work)
        if not isinstance(outcome, tuple):
            return outcome
        detail, result = outcome
        audit(
            config,
            environment,
            actor,
            "part_edited",
            {
                **detail,
                "changes": fields,
                "based_on": base,
                "version": result.version,
                "resolution": result.resolution,
            },
        )
        response.headers["ETag"] = f'"{result.version}"'
        return {"id": part_id, "version": result.version, "resolution": result.resolution}

    @app.post("/{environment}/{library}/v1/parts/{part_id}/lock")
    def lock_part(environment: str, library: str, part_id: str, actor: Annotated[str, Depends(editor)]):
        config = current_config()
        outcome = run(
            environment,
            library,
            part_id,
            actor,
            "part_lock",
            lambda cat, c, k: take_lock(cat, c, k, actor, config.concurrency),
        )
        if not isinstance(outcome, tuple):
            return outcome
        detail, expires = outcome
        audit(config, environment, actor, "part_locked", {**detail, "expires_at": expires.isoformat()})
        return {"id": part_id, "holder": actor, "expires_at": expires.isoformat()}

    @app.delete("/{environment}/{library}/v1/parts/{part_id}/lock")
    def unlock_part(environment: str, library: str, part_id: str, actor: Annotated[str, Depends(editor)]):
        outcome = run(
            environment,
            library,
            part_id,
            actor,
            "part_unlock",
            lambda cat, c, k: release_lock(cat, c, k, actor),
        )
        if not isinstance(outcome, tuple):
            return outcome
        detail, released = outcome
        if released:
            audit(current_config(), environment, actor, "part_unlocked", detail)
        return {"id": part_id, "released": released}


def _version_of(if_match: str | None) -> int | None:
    if not if_match:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise EditError(f"If-Match '{if_match}' is not a row version")
    return int(value)
