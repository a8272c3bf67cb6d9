"""Storage: the only room that knows SQL dialects.

`schema` names the tables; `database` opens engines and transactions and takes locks; `rows`
reads and writes orders and stock in bulk and turns rows into domain objects; `bulk` is the raw
DB-API cursor for the hot paths; `outbox` writes and claims events; `ordering` and `sqlfilter`
turn `--order-by` keys and rule conditions into SQL; `migrate` applies the shipped Alembic
migrations on first use.
"""

from engine.store.database import SCHEMA_REVISION, Store, make_engine
from engine.store.schema import (
    FIELD_COLUMNS,
    deliveries,
    events,
    inventory,
    kits,
    ledger,
    metadata,
    order_lines,
    order_tags,
    orders,
    reservations,
    rule_runs,
    webhook_deliveries,
)

__all__ = [
    "FIELD_COLUMNS",
    "SCHEMA_REVISION",
    "Store",
    "deliveries",
    "events",
    "inventory",
    "kits",
    "ledger",
    "make_engine",
    "metadata",
    "order_lines",
    "order_tags",
    "orders",
    "reservations",
    "rule_runs",
    "webhook_deliveries",
]
