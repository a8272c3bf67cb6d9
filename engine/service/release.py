"""Releasing reservations (deallocate, reallocate's first half) and closing orders (ship, cancel,
dropship). The model decides what is released and consumed; this writes it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from engine import model
from engine.errors import OperationFailed
from engine.model import Actor, AllocationStatus, StockKey, parts_of, routing
from engine.service.cover import recover
from engine.service.records import AllocationReport
from engine.service.tx import Tx
from engine.store import outbox
from engine.store.kit_rows import load_kits
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
    lock_order_stock(tx, ids)
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
    before = allocation_statuses(conn, ids)
    close_orders(conn, ids, new_status, now)
    if report is not None:
        report.results.extend(
            {"id": oid, "before": before[oid], "after": str(AllocationStatus.UNALLOCATED)}
            for oid in ids
        )
    recover(tx, {*keys, *also_recover})


def lock_order_stock(tx: Tx, ids: Sequence[str]) -> None:
    """Lock the stock every line of `ids` may reserve: a concurrent allocate may reserve for
    these orders until we hold it (it needs those locks too). Kit lines reserve components;
    locking a SKU locks it in every warehouse, so `from` lists are covered."""
    kits = load_kits(tx.conn)
    keys = {
        (part, wh) for sku, wh in line_stock_keys(tx.conn, ids) for part, _ in parts_of(sku, kits)
    }
    tx.lock_stock(keys | {(h.sku, h.warehouse) for h in held_reservations(tx.conn, ids)})


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
    payloads: dict[str, dict[str, Any]] = {}
    if how == "ship":
        # Reserved units leave from their reservation's warehouse, the rest from the order's.
        lock_order_stock(tx, wanted)
        held = held_reservations(tx.conn, wanted)
        kits = load_kits(tx.conn)
        for oid in wanted:
            took = routing.shipped_stock([found[oid]], [h for h in held if h.order_id == oid], kits)
            payloads[oid] = {
                "stock": [
                    {"sku": s, "warehouse": w, "qty": q} for (s, w), q in sorted(took.items())
                ]
            }
            for key, qty in took.items():
                consumed[key] = consumed.get(key, 0) + qty
        tx.lock_stock(set(consumed))
        add_on_hand(tx.conn, {k: -q for k, q in consumed.items() if q})
    release_orders(tx, wanted, how, actor, new_status=status, also_recover=consumed)
    now = tx.now()
    outbox.record(tx.conn, [outbox.event_row(now, event, oid, payloads.get(oid)) for oid in wanted])
    return wanted
