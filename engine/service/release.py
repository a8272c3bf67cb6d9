"""Releasing reservations (deallocate, reallocate's first half) and closing orders (ship, cancel,
dropship). The model decides what is released and consumed; this writes it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from engine import model
from engine.errors import OperationFailed
from engine.model import Actor, AllocationStatus, EventType, StockKey
from engine.service.cover import recover
from engine.service.records import AllocationReport
from engine.service.tx import Tx
from engine.store import outbox
from engine.store.rows import (
    CHUNK,
    add_allocated,
    add_on_hand,
    allocation_statuses,
    close_orders,
    drop_reservations,
    held_reservations,
    ledger_row,
    line_stock_keys,
    load_orders,
    write_ledger,
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
    # A concurrent allocate may reserve for these orders until we hold the stock of every line
    # (it needs those locks too): lock them all, then read what is held.
    tx.lock_stock(
        line_stock_keys(conn, ids) | {(h.sku, h.warehouse) for h in held_reservations(conn, ids)}
    )
    held = held_reservations(conn, ids)
    keys = {(h.sku, h.warehouse) for h in held}
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
        outbox.record(conn, released_events(now, held, operation, actor))
    before = allocation_statuses(conn, ids)
    close_orders(conn, ids, new_status, now)
    after = str(AllocationStatus.UNALLOCATED)
    for oid in ids:
        tx.changes.note(oid, before[oid], after, operation, actor.rule)
    if report is not None:
        report.results.extend({"id": oid, "before": before[oid], "after": after} for oid in ids)
    recover(tx, {*keys, *also_recover}, operation, actor.rule)


def released_events(
    now: datetime, held: Iterable[model.Held], operation: str, actor: Actor
) -> list[dict[str, Any]]:
    """One `stock.released` per order and (sku, warehouse) it gave units back on (SPEC §13)."""
    units: dict[tuple[str, str, str], int] = {}
    for h in held:
        key = (h.order_id, h.sku, h.warehouse)
        units[key] = units.get(key, 0) + h.qty
    return [
        outbox.event_row(
            now,
            EventType.STOCK_RELEASED,
            oid,
            {
                "sku": sku,
                "warehouse": wh,
                "qty": qty,
                "order": oid,
                "cause": operation,
                "rule": actor.rule,
            },
        )
        for (oid, sku, wh), qty in units.items()
    ]


def finish(tx: Tx, ids: Sequence[str], how: str, actor: Actor) -> list[str]:
    """Ship, cancel or dropship orders; all of them or none (unknown/closed -> exit 1)."""
    status, event = model.CLOSING[how]
    wanted = list(dict.fromkeys(ids))
    # Lock the orders before reading their status, or two concurrent ships of one order both
    # see it awaiting and take its units off the shelf twice.
    tx.store.lock_orders(tx.conn, wanted)
    found = load_orders(tx.conn, wanted)
    for oid in wanted:
        problem = model.closing_problem(found.get(oid), oid, how)
        if problem:
            raise OperationFailed(problem)
    consumed: dict[StockKey, int] = {}
    if how == "ship":
        consumed = model.shipped_stock(found[oid] for oid in wanted)
        tx.lock_stock(set(consumed))
        add_on_hand(tx.conn, {k: -q for k, q in consumed.items()})
    release_orders(tx, wanted, how, actor, new_status=status, also_recover=consumed)
    now = tx.now()
    outbox.record(tx.conn, [outbox.event_row(now, event, oid) for oid in wanted])
    return wanted
