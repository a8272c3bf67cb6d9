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
from sqlalchemy.engine import Connection

from engine import model
from engine.memory import collector_paused
from engine.model import StockKey
from engine.service.changes import StatusChanges
from engine.service.records import AllocationReport, Clock, Progress, QueueEntry
from engine.store import Store, inventory, ledger, order_lines, orders, reservations
from engine.store.bulk import Bulk
from engine.store.rows import load_stock

CHUNK = 2000  # orders per read/write batch: bounded memory, few round trips

_LINES_SQL = (
    "SELECT o.id, o.allocation_status, o.warehouse, l.line_no, l.sku, l.qty, l.reserved "
    "FROM dibs_queue q JOIN orders o ON o.id = q.order_id "
    "JOIN order_lines l ON l.order_id = o.id "
    "WHERE q.pos BETWEEN ? AND ? AND o.status = 'awaiting_fulfillment' "
    "ORDER BY q.pos, l.line_no"
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
    rows: Mapping[str, tuple[str, str, list[tuple[int, str, int, int]]]],
) -> set[StockKey]:
    return {(line[1], wh) for _, wh, lines in rows.values() for line in lines}


def allocate_queue(
    store: Store,
    conn: Connection,
    entries: Iterable[QueueEntry],
    report: AllocationReport,
    clock: Clock,
    progress: Progress | None = None,
    changes: StatusChanges | None = None,
) -> None:
    """Allocate orders one by one in the queue's order, inside the caller's transaction.

    Stock rows are locked (PostgreSQL) before the orders are read, so the order state we
    decide on is the committed one; a chunk that needs stock rows not yet locked locks them
    too (a deadlock that may cause is retried whole by `Store.transaction`). Orders that are
    not awaiting fulfillment are passed over; allocated and overallocated ones are reported
    unchanged. Status changes are noted on `changes` (the transaction's `allocation.changed`).
    """
    with collector_paused():
        _allocate(
            store,
            conn,
            list(entries),
            report,
            clock(),
            progress,
            changes or StatusChanges(),
        )


def _allocate(
    store: Store,
    conn: Connection,
    queue: list[QueueEntry],
    report: AllocationReport,
    now: datetime,
    progress: Progress | None,
    changes: StatusChanges,
) -> None:
    bulk = Bulk(conn)
    bulk.stage_queue([e.order_id for e in queue])
    stock: dict[StockKey, list[int]] = {}
    touched: set[StockKey] = set()
    for start in range(0, len(queue), CHUNK):
        chunk = queue[start : start + CHUNK]
        rows = _lines_for(bulk, start, start + len(chunk) - 1)
        while missing := sorted(_stock_keys(rows) - stock.keys()):
            store.lock_stock(conn, missing)
            loaded = load_stock(conn, missing)
            for key in missing:
                stock[key] = list(loaded.get(key, (0, 0)))
            if store.is_postgres:
                # What we read before holding the locks may be stale: read it again.
                rows = _lines_for(bulk, start, start + len(chunk) - 1)
        writes = _Writes(bulk, now)
        _decide_chunk(chunk, rows, stock, writes, report, changes)
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
    rows: Mapping[str, tuple[str, str, list[tuple[int, str, int, int]]]],
    stock: dict[StockKey, list[int]],
    writes: _Writes,
    report: AllocationReport,
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


def _lines_for(
    bulk: Bulk, first: int, last: int
) -> dict[str, tuple[str, str, list[tuple[int, str, int, int]]]]:
    """Allocation status, warehouse and lines (line_no, sku, qty, reserved) of the awaiting
    orders at queue positions first..last (see `Bulk.stage_queue`): the hottest read of a
    batch, so it runs on the raw cursor."""
    out: dict[str, tuple[str, str, list[tuple[int, str, int, int]]]] = {}
    for oid, alloc, wh, line_no, sku, qty, reserved in bulk.query(_LINES_SQL, (first, last)):
        entry = out.get(oid)
        if entry is None:
            entry = out[oid] = (alloc, wh, [])
        entry[2].append((line_no, sku, qty, reserved))
    return out
