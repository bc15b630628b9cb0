"""check-ins (按月打卡): one row per worker and month, counted per enterprise

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_ins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("credential_serial", sa.BigInteger(), nullable=False),
        sa.Column("card_uid", sa.String(length=20), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("tapped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_check_ins_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_check_ins_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
    )
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index("uq_check_ins_worker_month", ["worker_id", "month"], unique=True)
        batch_op.create_index(
            "ix_check_ins_enterprise_month", ["enterprise_id", "month", "worker_id"], unique=False
        )
        batch_op.create_index(
            "ix_check_ins_month_enterprise", ["month", "enterprise_id", "worker_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.drop_index("ix_check_ins_month_enterprise")
        batch_op.drop_index("ix_check_ins_enterprise_month")
        batch_op.drop_index("uq_check_ins_worker_month")
    op.drop_table("check_ins")
