"""the rating rule and reports of fake codes: verified visits, counted and weighted ratings, code reports

Revision ID: 0007
Revises: 0010
Create Date: 2026-12-08 03:30:00

Issue 17 findings 4 and 6, issue 18 item 6 (docs/page.md, "Ratings a photo cannot move" and
"Report a fake"). A visit made from a dynamic code is ``verified``; each consumer rating says
whether it counts toward the public average, with which weight, why not (``flag``) and the
keyed hash of the client that sent it. Existing ratings keep counting with weight 1, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("counted", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("weight", sa.SmallInteger(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("flag", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("client_hash", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_ratings_client_created", ["client_hash", "created_at"], unique=False)
        batch_op.create_index("ix_ratings_serial_created", ["credential_serial", "created_at"], unique=False)
        batch_op.create_index(
            "ix_ratings_public",
            ["worker_id", "source", "counted", "verified", "weight", "score"],
            unique=False,
        )

    op.create_table(
        "code_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_hash", sa.String(length=16), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("verdict_status", sa.String(length=32), nullable=False),
        sa.Column("verdict_reason", sa.String(length=48), nullable=True),
        sa.Column("issuer_code", sa.Integer(), nullable=True),
        sa.Column("serial", sa.BigInteger(), nullable=True),
        sa.Column("record_status", sa.String(length=16), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_code_reports_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_code_reports_worker_id_workers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_reports")),
    )
    with op.batch_alter_table("code_reports", schema=None) as batch_op:
        batch_op.create_index("ix_code_reports_enterprise_id", ["enterprise_id", "id"], unique=False)
        batch_op.create_index("ix_code_reports_client_filed", ["client_hash", "filed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("code_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_code_reports_client_filed")
        batch_op.drop_index("ix_code_reports_enterprise_id")
    op.drop_table("code_reports")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_public")
        batch_op.drop_index("ix_ratings_serial_created")
        batch_op.drop_index("ix_ratings_client_created")
        for column in ("client_hash", "flag", "weight", "counted", "verified"):
            batch_op.drop_column(column)
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_column("verified")
