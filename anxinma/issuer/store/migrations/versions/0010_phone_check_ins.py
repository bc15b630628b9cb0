"""check-ins from the worker's phone: each check-in's source (desk or phone) and the phone's nonce

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-08 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=8), server_default="desk", nullable=False))
        batch_op.add_column(sa.Column("nonce", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.drop_column("nonce")
        batch_op.drop_column("source")
