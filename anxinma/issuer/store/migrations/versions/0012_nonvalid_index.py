"""credentials: a partial index of the serials whose status is not valid (issue 19, cold start)

A process reads a shard's statuses when first asked for: only the non-valid serials (most are
valid, a zero), through this index, instead of scanning every credential of the shard.

Revision ID: 0012
Revises: 0005
Create Date: 2026-12-08 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0005"
branch_labels = None
depends_on = None

WHERE = sa.text("status_value != 0")


def upgrade() -> None:
    op.create_index(
        "ix_credentials_nonvalid_serial",
        "credentials",
        ["serial", "status_value"],
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_credentials_nonvalid_serial", table_name="credentials")
