"""Exact money: orders.total as a whole number of 1/10,000ths in a BIGINT (was NUMERIC(18,4)).

SQLite keeps NUMERIC as a double, so 99999999999999.9999 came back as 100000000000000.00; an
integer column is exact on every backend. Existing totals are multiplied by 10,000 and rounded
(on SQLite they were doubles already: what was lost is not recovered, but nothing more is).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE orders ALTER COLUMN total TYPE BIGINT USING round(total * 10000)::bigint"
        )
        return
    op.execute("UPDATE orders SET total = CAST(round(total * 10000) AS INTEGER)")
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "total", existing_type=sa.Numeric(18, 4), type_=sa.BigInteger(), existing_nullable=True
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE orders ALTER COLUMN total TYPE NUMERIC(18, 4) USING total / 10000.0"
        )
        return
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "total", existing_type=sa.BigInteger(), type_=sa.Numeric(18, 4), existing_nullable=True
        )
    op.execute("UPDATE orders SET total = total / 10000.0")
