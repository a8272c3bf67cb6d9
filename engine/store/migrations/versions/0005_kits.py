"""Kits: a kit SKU and the components one kit unit reserves (SPEC §12).

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kits",
        sa.Column("kit", sa.String(length=200), nullable=False),
        sa.Column("component", sa.String(length=200), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kit", "component"),
    )
    op.create_index("ix_kits_component", "kits", ["component"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_kits_component", table_name="kits")
    op.drop_table("kits")
