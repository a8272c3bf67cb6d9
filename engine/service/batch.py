"""Batch allocation: the queue of orders processed one by one, read and written in bulk.

This is the hot path of `dibs allocate --all` and of every rule tick. Orders are staged in a
temporary queue table and read back by position ranges, decided by `model.attempt` against an
in-memory view of the locked stock, and written with one executemany per table and chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update

from engine import model
from engine.memory import collector_paused
from engine.model import Kits, StockKey, parts_of, routing
from engine.service.changes import StatusChanges
from engine.service.records import AllocationReport, Progress, QueueEntry
from engine.service.tx import Tx
from engine.store import inventory, ledger, order_lines, orders, reservations
from engine.store.bulk import Bulk
from engine.store.kit_rows import load_kits
from engine.store.rows import load_stock

CHUNK = 2000  # orders per read/write batch: bounded memory, few round trips
#: An order as the batch reads it: allocation status, warehouse, (line_no, sku, qty, reserved).
_OrderRows = tuple[str, str, list[tuple[int, str, int, int]]]

_LINES_SQL = (
    "SELECT o.id, o.allocation_status, o.warehouse, l.line_no, l.sku, l.qty, l.reserved "
    "FROM dibs_queue q JOIN orders o ON o.id = q.order_id "
    "JOIN order_lines l ON l.order_id = o.id "
    "WHERE q.pos BETWEEN ? AND ? AND o.status = 'awaiting_fulfillment' "
    "ORDER BY q.pos, l.line_no"
)

#: Every (sku, warehouse) the queued awaiting orders' lines use: locked before any order is read.
_QUEUE_STOCK_SQL = (
    "SELECT DISTINCT l.sku, o.warehouse "
    "FROM dibs_queue q JOIN orders o ON o.id = q.order_id "
    "JOIN order_lines l ON l.order_id = o.id "
    "WHERE o.status = 'awaiting_fulfillment'"
)

_SET_RESERVED = (
    update(order_lines)
    .where(
        order_lines.c.order_id == bindparam("l_order"), order_lines.c.line_no == bindparam("l_no")
    )
    .values(reserved=bindparam("l_res"))
)

_SET_STATUS = (
    update(orders)
    .where(orders.c.id == bindparam("s_id"))
    .values(allocation_status=bindparam("s_status"), updated_at=bindparam("s_at"))
)

_SET_ALLOCATED = (
    update(inventory)
    .where(inventory.c.sku == bindparam("k_sku"), inventory.c.warehouse == bindparam("k_wh"))
    .values(allocated=bindparam("k_alloc"))
)

_RESERVATION_COLUMNS = ("order_id", "line_no", "sku", "warehouse", "qty", "covered", "reserved_at")

_LEDGER_COLUMNS = (
    "at",
    "order_id",
    "line_no",
    "sku",
    "warehouse",
    "delta",
    "operation",
    "rule",
    "ruleset",
    "actor",
)


class _Writes:
    """The rows one allocation chunk writes, flushed with one executemany per table."""

    def __init__(self, bulk: Bulk, now: datetime) -> None:
        self.bulk = bulk
        self.stamp = bulk.value(reservations.c.reserved_at, now)
        self.covered = bulk.value(reservations.c.covered, True)
        self.reservations: list[tuple[Any, ...]] = []
        self.ledger: list[tuple[Any, ...]] = []
        self.lines: list[tuple[Any, ...]] = []
        self.status: dict[str, str] = {}
        self.stock_keys: set[StockKey] = set()

    def reserve(
        self, entry: QueueEntry, line_no: int, sku: str, warehouse: str, qty: int, reserved: int
    ) -> None:
        oid, actor = entry.order_id, entry.actor
        self.reservations.append((oid, line_no, sku, warehouse, qty, self.covered, self.stamp))
        self.ledger.append(
            (
                self.stamp,
                oid,
                line_no,
                sku,
                warehouse,
                qty,
                "allocate",
                actor.rule,
                actor.ruleset,
                actor.name,
            )
        )
        self.lines.append((oid, line_no, reserved + qty))
        self.stock_keys.add((sku, warehouse))

    def reserve_routed(
        self,
        entry: QueueEntry,
        line_no: int,
        parts: tuple[tuple[str, int], ...],
        routed: list[tuple[str, int]],
        reserved: int,
    ) -> int:
        """Reserve a line's units along its routes (SPEC §12): each (warehouse, line units)
        reserves every part (a kit's components, or the SKU itself). Returns stock units."""
        oid, stamp, covered = entry.order_id, self.stamp, self.covered
        rule, ruleset, name = entry.actor.rule, entry.actor.ruleset, entry.actor.name
        add_reservation, add_ledger = self.reservations.append, self.ledger.append
        stock_units = line_units = 0
        for warehouse, units in routed:
            line_units += units
            for sku, per in parts:
                qty = units * per
                stock_units += qty
                add_reservation((oid, line_no, sku, warehouse, qty, covered, stamp))
                add_ledger(
                    (stamp, oid, line_no, sku, warehouse, qty, "allocate", rule, ruleset, name)
                )
                self.stock_keys.add((sku, warehouse))
        self.lines.append((oid, line_no, reserved + line_units))
        return stock_units

    def flush(self) -> None:
        bulk = self.bulk
        bulk.insert(reservations, _RESERVATION_COLUMNS, self.reservations)
        bulk.insert(ledger, _LEDGER_COLUMNS, self.ledger)
        bulk.executemany(_SET_RESERVED, ("l_order", "l_no", "l_res"), self.lines)
        bulk.executemany(
            _SET_STATUS,
            ("s_status", "s_at", "s_id"),
            [(status, self.stamp, oid) for oid, status in self.status.items()],
        )


def _stock_keys(
    chunk: list[QueueEntry], rows: Mapping[str, _OrderRows], kits: Kits
) -> set[StockKey]:
    """The (sku, warehouse) a chunk may reserve: kit components, and every `from` warehouse."""
    if not kits and not any(entry.warehouses for entry in chunk):
        return {(line[1], wh) for _, wh, lines in rows.values() for line in lines}
    by_list: dict[tuple[str, ...], set[str]] = {}
    for entry in chunk:
        found = rows.get(entry.order_id)
        if found is not None:
            skus = by_list.setdefault(entry.warehouses or (found[1],), set())
            skus.update(line[1] for line in found[2])
    keys: set[StockKey] = set()
    for warehouses, skus in by_list.items():
        parts = {part for sku in skus for part, _ in parts_of(sku, kits)}
        keys.update((sku, wh) for sku in parts for wh in warehouses)
    return keys


def _queue_stock(bulk: Bulk, queue: list[QueueEntry], kits: Kits) -> set[StockKey]:
    """Every (sku, warehouse) the queue may reserve, to lock in one sorted pass before any
    order is read: each line's SKU (a kit's components) in its order's warehouse and in every
    warehouse a `from` list names (a superset for orders without one: locks, not reservations)."""
    extra = {w for entry in queue for w in (entry.warehouses or ())}
    keys: set[StockKey] = set()
    for sku, wh in bulk.query(_QUEUE_STOCK_SQL):
        for part, _ in parts_of(sku, kits):
            keys.add((part, wh))
            keys.update((part, w) for w in extra)
    return keys


def allocate_queue(
    tx: Tx,
    entries: Iterable[QueueEntry],
    report: AllocationReport,
    progress: Progress | None = None,
    changes: StatusChanges | None = None,
) -> None:
    """Allocate orders one by one in the queue's order, inside the caller's transaction.

    On PostgreSQL the stock rows of every queued order are locked, in one sorted pass, before
    any order is read (the lock order of `engine.store.database`), so the state we decide on is
    the committed one and the order rows we then write are never waited for while holding
    stock that someone else needs. If an order's lines moved to other stock between that pass
    and the read (a concurrent edit), the transaction is run again (`Tx.require_stock`). Orders
    that are not awaiting fulfillment are passed over; allocated and overallocated ones are
    reported unchanged. Status changes are noted on `tx.changes` (the transaction's
    `allocation.changed` events).
    """
    with collector_paused():
        _allocate(tx, list(entries), report, tx.now(), progress)


def _allocate(
    tx: Tx,
    queue: list[QueueEntry],
    report: AllocationReport,
    now: datetime,
    progress: Progress | None,
) -> None:
    conn = tx.conn
    bulk = Bulk(conn)
    bulk.stage_queue([e.order_id for e in queue])
    kits = load_kits(conn)
    if tx.store.is_postgres:
        tx.lock_stock(_queue_stock(bulk, queue, kits))
    stock: dict[StockKey, list[int]] = {}
    touched: set[StockKey] = set()
    for start in range(0, len(queue), CHUNK):
        chunk = queue[start : start + CHUNK]
        rows = _lines_for(bulk, start, start + len(chunk) - 1)
        keys = _stock_keys(chunk, rows, kits)
        if missing := sorted(keys - stock.keys()):
            tx.require_stock(missing)  # locked up front (PostgreSQL); else run it again
            loaded = load_stock(conn, missing)
            for key in missing:
                stock[key] = list(loaded.get(key, (0, 0)))
        writes = _Writes(bulk, now)
        _decide_chunk(chunk, rows, stock, writes, report, kits, tx.changes)
        writes.flush()
        touched |= writes.stock_keys
        if progress:
            progress(start + len(chunk), len(queue))
    # Counters last, once per (sku, warehouse): the transaction holds their locks anyway,
    # and writing them per chunk was 20 times the updates for a 100k-order run.
    bulk.executemany(
        _SET_ALLOCATED,
        ("k_alloc", "k_sku", "k_wh"),
        [(stock[k][1], k[0], k[1]) for k in sorted(touched)],
    )


def _decide_chunk(
    chunk: list[QueueEntry],
    rows: Mapping[str, _OrderRows],
    stock: dict[StockKey, list[int]],
    writes: _Writes,
    report: AllocationReport,
    kits: Kits,
    changes: StatusChanges,
) -> None:
    results = report.results
    note = changes.note
    for entry in chunk:
        found = rows.get(entry.order_id)
        if found is None:
            continue
        before, warehouse, line_rows = found
        if before in model.SETTLED:
            results.append({"id": entry.order_id, "before": before, "after": before})
            continue
        if entry.warehouses or (kits and any(line[1] in kits for line in line_rows)):
            after = _decide_routed(entry, warehouse, line_rows, stock, writes, report, kits)
            if after != before:
                writes.status[entry.order_id] = after
                note(entry.order_id, before, after, "allocate", entry.actor.rule)
            results.append({"id": entry.order_id, "before": before, "after": after})
            continue
        grants, after = model.attempt(
            [(sku, qty, res) for _, sku, qty, res in line_rows], warehouse, stock, entry.policy
        )
        for (line_no, sku, _qty, reserved), grant in zip(line_rows, grants, strict=True):
            if grant:
                writes.reserve(entry, line_no, sku, warehouse, grant, reserved)
                report.reserved_units += grant
        if after != before:
            writes.status[entry.order_id] = after
            note(entry.order_id, before, after, "allocate", entry.actor.rule)
        results.append({"id": entry.order_id, "before": before, "after": after})


def _decide_routed(
    entry: QueueEntry,
    warehouse: str,
    line_rows: list[tuple[int, str, int, int]],
    stock: dict[StockKey, list[int]],
    writes: _Writes,
    report: AllocationReport,
    kits: Kits,
) -> str:
    """An order with a `from` list or a kit line (`routing.attempt_routed`); its status."""
    routes, after = routing.attempt_routed(
        [(sku, qty, res) for _, sku, qty, res in line_rows],
        entry.warehouses or (warehouse,),
        stock,
        entry.policy,
        kits,
    )
    for (line_no, sku, _qty, reserved), routed in zip(line_rows, routes, strict=True):
        if routed:
            parts = kits.get(sku) or ((sku, 1),)
            report.reserved_units += writes.reserve_routed(entry, line_no, parts, routed, reserved)
    return after


def _lines_for(bulk: Bulk, first: int, last: int) -> dict[str, _OrderRows]:
    """Allocation status, warehouse and lines (line_no, sku, qty, reserved) of the awaiting
    orders at queue positions first..last (see `Bulk.stage_queue`): the hottest read of a
    batch, so it runs on the raw cursor."""
    out: dict[str, _OrderRows] = {}
    for oid, alloc, wh, line_no, sku, qty, reserved in bulk.query(_LINES_SQL, (first, last)):
        entry = out.get(oid)
        if entry is None:
            entry = out[oid] = (alloc, wh, [])
        entry[2].append((line_no, sku, qty, reserved))
    return out
