"""Indexes a big SQLite batch builds once at its end instead of keeping them up to date row by
row (`indexes_deferred`).

SQLite's DDL is transactional: the index is dropped and built again inside the batch's own
write transaction, so a rollback keeps the old one and readers (WAL) see the old one until the
commit. Measured on `allocate --all` of 100k orders / 250k reservations (tests/bench/
bench_allocate.py):

- `ix_reservations_stock` (sku, warehouse, seq): the reservations come in queue order, not by
  SKU, so each is a random B-tree insert: 0.27 s of the 0.6 s the inserts cost, against 0.1 s
  to sort them into a new index once.
- `ix_orders_open` (status, allocation_status, placed_at): every status change moves the
  order's entry: 0.18 s of the 0.35 s the status updates cost, against 0.09 s to build it.

A rebuild sorts the whole table, so it is done only when the batch is big next to the table
(`_DEFERRABLE`). Nothing in a batch reads through these indexes between the drop and the
rebuild (the queue is staged before, and read by primary key).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Index

from engine.store.bulk import Bulk
from engine.store.schema import orders_open_index, reservations_stock_index

#: A SQLite batch of fewer orders keeps every index up to date as it writes.
DEFER_INDEX_AT = 20_000
#: (index, its table, how many rows per queued order the table may hold for a rebuild to pay).
_DEFERRABLE = ((reservations_stock_index, "reservations", 1), (orders_open_index, "orders", 2))
#: The connection's `info` key of the indexes an enclosing `indexes_deferred` holds.
_HELD = "dibs_deferred_indexes"


@contextmanager
def indexes_deferred(bulk: Bulk, orders: int) -> Iterator[None]:
    """Drop the `_DEFERRABLE` indexes that a SQLite batch of `orders` queued orders is big
    enough for, and build them again when it ends. Should the batch fail, they are built
    again before the error goes on (a caller that catches it and commits keeps them). Nested
    (a rule tick defers them for its whole queue, then runs the batch chunk by chunk), the
    inner call leaves the outer one's indexes to it."""
    held: set[str] = bulk.conn.info.setdefault(_HELD, set())
    chosen: list[Index] = []
    if bulk.dialect.name == "sqlite" and orders >= DEFER_INDEX_AT:
        chosen = [
            index
            for index, table, per_order in _DEFERRABLE
            if index.name not in held and _rows_at_most(bulk, table, orders * per_order)
        ]
    names = {str(index.name) for index in chosen}
    for index in chosen:
        bulk.query(f"DROP INDEX {index.name}")
    held.update(names)
    try:
        yield
    except BaseException:
        with suppress(Exception):
            _build(bulk, chosen)
        raise
    finally:
        held.difference_update(names)
    _build(bulk, chosen)


def _rows_at_most(bulk: Bulk, table: str, limit: int) -> bool:
    found = bulk.query(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?)", (limit + 1,))
    return int(found[0][0]) <= limit


def _build(bulk: Bulk, indexes: list[Index]) -> None:
    for index in indexes:
        index.create(bulk.conn)
