"""The database schema (SQLAlchemy Core tables): the one place that names tables and columns.

Everything is SQLAlchemy Core on purpose: the allocation core reads and writes in bulk, and the
ORM's unit of work was measured at a fraction of Core's speed for that (GUIDE "Bulk work").
"""

from __future__ import annotations

from decimal import Decimal
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
    PrimaryKeyConstraint,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

from engine.model import MONEY_STEP, Length
from rules.columns import ORDER_COLUMNS

metadata = MetaData()


class Money(TypeDecorator[Decimal]):
    """An exact amount with 4 decimal places, stored as a whole number of 1/10,000ths in a
    BIGINT on every backend (SQLite's NUMERIC is a double: 99999999999999.9999 came back as
    100000000000000.00). Bound values, including the literals of `--where total > 100`, are
    converted by the column type, so comparisons and ORDER BY work on the integers."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return int(amount.scaleb(4).to_integral_value())

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-4).quantize(MONEY_STEP)


inventory = Table(
    "inventory",
    metadata,
    Column("sku", String(Length.SKU), nullable=False),
    Column("warehouse", String(Length.WAREHOUSE), nullable=False),
    Column("on_hand", Integer, nullable=False, server_default="0"),
    # Denormalised Σ live reservations, kept in the same transaction as the reservations so
    # availability is one row read; property tests check it against the reservations.
    Column("allocated", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("sku", "warehouse"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(Length.ORDER_ID), primary_key=True),
    Column("channel", String(Length.CHANNEL), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("status", String(Length.STATUS), nullable=False),
    Column("allocation_status", String(Length.STATUS), nullable=False),
    Column("ship_to_name", String(Length.SHIP_TO_NAME)),
    Column("ship_to_country", String(Length.COUNTRY)),
    Column("ship_to_state", String(Length.STATE)),
    Column("ship_to_city", String(Length.CITY)),
    Column("ship_to_postal_code", String(Length.POSTAL_CODE)),
    Column("shipping_method", String(Length.SHIPPING_METHOD)),
    Column("total", Money()),
    Column("warehouse", String(Length.WAREHOUSE), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("unit_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Sync (SPEC §9): the channel's own last-change time of the copy last applied (an older
    # copy is stale), and a hash of the content last received, so an unchanged copy is
    # recognised without loading the order. Both NULL for orders that never came from a sync.
    Column("channel_updated_at", DateTime(timezone=True)),
    Column("sync_hash", String(Length.SYNC_HASH)),
    # Built once after a big SQLite batch (`engine.service.batch_indexes`).
    Index("ix_orders_open", "status", "allocation_status", "placed_at"),
    Index("ix_orders_channel", "channel"),
    # The default listing order (FIFO): keyset pagination of the HTTP API walks it.
    Index("ix_orders_placed_id", "placed_at", "id"),
)

order_tags = Table(
    "order_tags",
    metadata,
    Column(
        "order_id",
        String(Length.ORDER_ID),
        ForeignKey("orders.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tag", String(Length.TAG), nullable=False),
    PrimaryKeyConstraint("order_id", "tag"),
    Index("ix_order_tags_tag", "tag"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column(
        "order_id",
        String(Length.ORDER_ID),
        ForeignKey("orders.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(Length.SKU), nullable=False),
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
    Column(
        "order_id",
        String(Length.ORDER_ID),
        ForeignKey("orders.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(Length.SKU), nullable=False),
    Column("warehouse", String(Length.WAREHOUSE), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("covered", Boolean, nullable=False),
    Column("reserved_at", DateTime(timezone=True), nullable=False),
    # Built once after a big SQLite batch (`engine.service.batch_indexes`).
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
    Column("order_id", String(Length.ORDER_ID), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(Length.SKU), nullable=False),
    Column("warehouse", String(Length.WAREHOUSE), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("operation", String(Length.OPERATION), nullable=False),
    Column("rule", String(Length.RULE_NAME)),
    Column("ruleset", String(Length.RULESET)),
    Column("actor", String(Length.ACTOR)),
    Index("ix_ledger_order", "order_id", "id"),
)

events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("type", String(Length.EVENT_TYPE), nullable=False),
    Column("order_id", String(Length.ORDER_ID)),
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
    Column("endpoint", String(Length.NOTIFY_ENDPOINT), nullable=False),
    # Deliveries of one order go out in event order, per endpoint; NULL: no order, no queue.
    Column("order_id", String(Length.ORDER_ID)),
    Column("status", String(Length.DELIVERY_STATUS), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    # A worker's lease on an attempt in flight; expired, the delivery is due again.
    Column("claimed_until", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", String(Length.ERROR_MESSAGE)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    # When the last failed attempt was (or the delivery was given up): what `dibs status` tells.
    Column("last_failed_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "endpoint", name="uq_deliveries_event_endpoint"),
    Index("ix_deliveries_due", "endpoint", "status", "next_at"),
    Index("ix_deliveries_order", "endpoint", "order_id", "event_id"),
    # The few deliveries not delivered, by status, among every one ever queued: `dibs status`
    # and giving up those of an endpoint that left the rule file.
    Index("ix_deliveries_status", "status", "endpoint"),
)

rule_runs = Table(
    "rule_runs",
    metadata,
    Column("rule", String(Length.RULE_NAME), nullable=False),
    Column("slot", DateTime(timezone=True), nullable=False),
    Column("ruleset", String(Length.RULESET), nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("rule", "slot", name="uq_rule_runs_rule_slot"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # A channel's delivery id, recorded in the transaction that applies the delivery: the
    # unique key makes a redelivery (or the same delivery at a second server) a no-op.
    Column("channel", String(Length.WEBHOOK_CHANNEL), nullable=False),
    Column("delivery_id", String(Length.ORDER_ID), nullable=False),
    Column("topic", String(Length.WEBHOOK_TOPIC), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("channel", "delivery_id"),
)

kits = Table(
    "kits",
    metadata,
    # One row per (kit, component): a kit SKU is made of `qty` units of each component (SPEC
    # §12). A kit has no stock row of its own; its lines reserve these components.
    Column("kit", String(Length.SKU), nullable=False),
    Column("component", String(Length.SKU), nullable=False),
    Column("qty", Integer, nullable=False),
    PrimaryKeyConstraint("kit", "component"),
    Index("ix_kits_component", "component"),
)


def index_of(table: Table, name: str) -> Index:
    """The index `name` of `table`."""
    return next(index for index in table.indexes if index.name == name)


#: Open orders by status (the dashboard's counts, the queue's selection).
orders_open_index = index_of(orders, "ix_orders_open")
#: The reservations of a (sku, warehouse) in coverage order.
reservations_stock_index = index_of(reservations, "ix_reservations_stock")

#: Rule-language fields that are plain columns of `orders` (SPEC §7), for ordering and filters:
#: derived from the one field table, `rules.columns.ORDER_COLUMNS`.
FIELD_COLUMNS: dict[str, Column[Any]] = {
    name: orders.c[column] for name, column in ORDER_COLUMNS.items()
}
