"""Coverage (SPEC §3): after any stock or reservation change, which reservations stock still
covers, and the allocation status of every order whose cover changed.

Why a status never contradicts cover, also on PostgreSQL with concurrent writers (READ
COMMITTED; the lock order is in `engine.store.database`):

1. The `covered` flags of one `(sku, warehouse)` are written only by `recover`, by a caller that
   holds that stock row's lock, from `on_hand` and the reservations read under it. Reservations
   of a key are created (batch allocation) and dropped (release, edit) only under the same lock.
   So the flags of each key are exactly `model.coverage` of its committed state.
2. An order's `allocation_status` is written only while its order row is locked: `refresh_status`
   locks the rows (after the stock, in id order) and only then reads the status, the lines and
   the flags of every reservation of the order, whatever key they are on. Batch allocation and
   release write statuses of orders whose stock they have all locked, and since everyone who
   writes a status also holds a stock row of that order, they are serialized with each other.
3. Whoever flips a flag of an order's reservation locks that order afterwards, in the same
   transaction, and recomputes its status (step 2). Take the last transaction to do so on one
   order: when it read, every other flip of the order's flags had either committed (a flipper
   that committed already held the order row, released at its commit, and PostgreSQL gives each
   statement after the lock a fresh snapshot), or was its own. So the last status written is
   computed from the final flags, and the old fault, a recompute reading the flags of another
   key from a stale snapshot and skipping the write because the stale status matched, is gone.

tests/integration/invariants.py checks the result after every concurrency test.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import update

from engine import model
from engine.model import AllocationStatus, OrderStatus, StockKey
from engine.service.tx import Tx
from engine.store import reservations
from engine.store.rows import CHUNK, load_orders, load_stock, orders_with_uncovered, set_statuses
from engine.store.stock_rows import held_by_key


def recover(
    tx: Tx,
    keys: Iterable[StockKey],
    cause: str,
    rule: str | None = None,
    also: Sequence[str] = (),
    fresh: Collection[str] = (),
) -> None:
    """Recompute coverage for `keys` and the status of every order whose cover changed.

    Orders in `also` (edited, split) get their status recomputed whatever happened; those in
    `fresh` (edited) as if no allocation had been tried yet. Every status change is noted on
    the transaction with `cause` (the operation) and `rule`: also the changes of orders whose
    cover someone else's shipment or stock change took or gave back.
    """
    conn = tx.conn
    affected: set[str] = set(also)
    held = held_by_key(conn, keys)
    stock = load_stock(conn, held.keys())
    flips: dict[bool, list[int]] = {True: [], False: []}
    for key in sorted(held):
        rows = held[key]
        flags = model.coverage(stock.get(key, (0, 0))[0], (qty for _, _, qty, _ in rows))
        for (seq, order_id, _, covered), flag in zip(rows, flags, strict=True):
            if covered != flag:
                flips[flag].append(seq)
                affected.add(order_id)
    for covered, seqs in flips.items():
        for start in range(0, len(seqs), CHUNK):
            conn.execute(
                update(reservations)
                .where(reservations.c.seq.in_(seqs[start : start + CHUNK]))
                .values(covered=covered)
            )
    if affected:
        refresh_status(tx, sorted(affected), cause, rule, fresh)


def refresh_status(
    tx: Tx, ids: Sequence[str], cause: str, rule: str | None, fresh: Collection[str] = ()
) -> None:
    """Set each open order's allocation status from its reservations and their cover, and note
    each change on the Tx (`allocation.changed`).

    The order rows are locked before anything is read (see the module docstring): what is read
    after the lock is the committed state plus this transaction's own writes.
    """
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        tx.lock_orders(chunk)
        found = load_orders(tx.conn, chunk)
        uncovered = orders_with_uncovered(tx.conn, chunk)
        changes = {}
        for oid in dict.fromkeys(chunk):  # the notes in the order of `ids`
            order = found.get(oid)
            if order is None or order.status != OrderStatus.AWAITING_FULFILLMENT:
                continue
            previous = AllocationStatus.UNALLOCATED if oid in fresh else order.allocation_status
            status = model.status_from_reservations(order.lines, oid in uncovered, previous)
            if status != order.allocation_status:
                changes[oid] = status
                tx.changes.note(oid, order.allocation_status, status, cause, rule)
        set_statuses(tx.conn, changes, tx.now())
