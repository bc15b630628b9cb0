"""visits and ratings: the token of 确认入户, one rating per visit and side, complaints bound to visits

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00

The ``visits`` table of 0001 was written by nothing before this revision (it was left for the
consumer page), so its new NOT NULL columns need no default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("token_hash", sa.String(length=64), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_visits_enterprise_id_enterprises"), "enterprises", ["enterprise_id"], ["id"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_visits_token_hash"), ["token_hash"])
        batch_op.create_index("ix_visits_enterprise_id", ["enterprise_id", "id"], unique=False)
        batch_op.create_index(
            "ix_visits_serial_confirmed", ["credential_serial", "confirmed_at"], unique=False
        )
        batch_op.create_index("ix_visits_confirmed_at", ["confirmed_at"], unique=False)

    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ratings_enterprise_id_enterprises"), "enterprises", ["enterprise_id"], ["id"]
        )
        batch_op.create_index("uq_ratings_visit_source", ["visit_id", "source"], unique=True)
        batch_op.create_index("ix_ratings_worker_source", ["worker_id", "source"], unique=False)
        batch_op.create_index("ix_ratings_enterprise_source", ["enterprise_id", "source"], unique=False)

    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("enterprise_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("credential_serial", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("category", sa.String(length=16), nullable=False, server_default="other")
        )
        batch_op.add_column(
            sa.Column(
                "filed_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_visit_id_visits"), "visits", ["visit_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complaints_enterprise_id_enterprises"), "enterprises", ["enterprise_id"], ["id"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_complaints_visit_id"), ["visit_id"])
        batch_op.create_index("ix_complaints_enterprise_id", ["enterprise_id", "id"], unique=False)
        batch_op.create_index("ix_complaints_resolved", ["resolved", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_resolved")
        batch_op.drop_index("ix_complaints_enterprise_id")
        batch_op.drop_constraint(batch_op.f("uq_complaints_visit_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_complaints_enterprise_id_enterprises"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_complaints_visit_id_visits"), type_="foreignkey")
        for column in (
            "resolution",
            "resolved_by",
            "resolved_at",
            "filed_at",
            "category",
            "credential_serial",
            "enterprise_id",
            "visit_id",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_enterprise_source")
        batch_op.drop_index("ix_ratings_worker_source")
        batch_op.drop_index("uq_ratings_visit_source")
        batch_op.drop_constraint(batch_op.f("fk_ratings_enterprise_id_enterprises"), type_="foreignkey")
        batch_op.drop_column("enterprise_id")

    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_confirmed_at")
        batch_op.drop_index("ix_visits_serial_confirmed")
        batch_op.drop_index("ix_visits_enterprise_id")
        batch_op.drop_constraint(batch_op.f("uq_visits_token_hash"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_visits_enterprise_id_enterprises"), type_="foreignkey")
        batch_op.drop_column("token_hash")
        batch_op.drop_column("enterprise_id")
