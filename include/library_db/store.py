"""Writes and reads of the library database, idempotent by design.

Every write is an upsert on the table's natural key (run, library, item, ...), so re-running a task
or a whole run replaces its rows instead of adding duplicates. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any
from uuid import uuid4

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .database import session as open_session
from .failover import FailoverPolicy, retried
from .models import (
    AuditEntry,
    ConvertedItem,
    GateResult,
    MappingRulesVersion,
    MigrationRun,
    ProgressMetric,
    SourceItem,
    UserPreference,
)

RULES_VERSION_ATTEMPTS = 5  # concurrent runs racing for the next rules version
BATCH = 5000  # rows per executemany: a 70,000-part run is 14 round trips, each one statement


def _insert(session: Session, table):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def upsert(session: Session, model, rows: Sequence[dict], keys: Sequence[str]) -> None:
    """Insert rows, updating every non-key column where the key already exists.

    One statement with the rows as executemany parameters, in batches: SQLAlchemy sends them as
    multi-row VALUES pages (psycopg2, "insertmanyvalues") or a prepared executemany (SQLite), instead
    of compiling one statement with thousands of literal parameters per batch."""
    if not rows:
        return
    columns = [c for c in rows[0] if c not in keys]
    stmt = _insert(session, model.__table__)
    update = {c: stmt.excluded[c] for c in columns}
    stmt = (
        stmt.on_conflict_do_update(index_elements=list(keys), set_=update)
        if update
        else stmt.on_conflict_do_nothing(index_elements=list(keys))
    )
    if session.get_bind().dialect.name == "postgresql":
        # psycopg2 sends a plain executemany row by row; with RETURNING, SQLAlchemy pages the rows
        # into multi-row VALUES statements ("insertmanyvalues"): 70,000 rows in 70 round trips
        stmt = stmt.returning(*model.__table__.primary_key.columns)
    for start in range(0, len(rows), BATCH):
        session.execute(stmt, list(rows[start : start + BATCH])).close()


_JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for 70,000 rows, not one each


def _copy_field(value) -> str:
    """One field of PostgreSQL's COPY text format (JSON columns as their JSON text)."""
    if value is None:
        return "\\N"
    if type(value) is str:
        text = value
    elif isinstance(value, (dict, list)):
        text = _JSON_TEXT(value) if value else ("{}" if isinstance(value, dict) else "[]")
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:  # most fields need no escape
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def insert_replaced(session: Session, model, rows: Sequence[dict], keys: Sequence[str]) -> None:
    """Rows whose keys this transaction has just deleted: one COPY stream on PostgreSQL (psycopg2 or
    psycopg), the batched upsert elsewhere.

    COPY skips building and sending one parameter set per row: 70,000 inventory rows in about a
    second instead of several."""
    if not rows:
        return
    connection = session.connection()
    driver = connection.dialect.driver if connection.dialect.name == "postgresql" else ""
    if driver not in ("psycopg2", "psycopg"):
        upsert(session, model, rows, keys)
        return
    columns = list(rows[0])
    text = io.StringIO("".join(["\t".join([_copy_field(row[c]) for c in columns]) + "\n" for row in rows]))
    quoted = ", ".join(f'"{c}"' for c in columns)
    sql = f'COPY "{model.__tablename__}" ({quoted}) FROM STDIN'
    raw: Any = connection.connection.dbapi_connection  # psycopg2's or psycopg's own connection
    with raw.cursor() as cursor:
        if driver == "psycopg2":
            cursor.copy_expert(sql, text)
        else:
            with cursor.copy(sql) as copy:
                copy.write(text.getvalue())


class LibraryStore:
    """The pipeline's view of the library database (one session per call, committed)."""

    def __init__(self, url: str, failover: FailoverPolicy | None = None) -> None:
        self.url = url
        self.failover = failover or failover_policy()

    def _session(self) -> Session:
        return open_session(self.url)

    # -- runs ------------------------------------------------------------------------------
    @retried
    def start_run(
        self, run_id: str, dag_id: str, source: str, environment: str, level: str, work_dir: str
    ) -> None:
        with self._session() as s, s.begin():
            upsert(
                s,
                MigrationRun,
                [
                    dict(
                        run_id=run_id,
                        dag_id=dag_id,
                        source=source,
                        environment=environment,
                        validation_level=level,
                        status="running",
                        work_dir=work_dir,
                        report_path="",
                        deployed_version="",
                    )
                ],
                ["run_id"],
            )

    @retried
    def update_run(self, run_id: str, **values) -> None:
        with self._session() as s, s.begin():
            run = s.get(MigrationRun, run_id)
            if run is None:
                raise KeyError(f"library database has no run '{run_id}'")
            for key, value in values.items():
                setattr(run, key, value)

    @retried
    def run(self, run_id: str) -> MigrationRun | None:
        with self._session() as s:
            return s.get(MigrationRun, run_id)

    # -- inventory and conversion rows ------------------------------------------------------
    @retried
    def put_source_items(self, run_id: str, rows: Iterable[dict]) -> int:
        """The run's whole inventory: replaces what an earlier attempt stored (items gone from the
        source do not linger)."""
        data = [
            dict(
                run_id=run_id, library=r["library"], item=r["item"], kind=r["kind"], facts=r.get("facts", {})
            )
            for r in rows
        ]
        with self._session() as s, s.begin():
            s.execute(delete(SourceItem).where(SourceItem.run_id == run_id))
            insert_replaced(
                s,
                SourceItem,
                _dedupe(data, ("library", "item", "kind")),
                ["run_id", "library", "item", "kind"],
            )
        return len(data)

    @retried
    def source_items(self, run_id: str, kind: str | None = None) -> list[SourceItem]:
        with self._session() as s:
            q = select(SourceItem).where(SourceItem.run_id == run_id)
            if kind:
                q = q.where(SourceItem.kind == kind)
            return list(s.scalars(q.order_by(SourceItem.id)))

    @retried
    def put_converted_items(self, run_id: str, phase: str, rows: Iterable[dict]) -> int:
        """report.json rows (source, item, kind, target, status, messages) of one phase; they replace
        the rows an earlier attempt stored for the same libraries (an item no longer converted does
        not linger)."""
        data = [
            dict(
                run_id=run_id,
                phase=phase,
                library=r["source"],
                item=r["item"],
                kind=r["kind"],
                target=r.get("target", ""),
                status=r["status"],
                messages=list(r.get("messages", [])),
            )
            for r in rows
        ]
        with self._session() as s, s.begin():
            libraries = sorted({d["library"] for d in data})
            for start in range(0, len(libraries), BATCH):
                s.execute(
                    delete(ConvertedItem).where(
                        ConvertedItem.run_id == run_id,
                        ConvertedItem.phase == phase,
                        ConvertedItem.library.in_(libraries[start : start + BATCH]),
                    )
                )
            insert_replaced(
                s,
                ConvertedItem,
                _dedupe(data, ("library", "item", "kind")),
                ["run_id", "phase", "library", "item", "kind"],
            )
        return len(data)

    @retried
    def converted_items(self, run_id: str, phase: str = "full") -> list[ConvertedItem]:
        with self._session() as s:
            q = select(ConvertedItem).where(ConvertedItem.run_id == run_id, ConvertedItem.phase == phase)
            return list(s.scalars(q.order_by(ConvertedItem.library, ConvertedItem.kind, ConvertedItem.item)))

    @retried
    def converted_item_rows(self, run_id: str, phase: str = "full") -> list:
        """The same rows as plain tuples with named fields (library, item, kind, target, status,
        messages): reading 70,000 of them skips building 70,000 ORM objects."""
        c = ConvertedItem
        with self._session() as s:
            q = select(c.library, c.item, c.kind, c.target, c.status, c.messages).where(
                c.run_id == run_id, c.phase == phase
            )
            return list(s.execute(q))

    @retried
    def converted_items_fingerprint(self, run_id: str, phase: str = "full") -> list[int] | None:
        """(count, sum of ids, largest id) of a phase's rows on PostgreSQL, None elsewhere.

        Rows are only ever replaced by delete + insert (put_converted_items), and a PostgreSQL
        sequence never hands out an id twice: an insert raises the largest id, a delete lowers the
        count or the sum. One aggregate instead of reading 70,000 rows to see that nothing changed.
        SQLite may reuse the ids of deleted rows, so there the rows themselves must be compared."""
        c = ConvertedItem
        with self._session() as s:
            if s.get_bind().dialect.name != "postgresql":
                return None
            q = select(func.count(), func.coalesce(func.sum(c.id), 0), func.coalesce(func.max(c.id), 0))
            count, total, top = s.execute(q.where(c.run_id == run_id, c.phase == phase)).one()
            return [int(count), int(total), int(top)]

    @retried
    def status_counts(self, run_id: str, phase: str = "full") -> dict[str, int]:
        with self._session() as s:
            q = (
                select(ConvertedItem.status, func.count())
                .where(ConvertedItem.run_id == run_id, ConvertedItem.phase == phase)
                .group_by(ConvertedItem.status)
            )
            return {status: n for status, n in s.execute(q)}

    # -- mapping rules ------------------------------------------------------------------------
    @retried
    def put_mapping_rules(self, run_id: str, content: str, origin: str, actor: str) -> int:
        """Stores a rules text as a new version unless the same text is stored already. Concurrent
        runs may take the same next version (or store the same text) at once: the loser's insert
        violates the key and is tried again, reading what the winner stored."""
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        for attempt in range(RULES_VERSION_ATTEMPTS):
            try:
                return self._put_mapping_rules(run_id, content, digest, origin, actor)
            except IntegrityError:
                if attempt == RULES_VERSION_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _put_mapping_rules(self, run_id: str, content: str, digest: str, origin: str, actor: str) -> int:
        with self._session() as s, s.begin():
            found = s.scalar(select(MappingRulesVersion).where(MappingRulesVersion.sha256 == digest))
            if found:
                return found.version
            version = (s.scalar(select(func.max(MappingRulesVersion.version))) or 0) + 1
            s.add(
                MappingRulesVersion(
                    version=version,
                    sha256=digest,
                    content=content,
                    origin=origin,
                    run_id=run_id,
                    created_by=actor,
                )
            )
            s.add(
                AuditEntry(
                    actor=actor,
                    action="mapping_rules_version",
                    run_id=run_id,
                    detail={"version": version, "origin": origin, "sha256": digest},
                )
            )
            s.flush()  # the key violation surfaces here, inside the attempt
            return version

    @retried
    def mapping_rules(self, version: int) -> MappingRulesVersion | None:
        with self._session() as s:
            return s.get(MappingRulesVersion, version)

    # -- gates, metrics, audit ---------------------------------------------------------------
    @retried
    def put_gate(self, run_id: str, gate: str, level: str, success: bool, summary: dict) -> None:
        with self._session() as s, s.begin():
            upsert(
                s,
                GateResult,
                [dict(run_id=run_id, gate=gate, level=level, success=success, summary=summary)],
                ["run_id", "gate"],
            )

    @retried
    def gates(self, run_id: str) -> list[GateResult]:
        with self._session() as s:
            return list(
                s.scalars(select(GateResult).where(GateResult.run_id == run_id).order_by(GateResult.gate))
            )

    @retried
    def put_metrics(self, run_id: str, metrics: dict[str, tuple[float, str]]) -> None:
        rows = [
            dict(run_id=run_id, name=name, value=float(value), unit=unit)
            for name, (value, unit) in metrics.items()
        ]
        with self._session() as s, s.begin():
            upsert(s, ProgressMetric, rows, ["run_id", "name"])

    @retried
    def metrics(self, run_id: str) -> dict[str, ProgressMetric]:
        with self._session() as s:
            return {
                m.name: m for m in s.scalars(select(ProgressMetric).where(ProgressMetric.run_id == run_id))
            }

    def audit(self, run_id: str, actor: str, action: str, detail: dict | None = None) -> None:
        """One audit row; its UUID is chosen once, so a retry after a lost commit adds no second row."""
        self._insert_audit(uuid4().hex, run_id, actor, action, detail or {})

    @retried
    def _insert_audit(self, uid: str, run_id: str, actor: str, action: str, detail: dict) -> None:
        with self._session() as s, s.begin():
            upsert(
                s,
                AuditEntry,
                [dict(uid=uid, actor=actor, action=action, run_id=run_id, detail=detail)],
                ["uid"],
            )

    @retried
    def audit_log(self, run_id: str) -> list[AuditEntry]:
        with self._session() as s:
            return list(
                s.scalars(select(AuditEntry).where(AuditEntry.run_id == run_id).order_by(AuditEntry.id))
            )

    # -- user preferences (synced to every site) -------------------------------------------
    @retried
    def set_preference(self, user_id: str, key: str, value: dict) -> None:
        """Replaces one setting; the edit time is what last_write_wins compares between sites."""
        now = utcnow()
        with self._session() as s, s.begin():
            found = s.get(UserPreference, (user_id, key))
            if found is None:
                s.add(UserPreference(user_id=user_id, key=key, value=value, updated_at=now, changed_at=now))
            else:
                found.value, found.updated_at, found.changed_at, found.site = value, now, now, ""

    @retried
    def preferences(self, user_id: str) -> dict[str, dict]:
        with self._session() as s:
            rows = s.scalars(select(UserPreference).where(UserPreference.user_id == user_id))
            return {r.key: r.value for r in rows}


def failover_policy() -> FailoverPolicy:
    """high_availability.database of the pipeline configuration, as a FailoverPolicy."""
    from include.config import load_config

    db = load_config().high_availability.database
    f = db.connection_failover
    return FailoverPolicy(
        retry_interval=f.retry_interval,
        max_retries=f.max_retries,
        failure_threshold=f.circuit_breaker.failure_threshold,
        reset_timeout=f.circuit_breaker.reset_timeout,
        failover_timeout=db.failover_timeout,
    )


def _dedupe(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Last row wins per key: one INSERT .. ON CONFLICT may not touch a key twice."""
    key = itemgetter(*keys)  # a tuple of the key's fields, in C (70,000 rows of a big DbLib)
    seen = {key(row): row for row in rows}
    return list(seen.values())


def utcnow() -> datetime:
    return datetime.now(UTC)
