"""The database schema (SQLAlchemy Core tables): the one place that names tables and columns.

Everything is SQLAlchemy Core on purpose: the allocation core reads and writes in bulk, and the
ORM's unit of work was measured at a fraction of Core's speed for that (GUIDE "Bulk work").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from rules.vocabulary import ORDER_COLUMNS

metadata = MetaData()

inventory = Table(
    "inventory",
    metadata,
    Column("sku", String(200), nullable=False),
    Column("warehouse", String(100), nullable=False),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    # Denormalised Σ live reservations, kept in the same transaction as the reservations so
    # availability is one row read; property tests check it against the reservations.
    Column("allocated", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("sku", "warehouse"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("channel", String(100), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("status", String(32), nullable=False),
    Column("allocation_status", String(32), nullable=False),
    Column("ship_to_name", String(300)),
    Column("ship_to_country", String(2)),
    Column("ship_to_state", String(100)),
    Column("ship_to_city", String(200)),
    Column("ship_to_postal_code", String(32)),
    Column("shipping_method", String(100)),
    Column("total", Numeric(18, 4)),
    Column("warehouse", String(100), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("unit_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_orders_open", "status", "allocation_status", "placed_at"),
    Index("ix_orders_channel", "channel"),
)

order_tags = Table(
    "order_tags",
    metadata,
    Column("order_id", String(200), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("tag", String(100), nullable=False),
    PrimaryKeyConstraint("order_id", "tag"),
    Index("ix_order_tags_tag", "tag"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(200), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(200), nullable=False),
    Column("qty", Integer, nullable=False),
    # Denormalised Σ live reservations of this line: the allocation loop reads it with the line.
    Column("reserved", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("order_id", "line_no"),
    Index("ix_order_lines_sku", "sku"),
)

reservations = Table(
    "reservations",
    metadata,
    # The id is the coverage sequence: first reserved, first covered (SPEC §3).
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("order_id", String(200), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(200), nullable=False),
    Column("warehouse", String(100), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("covered", Boolean, nullable=False),
    Column("reserved_at", DateTime(timezone=True), nullable=False),
    Index("ix_reservations_stock", "sku", "warehouse", "seq"),
    Index("ix_reservations_order", "order_id", "line_no"),
)

ledger = Table(
    "ledger",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("order_id", String(200), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(200), nullable=False),
    Column("warehouse", String(100), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("operation", String(32), nullable=False),
    Column("rule", String(200)),
    Column("ruleset", String(64)),
    Column("actor", String(200)),
    Index("ix_ledger_order", "order_id", "id"),
)

events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("type", String(50), nullable=False),
    Column("order_id", String(200)),
    Column("payload", JSON, nullable=False),
    # A per-row flag, never "id > last seen": ids commit out of order (GUIDE "Outbox").
    Column("processed", Boolean, nullable=False, server_default="0"),
    Column("processed_at", DateTime(timezone=True)),
    # No index by order: `allocate --all` writes an event per order, and a second index on
    # them cost a third of what telling the changes costs (tests/bench/bench_events.py).
    Index("ix_events_pending", "processed", "id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    # One outbound webhook delivery: an event for one `notify:` endpoint (SPEC §13), queued by
    # the tick that processes the event (the outbox consumer), in the same transaction.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("endpoint", String(200), nullable=False),
    # Deliveries of one order go out in event order, per endpoint; NULL: no order, no queue.
    Column("order_id", String(200)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    # A worker's lease on an attempt in flight; expired, the delivery is due again.
    Column("claimed_until", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "endpoint", name="uq_deliveries_event_endpoint"),
    Index("ix_deliveries_due", "endpoint", "status", "next_at"),
    Index("ix_deliveries_order", "endpoint", "order_id", "event_id"),
)

rule_runs = Table(
    "rule_runs",
    metadata,
    Column("rule", String(200), nullable=False),
    Column("slot", DateTime(timezone=True), nullable=False),
    Column("ruleset", String(64), nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("rule", "slot", name="uq_rule_runs_rule_slot"),
)

#: Rule-language fields that are plain columns of `orders` (SPEC §7), for ordering and filters:
#: derived from the one field table, `rules.vocabulary.ORDER_COLUMNS`.
FIELD_COLUMNS: dict[str, Column[Any]] = {
    name: orders.c[column] for name, column in ORDER_COLUMNS.items()
}
