"""The library database: what every migration run found, converted, checked and deployed.

Rows are keyed by (run, library, item) so re-running a task upserts instead of duplicating.
Schema changes go through Alembic (include/library_db/migrations), never create_all at start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class MigrationRun(Base):
    __tablename__ = "migration_run"

    run_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    source: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(64))
    validation_level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default="running")
    work_dir: Mapped[str] = mapped_column(Text, default="")
    report_path: Mapped[str] = mapped_column(Text, default="")
    deployed_version: Mapped[str] = mapped_column(String(250), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SourceItem(Base):
    """One item of the source inventory (a library, symbol, footprint, model or part)."""

    __tablename__ = "source_item"
    __table_args__ = (UniqueConstraint("run_id", "library", "item", "kind", name="uq_source_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(250), index=True)
    library: Mapped[str] = mapped_column(Text)
    item: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    facts: Mapped[dict] = mapped_column(JSON, default=dict)


class ConvertedItem(Base):
    """One report.json row of a conversion phase ('test' or 'full')."""

    __tablename__ = "converted_item"
    __table_args__ = (
        UniqueConstraint("run_id", "phase", "library", "item", "kind", name="uq_converted_item"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(250), index=True)
    phase: Mapped[str] = mapped_column(String(16))
    library: Mapped[str] = mapped_column(Text)
    item: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    messages: Mapped[list] = mapped_column(JSON, default=list)


class MappingRulesVersion(Base):
    __tablename__ = "mapping_rules_version"
    __table_args__ = (UniqueConstraint("sha256", name="uq_mapping_rules_sha"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text)  # generated from <source> / edited file <path>
    run_id: Mapped[str] = mapped_column(String(250))
    created_by: Mapped[str] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # when this database got the row (site sync's watermark; a synced row keeps created_at)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


class GateResult(Base):
    __tablename__ = "gate_result"
    __table_args__ = (UniqueConstraint("run_id", "gate", name="uq_gate_result"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(250), index=True)
    gate: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column()
    summary: Mapped[dict] = mapped_column(JSON, default=dict)


class ProgressMetric(Base):
    __tablename__ = "progress_metric"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_progress_metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(250), index=True)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32), default="")


class AuditEntry(Base):
    """Who did what when: approvals, deployments, rule edits (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(250))
    action: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str] = mapped_column(String(250), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    # identity across sites (site sync copies rows by it, never by the local id)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid4().hex)
    site: Mapped[str] = mapped_column(String(64), default="")  # where it happened; "" here


class UserPreference(Base):
    """A designer's or manager's setting (key -> JSON value), kept per user and synced to sites."""

    __tablename__ = "user_preference"

    user_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))
    site: Mapped[str] = mapped_column(String(64), default="")  # where it was last edited


class SyncState(Base):
    """How far one item has travelled to (or from) one site: the watermark a re-run resumes from."""

    __tablename__ = "sync_state"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    item: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)  # push (to site) | pull
    watermark: Mapped[str] = mapped_column(Text, default="")
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    transferred: Mapped[int] = mapped_column(Integer, default=0)  # rows or files, all runs


class SyncLag(Base):
    """One measurement of how far a site is behind for one item (age of the newest change not there)."""

    __tablename__ = "sync_lag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    item: Mapped[str] = mapped_column(String(64))
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lag_seconds: Mapped[float] = mapped_column(Float)
    pending: Mapped[int] = mapped_column(Integer)  # rows or files not yet at the site
