"""Indexes a big SQLite batch builds once at its end instead of keeping them up to date row by
row (`indexes_deferred`): an allocation batch (`ALLOCATION`) and a plain order import
(`IMPORT`).

SQLite's DDL is transactional: the index is dropped and built again inside the batch's own
write transaction, so a rollback keeps the old one and readers (WAL) see the old one until the
commit. Measured on `allocate --all` of 100k orders / 250k reservations (tests/bench/
bench_allocate.py):

- `ix_reservations_stock` (sku, warehouse, seq): the reservations come in queue order, not by
  SKU, so each is a random B-tree insert: 0.27 s of the 0.6 s the inserts cost, against 0.1 s
  to sort them into a new index once.
- `ix_orders_open` (status, allocation_status, placed_at): every status change moves the
  order's entry: 0.18 s of the 0.35 s the status updates cost, against 0.09 s to build it.
- `ix_reservations_order` and `ix_ledger_order` (by order): the queue is in FIFO order, not by
  id, so these are random inserts too; under valgrind (20k orders) keeping them up to date
  cost 235M instructions of the batch's 3,430M, building them once 180M.

- an import of 100k new orders (tests/bench/bench_import.py) writes every secondary index of
  the tables it fills (the orders by placed_at, status and channel, the lines by SKU, the tags,
  the pending events): placed_at and SKU come in no order, and keeping the six up to date
  cost about a third of the SQL, against about a quarter of that to build them once.

A rebuild sorts the whole table, so it is done only when the batch is big next to the table
(the rows per batch order each table may hold). Nothing in a batch reads through these indexes
between the drop and the rebuild (the queue is staged before and read by primary key; an
import looks ids up by primary key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Index

from engine.store import schema
from engine.store.bulk import Bulk
from engine.store.schema import orders_open_index, reservations_stock_index

log = logging.getLogger(__name__)

#: A SQLite batch of fewer orders keeps every index up to date as it writes.
DEFER_INDEX_AT = 20_000
#: (index, its table, how many rows per batch order the table may hold for a rebuild to pay).
Deferrable = tuple[tuple[Index, str, int], ...]
#: What an allocation batch defers, per queued order.
ALLOCATION: Deferrable = (
    (reservations_stock_index, "reservations", 1),
    (schema.index_of(schema.reservations, "ix_reservations_order"), "reservations", 1),
    (schema.index_of(schema.ledger, "ix_ledger_order"), "ledger", 1),
    (orders_open_index, "orders", 2),
)
#: What a plain import defers, per imported order: every secondary index of the tables it
#: fills (an order brings about 2.5 lines, a tag or none, one event).
IMPORT: Deferrable = tuple(
    (index, table.name, per_order)
    for table, per_order in (
        (schema.orders, 2),
        (schema.order_lines, 6),
        (schema.order_tags, 2),
        (schema.events, 2),
    )
    for index in sorted(table.indexes, key=lambda index: str(index.name))
)
#: The connection's `info` key of the indexes an enclosing `indexes_deferred` holds.
_HELD = "dibs_deferred_indexes"


@contextmanager
def indexes_deferred(
    bulk: Bulk, orders: int, deferrable: Deferrable = ALLOCATION
) -> Iterator[None]:
    """Drop the `deferrable` indexes that a SQLite batch of `orders` orders is big enough for,
    and build them again when it ends. Should the batch fail, they are built
    again before the error goes on (a caller that catches it and commits keeps them). Nested
    (a rule tick defers them for its whole queue, then runs the batch chunk by chunk), the
    inner call leaves the outer one's indexes to it.

    An index the database lacks (dropped by hand) is left alone, neither dropped nor built.
    The planner's statistics of the dropped indexes (`sqlite_stat1`, which DROP INDEX deletes
    and CREATE INDEX does not write) are put back with them: without them the dashboard's
    order pages sort every open order for a page of 50 until the next ANALYZE."""
    held: set[str] = bulk.conn.info.setdefault(_HELD, set())
    chosen: list[Index] = []
    if bulk.dialect.name == "sqlite" and orders >= DEFER_INDEX_AT:
        present = _present(bulk, deferrable)
        chosen = [
            index
            for index, table, per_order in deferrable
            if index.name in present
            and index.name not in held
            and _rows_at_most(bulk, table, orders * per_order)
        ]
    stats = _statistics(bulk, chosen)
    dropped: list[Index] = []
    names = {str(index.name) for index in chosen}
    held.update(names)
    try:
        for index in chosen:
            bulk.query(f"DROP INDEX {index.name}")
            dropped.append(index)
        yield
    except Exception:
        try:
            _build(bulk, dropped, stats)
        except Exception:  # the batch's own error is the one to report
            log.exception("could not build the deferred indexes again after a failed batch")
        raise
    finally:
        held.difference_update(names)
    _build(bulk, dropped, stats)


def _present(bulk: Bulk, deferrable: Deferrable) -> set[str]:
    names = [str(index.name) for index, _, _ in deferrable]
    marks = ", ".join("?" * len(names))
    found = bulk.query(
        f"SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ({marks})", names
    )
    return {row[0] for row in found}


def _statistics(bulk: Bulk, indexes: list[Index]) -> list[tuple[str, str, str]]:
    """The `sqlite_stat1` rows of `indexes` (none before the first ANALYZE)."""
    if not indexes or not bulk.query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ):
        return []
    names = [str(index.name) for index in indexes]
    marks = ", ".join("?" * len(names))
    rows = bulk.query(f"SELECT tbl, idx, stat FROM sqlite_stat1 WHERE idx IN ({marks})", names)
    return [(str(tbl), str(idx), str(stat)) for tbl, idx, stat in rows]


def _rows_at_most(bulk: Bulk, table: str, limit: int) -> bool:
    found = bulk.query(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT ?)", (limit + 1,))
    return int(found[0][0]) <= limit


def _build(bulk: Bulk, indexes: list[Index], stats: list[tuple[str, str, str]]) -> None:
    for index in indexes:
        index.create(bulk.conn)
    built = {str(index.name) for index in indexes}
    bulk.run_many(
        "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)",
        [row for row in stats if row[1] in built],
    )
