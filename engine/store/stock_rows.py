"""Stock rows in bulk: on-hand writes, the `inventory.changed` events of a stock change, and the
reservations of many stock keys at once (what coverage is recomputed from).

A stock file of 100k SKUs is one read of the current stock, one executemany per kind of write
and one read of the reservations of the keys that moved; per row, statements built and compiled
by SQLAlchemy were most of `inventory import`'s time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from engine.model import EventType, StockKey
from engine.store.bulk import Bulk
from engine.store.schema import events, inventory

#: Values per IN (…) list (PostgreSQL takes at most 65,535 parameters per statement).
IN_CHUNK = 5000

_EVENT_COLUMNS = ("at", "type", "order_id", "payload", "processed")

#: One reservation as coverage needs it: (seq, order id, qty, covered).
HeldRow = tuple[int, str, int, bool]


def write_on_hand_many(
    conn: Connection,
    updates: Sequence[tuple[int, str, str]],
    inserts: Sequence[tuple[str, str, int]],
) -> None:
    """Set on hand of existing rows (`(on_hand, sku, warehouse)`) and create the rows that do
    not exist yet (`(sku, warehouse, on_hand)`, nothing allocated), in key order.

    The caller holds the locks of the existing rows (`Tx.lock_stock`, sorted), so on PostgreSQL
    the updates are one statement over arrays, whatever order it visits the rows in.
    """
    bulk = Bulk(conn)
    ordered = sorted(updates, key=lambda row: (row[1], row[2]))
    if bulk.can_copy:
        if ordered:
            qty, sku, wh = (list(column) for column in zip(*ordered, strict=True))
            bulk.query(
                "UPDATE inventory SET on_hand = v.on_hand "
                "FROM unnest(?::int[], ?::text[], ?::text[]) AS v(on_hand, sku, warehouse) "
                "WHERE inventory.sku = v.sku AND inventory.warehouse = v.warehouse",
                (qty, sku, wh),
            )
    else:
        bulk.run_many("UPDATE inventory SET on_hand = ? WHERE sku = ? AND warehouse = ?", ordered)
    new = [(sku, wh, qty, 0) for sku, wh, qty in sorted(inserts)]
    columns = ("sku", "warehouse", "on_hand", "allocated")
    if bulk.can_copy:
        bulk.copy(inventory, columns, new)
    else:
        bulk.insert(inventory, columns, new)


def record_stock_events(conn: Connection, at: datetime, payloads: Sequence[dict[str, Any]]) -> None:
    """One `inventory.changed` event per payload, in the order given (SPEC §13)."""
    if not payloads:
        return
    bulk = Bulk(conn)
    stamp = bulk.value(events.c.at, at)
    as_json = bulk.processor(events.c.payload)
    done = bulk.value(events.c.processed, False)
    kind = str(EventType.INVENTORY_CHANGED)
    rows = [(stamp, kind, None, as_json(p), done) for p in payloads]
    if bulk.can_copy:
        bulk.copy(events, _EVENT_COLUMNS, rows)
    else:
        bulk.insert(events, _EVENT_COLUMNS, rows)


def held_by_key(conn: Connection, keys: Iterable[StockKey]) -> dict[StockKey, list[HeldRow]]:
    """The reservations of every key of `keys` that has some, oldest (lowest seq) first: one
    read per IN_CHUNK SKUs, whatever the number of keys."""
    wanted = set(keys)
    out: dict[StockKey, list[HeldRow]] = defaultdict(list)
    if not wanted:
        return out
    bulk = Bulk(conn)
    skus = sorted({sku for sku, _ in wanted})
    for start in range(0, len(skus), IN_CHUNK):
        rows = bulk.fetch_in(
            "SELECT sku, warehouse, seq, order_id, qty, covered FROM reservations "
            "WHERE sku IN ({in}) ORDER BY sku, warehouse, seq",
            skus[start : start + IN_CHUNK],
        )
        for sku, wh, seq, order_id, qty, covered in rows:
            if (sku, wh) in wanted:
                out[(sku, wh)].append((seq, order_id, qty, bool(covered)))
    return out
