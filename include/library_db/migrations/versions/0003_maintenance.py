"""Maintenance records: maintenance runs (statistics before/after) and window announcements.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_run",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False, index=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.UniqueConstraint("kind", "run_id", name="uq_maintenance_run"),
    )
    op.create_table(
        "maintenance_announcement",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("window_name", sa.String(250), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_hours", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("window_name", "opens_at", "lead_hours", name="uq_maintenance_announcement"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_announcement")
    op.drop_table("maintenance_run")
