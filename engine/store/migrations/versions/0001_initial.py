"""Initial schema: inventory, orders, lines, tags, reservations, ledger, events, rule runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('processed', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_events_pending', 'events', ['processed', 'id'], unique=False)
    op.create_table('inventory',
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=100), nullable=False),
    sa.Column('on_hand', sa.Integer(), server_default='0', nullable=False),
    sa.Column('allocated', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('sku', 'warehouse')
    )
    op.create_table('ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=100), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=32), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=True),
    sa.Column('ruleset', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ledger_order', 'ledger', ['order_id', 'id'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('allocation_status', sa.String(length=32), nullable=False),
    sa.Column('ship_to_name', sa.String(length=300), nullable=True),
    sa.Column('ship_to_country', sa.String(length=2), nullable=True),
    sa.Column('ship_to_state', sa.String(length=100), nullable=True),
    sa.Column('ship_to_city', sa.String(length=200), nullable=True),
    sa.Column('ship_to_postal_code', sa.String(length=32), nullable=True),
    sa.Column('shipping_method', sa.String(length=100), nullable=True),
    sa.Column('total', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('warehouse', sa.String(length=100), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('unit_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_orders_channel', 'orders', ['channel'], unique=False)
    op.create_index('ix_orders_open', 'orders', ['status', 'allocation_status', 'placed_at'], unique=False)
    op.create_table('rule_runs',
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('slot', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ruleset', sa.String(length=64), nullable=False),
    sa.Column('ran_at', sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint('rule', 'slot', name='uq_rule_runs_rule_slot')
    )
    op.create_table('order_lines',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'line_no')
    )
    op.create_index('ix_order_lines_sku', 'order_lines', ['sku'], unique=False)
    op.create_table('order_tags',
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('tag', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'tag')
    )
    op.create_index('ix_order_tags_tag', 'order_tags', ['tag'], unique=False)
    op.create_table('reservations',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=200), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=200), nullable=False),
    sa.Column('warehouse', sa.String(length=100), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('covered', sa.Boolean(), nullable=False),
    sa.Column('reserved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_reservations_order', 'reservations', ['order_id', 'line_no'], unique=False)
    op.create_index('ix_reservations_stock', 'reservations', ['sku', 'warehouse', 'seq'], unique=False)


def downgrade() -> None:
    for table in ("rule_runs", "events", "ledger", "reservations", "order_lines", "order_tags",
                  "orders", "inventory"):
        op.drop_table(table)
