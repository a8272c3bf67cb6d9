"""When a delivery last failed, so `dibs status` can tell when a receiver went down, and an
index by status, so it finds the deliveries not delivered among all those ever queued.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_deliveries_status", "deliveries", ["status", "endpoint"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deliveries_status", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("last_failed_at")
