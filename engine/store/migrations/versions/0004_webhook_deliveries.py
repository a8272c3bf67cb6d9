"""Webhook deliveries seen (dedup across restarts and servers) and the keyset index of listings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"  # chained after sync's 0003 when the sync branch merged
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "delivery_id"),
    )
    op.create_index("ix_orders_placed_id", "orders", ["placed_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_placed_id", table_name="orders")
    op.drop_table("webhook_deliveries")
