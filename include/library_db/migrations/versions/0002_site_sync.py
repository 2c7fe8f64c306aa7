"""Site synchronisation: audit rows get a cross-site identity; user preferences; sync watermarks and lag.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from uuid import uuid4

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("uid", sa.String(32), nullable=True))
        batch.add_column(sa.Column("site", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("mapping_rules_version") as batch:
        batch.add_column(
            sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)
        )
    conn = op.get_bind()
    audit = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("uid", sa.String))
    for (row_id,) in conn.execute(sa.select(audit.c.id)).all():  # existing rows: a fresh identity each
        conn.execute(audit.update().where(audit.c.id == row_id).values(uid=uuid4().hex))
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("uid", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_audit_log_uid", ["uid"])
    op.create_table(
        "user_preference",
        sa.Column("user_id", sa.String(250), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("site", sa.String(64), nullable=False, server_default=""),
    )
    op.create_table(
        "sync_state",
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("item", sa.String(64), primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("watermark", sa.Text(), nullable=False, server_default=""),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transferred", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "sync_lag",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(64), nullable=False, index=True),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lag_seconds", sa.Float(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_lag")
    op.drop_table("sync_state")
    op.drop_table("user_preference")
    with op.batch_alter_table("mapping_rules_version") as batch:
        batch.drop_column("changed_at")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_uid", type_="unique")
        batch.drop_column("site")
        batch.drop_column("uid")
