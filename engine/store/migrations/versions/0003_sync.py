"""What channel sync remembers per order: the channel's updated_at and a content hash.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("channel_updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sync_hash", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("sync_hash")
        batch.drop_column("channel_updated_at")
