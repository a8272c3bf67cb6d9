"""Plain import of an order file (SPEC §8, §9 without `--sync`), streamed into one transaction.

The file is read chunk by chunk (`engine.io.incoming.IncomingSource`) and each clean chunk is
written as soon as it is read, so a million-order file never stands in memory at once. The
all-or-nothing contract holds because everything happens inside the caller's one transaction:

- a problem anywhere in the file stops the writing (later chunks are still read and checked,
  so every problem is listed) and raises the file's `BadInput` at the end: the transaction
  rolls back and nothing is written;
- ids that already exist are looked up chunk by chunk, one `IN (…)` query each; any found stops
  the writing too, and `OrdersExist` names all of them with their `file:line`;
- a transaction run again after a conflict (`Store.transaction`) reads the file again.

`Service.import_file` reads the first chunk and counts the orders before it opens the
transaction (`IncomingSource.read_ahead`, `expected_orders`): a file of one chunk is parsed and
checked, and a JSON Lines file's lines are counted, without holding SQLite's write lock.

Each order is written with its `order.created` event (SPEC §5) and sync's marks (the content
hash), as `engine.service.sync` would create it. A big file on SQLite (its line count known
before reading it) writes without the secondary indexes of the tables it fills and builds them
once at the end (`engine.service.batch_indexes.IMPORT`), inside the same transaction.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from engine.errors import OrdersExist
from engine.io.incoming import IncomingOrder, IncomingSource
from engine.memory import collector_paused
from engine.model import EventType, Order
from engine.service.batch_indexes import IMPORT, indexes_deferred
from engine.service.records import Progress
from engine.service.sync import content_hash
from engine.service.tx import Tx
from engine.store.bulk import Bulk
from engine.store.rows import existing_ids, insert_orders

#: Orders read, checked and written at a time (the existing-id query takes as many ids).
CHUNK = 5000


def expected_orders(source: IncomingSource, progress: bool, sqlite: bool) -> int:
    """How many orders the file holds, when a progress bar or SQLite's deferred indexes need
    it and it is cheap to know (`IncomingSource.expected`), else 0. Counted before the write
    transaction: a JSON Lines file is read once more for it."""
    return (source.expected() or 0) if progress or sqlite else 0


def import_source(
    tx: Tx, source: IncomingSource, expected: int, progress: Progress | None = None
) -> list[str]:
    """Create every order of the file, or none (see the module docstring); the ids created.
    `expected`: the file's order count if known (`expected_orders`), else 0."""
    created: list[str] = []
    taken: dict[str, str] = {}
    sqlite = not tx.store.is_postgres
    now = tx.now()
    # no cycles; a collection would walk every id read so far
    with collector_paused(), indexes_deferred(Bulk(tx.conn), expected if sqlite else 0, IMPORT):
        for chunk in source.chunks(CHUNK):
            ids = [item.id for item in chunk]
            found = existing_ids(tx.conn, ids)
            if found:
                taken.update((item.id, item.where) for item in chunk if item.id in found)
            if source.clean and not taken:
                _write(tx, chunk, now)
            created.extend(ids)
            if progress:
                progress(len(created), max(len(created), expected))
    source.refuse_if_problems()
    if taken:
        ids = sorted(taken)
        raise OrdersExist(f"{len(ids)} order id(s) already exist", ids, taken)
    return created


def _write(tx: Tx, chunk: list[IncomingOrder], now: datetime) -> None:
    orders: list[Order] = []
    marks: dict[str, tuple[str, datetime | None]] = {}
    for item in chunk:
        order = item.order
        if order.status != item.status:
            order = dataclasses.replace(order, status=item.status)
        orders.append(order)
        marks[order.id] = (content_hash(item), item.updated_at)
    insert_orders(tx.conn, orders, now, EventType.ORDER_CREATED, marks)
