"""Releasing reservations (deallocate, reallocate's first half) and closing orders (ship, cancel,
dropship). The model decides what is released and consumed; this writes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from engine import model
from engine.errors import StateConflict, UnknownOrder, quoted
from engine.model import Actor, AllocationStatus, EventType, Order, StockKey, parts_of, routing
from engine.service import overview_status
from engine.service.cover import recover
from engine.service.records import AllocationReport
from engine.service.tx import Tx
from engine.store import outbox
from engine.store.kit_rows import load_kits
from engine.store.ledger_rows import ledger_row, write_ledger
from engine.store.rows import (
    CHUNK,
    add_allocated,
    add_on_hand,
    allocation_statuses,
    case_hint,
    close_orders,
    drop_reservations,
    held_reservations,
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
    tx.lock_stock(order_stock_keys(tx, ids))
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
    tx.require_stock(order_stock_keys(tx, ids))
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
        report.add([(oid, before[oid], after) for oid in ids])
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


def order_stock_keys(tx: Tx, ids: Sequence[str]) -> set[StockKey]:
    """The stock the orders `ids` may reserve or hold, to lock before their rows (the lock
    order of engine.store.database): every line's SKU in the order's warehouse (a kit line:
    its components) and wherever a reservation is held (a `from` list may have reserved
    elsewhere). A concurrent allocate needs the same locks, so it waits for us or we for it."""
    kits = load_kits(tx.conn)
    keys = {
        (part, wh) for sku, wh in stock_keys_of(tx.conn, ids) for part, _ in parts_of(sku, kits)
    }
    for start in range(0, len(ids), CHUNK):
        held = held_reservations(tx.conn, ids[start : start + CHUNK])
        keys.update((h.sku, h.warehouse) for h in held)
    return keys


def finish(tx: Tx, ids: Sequence[str], how: str, actor: Actor) -> list[str]:
    """Ship, cancel or dropship orders; all of them or none (unknown/closed -> exit 1)."""
    status, event = model.CLOSING[how]
    wanted = list(dict.fromkeys(ids))
    _check_closing(tx, load_orders(tx.conn, wanted), wanted, how)
    # The lock order: the stock of their lines, then the orders, then read them again. Locked,
    # because two concurrent ships of one order would otherwise both see it awaiting and take
    # its units off the shelf twice.
    tx.lock_stock(order_stock_keys(tx, wanted))
    tx.lock_orders(wanted)
    found = load_orders(tx.conn, wanted)
    _check_closing(tx, found, wanted, how)
    tx.require_stock(order_stock_keys(tx, wanted))
    consumed: dict[StockKey, int] = {}
    payloads: dict[str, dict[str, Any]] = {}
    if how == "ship":
        # Reserved units leave from their reservation's warehouse, the rest from the order's
        # (all of it locked above: order_stock_keys).
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
        tx.require_stock(set(consumed))
        add_on_hand(tx.conn, {k: -q for k, q in consumed.items() if q})
    release_orders(tx, wanted, how, actor, new_status=status, also_recover=consumed)
    now = tx.now()
    outbox.record(tx.conn, [outbox.event_row(now, event, oid, payloads.get(oid)) for oid in wanted])
    return wanted


def _check_closing(tx: Tx, found: Mapping[str, Order], wanted: Sequence[str], how: str) -> None:
    # Every unknown id at once, as `allocate` names them (`cancel A B` named A alone, then B).
    unknown = [oid for oid in wanted if oid not in found]
    if unknown:
        shown = ", ".join(map(quoted, unknown[:10]))
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        hint = case_hint(tx.conn, unknown[0]) if len(unknown) == 1 else ""
        raise UnknownOrder(f"no order with id {shown}{more}{hint}")
    for oid in wanted:
        problem = model.closing_problem(found.get(oid), oid, how)
        if problem:
            raise StateConflict(problem)


def cover_lost_by_shipping(tx: Tx, ids: Sequence[str]) -> list[str]:
    """The other orders that shipping `ids` would leave holding stock that is no longer there
    (a reservation covered before, uncovered after). Ships inside `tx`: run it in a dry run."""
    kits = load_kits(tx.conn)  # a kit line takes its components off the shelf
    skus = sorted(
        {
            part
            for order in load_orders(tx.conn, list(ids)).values()
            for line in order.lines
            for part, _ in parts_of(line.sku, kits)
        }
    )
    before = overview_status.uncovered_reservations(tx.conn, skus)
    finish(tx, ids, "ship", Actor())
    after = overview_status.uncovered_reservations(tx.conn, skus)
    return sorted({oid for oid, _ in after - before} - set(ids))
