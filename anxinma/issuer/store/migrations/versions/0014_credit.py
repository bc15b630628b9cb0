"""credit: each enterprise's daily credit grade and the regulator's red list (issue 21)

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-08 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_grades",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("model", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("grade", sa.String(length=2), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_credit_grades_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "day", name=op.f("pk_credit_grades")),
    )
    with op.batch_alter_table("credit_grades", schema=None) as batch_op:
        batch_op.create_index("ix_credit_grades_day", ["day", "enterprise_id"], unique=False)
    op.create_table(
        "red_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("evidence_ref", sa.String(length=256), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=64), nullable=True),
        sa.Column("removal_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_red_list_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_red_list")),
    )
    with op.batch_alter_table("red_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_red_list_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(
            "uq_red_list_active_enterprise",
            ["enterprise_id"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("red_list", schema=None) as batch_op:
        batch_op.drop_index("uq_red_list_active_enterprise")
        batch_op.drop_index(batch_op.f("ix_red_list_enterprise_id"))
    op.drop_table("red_list")
    with op.batch_alter_table("credit_grades", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_grades_day")
    op.drop_table("credit_grades")
