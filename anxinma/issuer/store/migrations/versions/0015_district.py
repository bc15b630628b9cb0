"""district: a regulator account (console user or API token) confined to one district (issue 21)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("district", sa.String(length=6), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("district", sa.String(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("district")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("district")
