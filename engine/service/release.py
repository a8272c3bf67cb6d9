"""Releasing reservations (deallocate, reallocate's first half) and closing orders (ship, cancel,
dropship). The model decides what is released and consumed; this writes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from engine import model
from engine.errors import StateConflict, UnknownOrder
from engine.model import Actor, AllocationStatus, Order, StockKey
from engine.service import read
from engine.service.cover import recover
from engine.service.records import AllocationReport
from engine.service.tx import Tx
from engine.store import outbox
from engine.store.ledger import ledger_row, write_ledger
from engine.store.rows import (
    CHUNK,
    add_allocated,
    add_on_hand,
    allocation_statuses,
    close_orders,
    drop_reservations,
    held_reservations,
    line_stock_keys,
    load_orders,
    stock_keys_of,
)


def release_orders(
    tx: Tx,
    ids: Sequence[str],
    operation: str,
    actor: Actor,
    report: AllocationReport | None = None,
    new_status: str | None = None,
    also_recover: Iterable[StockKey] = (),
) -> None:
    """Release every reservation of `ids`, write the ledger, recompute cover for the stock.

    `new_status` sets the order status too (ship, cancel, dropship); `also_recover` names
    stock the caller changed too (shipping), so cover is recomputed once for all of it.
    """
    # The lock order (engine.store.database): the stock of every line of every order first (a
    # concurrent allocate needs those locks too), then the orders as they are written.
    tx.lock_stock(stock_keys_of(tx.conn, ids))
    for start in range(0, len(ids), CHUNK):  # bounded IN lists (PostgreSQL: 65,535 params)
        _release(tx, ids[start : start + CHUNK], operation, actor, report, new_status, also_recover)


def _release(
    tx: Tx,
    ids: Sequence[str],
    operation: str,
    actor: Actor,
    report: AllocationReport | None,
    new_status: str | None,
    also_recover: Iterable[StockKey],
) -> None:
    conn, now = tx.conn, tx.now()
    held = held_reservations(conn, ids)
    keys = {(h.sku, h.warehouse) for h in held}
    tx.require_stock(line_stock_keys(conn, ids) | keys)
    if held:
        write_ledger(
            conn,
            [
                ledger_row(now, h.order_id, h.line_no, h.sku, h.warehouse, -h.qty, operation, actor)
                for h in held
            ],
        )
        drop_reservations(conn, ids)
        add_allocated(conn, {k: -q for k, q in model.released_stock(held).items()})
    before = allocation_statuses(conn, ids)
    close_orders(conn, ids, new_status, now)
    if report is not None:
        report.results.extend(
            {"id": oid, "before": before[oid], "after": str(AllocationStatus.UNALLOCATED)}
            for oid in ids
        )
    recover(tx, {*keys, *also_recover})


def finish(tx: Tx, ids: Sequence[str], how: str, actor: Actor) -> list[str]:
    """Ship, cancel or dropship orders; all of them or none (unknown/closed -> exit 1)."""
    status, event = model.CLOSING[how]
    wanted = list(dict.fromkeys(ids))
    _check_closing(load_orders(tx.conn, wanted), wanted, how)
    # The lock order: the stock of their lines, then the orders, then read them again. Locked,
    # because two concurrent ships of one order would otherwise both see it awaiting and take
    # its units off the shelf twice.
    tx.lock_stock(stock_keys_of(tx.conn, wanted))
    tx.lock_orders(wanted)
    found = load_orders(tx.conn, wanted)
    _check_closing(found, wanted, how)
    tx.require_stock(stock_keys_of(tx.conn, wanted))
    consumed: dict[StockKey, int] = {}
    if how == "ship":
        consumed = model.shipped_stock(found[oid] for oid in wanted)
        add_on_hand(tx.conn, {k: -q for k, q in consumed.items()})
    release_orders(tx, wanted, how, actor, new_status=status, also_recover=consumed)
    now = tx.now()
    outbox.record(tx.conn, [outbox.event_row(now, event, oid) for oid in wanted])
    return wanted


def _check_closing(found: Mapping[str, Order], wanted: Sequence[str], how: str) -> None:
    for oid in wanted:
        problem = model.closing_problem(found.get(oid), oid, how)
        if problem:
            raise (UnknownOrder if found.get(oid) is None else StateConflict)(problem)


def cover_lost_by_shipping(tx: Tx, ids: Sequence[str]) -> list[str]:
    """The other orders that shipping `ids` would leave holding stock that is no longer there
    (a reservation covered before, uncovered after). Ships inside `tx`: run it in a dry run."""
    skus = sorted(
        {line.sku for order in load_orders(tx.conn, list(ids)).values() for line in order.lines}
    )
    before = read.uncovered_reservations(tx.conn, skus)
    finish(tx, ids, "ship", Actor())
    after = read.uncovered_reservations(tx.conn, skus)
    return sorted({oid for oid, _ in after - before} - set(ids))
