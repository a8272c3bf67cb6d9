"""Batch allocation: the queue of orders processed one by one, read and written in bulk.

This is the hot path of `dibs allocate --all` and of every rule tick. The queue is staged in a
connection-private temporary table (`Bulk.stage_queue`; for `allocate --all` straight from
the ordered selection, `Bulk.stage_select`, so no list of ids is ever built in Python) and
read back by position ranges, CHUNK orders at a time: memory does not grow with the queue.
Each order is decided by `model.attempt` (or `routing.attempt_routed`) against an in-memory
view of the locked stock, or, in the common case, by the equivalent loop of
`engine.service.batch_plain` (one shared `from` list: `engine.service.batch_routed`); each
chunk is written with one statement per table (and per new status,
`engine.service.batch_writes`); the stock counters once, at the end. A big SQLite batch builds
two indexes once at its end (`engine.service.batch_indexes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine import model
from engine.memory import collector_paused
from engine.model import Kits, StockKey, parts_of, routing
from engine.service.batch_indexes import indexes_deferred
from engine.service.batch_plain import decide_plain, is_plain, read_plain
from engine.service.batch_routed import decide_routed, is_routed, routed_keys
from engine.service.batch_writes import ChunkWrites, write_allocated
from engine.service.changes import StatusChanges
from engine.service.records import AllocationReport, Progress, QueueEntry
from engine.service.tx import Tx
from engine.store.bulk import Bulk
from engine.store.kit_rows import load_kits
from engine.store.rows import load_stock

CHUNK = 2000  # orders per read/write batch: bounded memory, few round trips
#: One order of a chunk: id, allocation status, warehouse, its line numbers, and its lines as
#: `model.attempt` takes them, (sku, qty, reserved).
_Order = tuple[str, str, str, list[int], list[tuple[str, int, int]]]
#: The queue's entries by position, or the one entry every position shares.
Entries = Sequence[QueueEntry] | QueueEntry

_LINES_SQL = (
    "SELECT q.pos, o.id, o.allocation_status, o.warehouse, l.line_no, l.sku, l.qty, l.reserved "
    "FROM dibs_queue q JOIN orders o ON o.id = q.order_id "
    "JOIN order_lines l ON l.order_id = o.id "
    "WHERE q.pos BETWEEN ? AND ? AND o.status = 'awaiting_fulfillment' "
    "ORDER BY q.pos, l.line_no"
)

_ALL_STOCK_SQL = "SELECT sku, warehouse, on_hand, allocated FROM inventory"

#: Every (sku, warehouse) the queued awaiting orders' lines use: locked before any order is read.
_QUEUE_STOCK_SQL = (
    "SELECT DISTINCT l.sku, o.warehouse "
    "FROM dibs_queue q JOIN orders o ON o.id = q.order_id "
    "JOIN order_lines l ON l.order_id = o.id "
    "WHERE o.status = 'awaiting_fulfillment'"
)


def allocate_queue(
    tx: Tx,
    entries: Iterable[QueueEntry],
    report: AllocationReport,
    progress: Progress | None = None,
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
    queue = list(entries)
    with collector_paused():
        bulk = Bulk(tx.conn)
        bulk.stage_queue([e.order_id for e in queue])
        _allocate(tx, bulk, len(queue), _shared(queue) or queue, report, progress)


def _shared(queue: Sequence[QueueEntry]) -> QueueEntry | None:
    """The one policy, actor and `from` list of every entry (a rule tick's queue of one
    rule), as one entry whose order id is not used; None when they differ. The batch then
    takes what `allocate_ids` takes (and the plain loop where it can): the same decisions."""
    kinds = {(e.policy, e.actor, e.warehouses) for e in queue}
    if len(kinds) != 1:
        return None
    return QueueEntry("", *kinds.pop())


def allocate_ids(
    tx: Tx,
    ids: Sequence[str],
    entry: QueueEntry,
    report: AllocationReport,
    progress: Progress | None = None,
) -> None:
    """`allocate_queue` for orders that share one policy, actor and `from` list (`entry`;
    its order id is not used)."""
    with collector_paused():
        bulk = Bulk(tx.conn)
        bulk.stage_queue(ids)
        _allocate(tx, bulk, len(ids), entry, report, progress)


def allocate_selected(
    tx: Tx,
    query: Any,
    entry: QueueEntry,
    report: AllocationReport,
    progress: Progress | None = None,
) -> None:
    """`allocate_ids` for the orders a query selects, as (pos, id) rows in queue order
    (`Bulk.stage_select`): the queue never passes through Python."""
    with collector_paused():
        bulk = Bulk(tx.conn)
        total = bulk.stage_select(query)
        _allocate(tx, bulk, total, entry, report, progress)


def _allocate(
    tx: Tx,
    bulk: Bulk,
    total: int,
    entries: Entries,
    report: AllocationReport,
    progress: Progress | None,
) -> None:
    conn = tx.conn
    kits = load_kits(conn)
    if tx.store.is_postgres:
        tx.lock_stock(_queue_stock(bulk, entries, kits))
    stock: dict[StockKey, list[int]] = {}
    loaded: dict[StockKey, int] = {}
    writes = ChunkWrites(bulk, tx.now())
    plain = is_plain(entries, kits)
    # SQLite, no locks to take: a stock table no bigger than the queue is read whole, once
    # (a key without a row is treated as (0, 0) either way: `model.attempt` and
    # `routing.attempt_routed` grant nothing from a missing key), instead of per chunk.
    whole = not tx.store.is_postgres and _stock_at_most(bulk, total)
    if whole:
        for sku, wh, on_hand, allocated in bulk.query(_ALL_STOCK_SQL):
            stock[(sku, wh)], loaded[(sku, wh)] = [on_hand, allocated], allocated
    with indexes_deferred(bulk, total):
        for start in range(0, total, CHUNK):
            last = min(start + CHUNK, total) - 1
            rows, keys = _read_chunk(bulk, start, last, entries, kits, plain, not whole)
            # Not `keys - stock.keys()`: that walks every key loaded so far, each chunk.
            if missing := sorted(keys.difference(stock)):
                tx.require_stock(missing)  # locked up front (PostgreSQL); else run it again
                found = load_stock(conn, missing)
                for key in missing:
                    stock[key] = list(found.get(key, (0, 0)))
                    loaded[key] = stock[key][1]
            if plain:
                writes.begin(entries.actor, rowids=True)  # type: ignore[union-attr]
                done = decide_plain(rows, entries, stock, writes, tx.changes)  # type: ignore[arg-type]
            elif is_routed(entries):
                writes.begin(entries.actor, rowids=True)  # type: ignore[union-attr]
                done = decide_routed(rows, entries, stock, writes, kits, tx.changes)  # type: ignore[arg-type]
            else:
                writes.begin(_one_actor(rows, entries))
                done = _decide_chunk(rows, entries, stock, writes, kits, tx.changes)
            report.reserved_units += writes.flush()
            report.add(done)
            tx.changes.spill(bulk)
            if progress:
                progress(last + 1, total)
    # Counters last, once per (sku, warehouse): the transaction holds their locks anyway,
    # and writing them per chunk was 20 times the updates for a 100k-order run.
    write_allocated(
        bulk, [(stock[k][1], k[0], k[1]) for k in sorted(stock) if stock[k][1] != loaded[k]]
    )


def _stock_at_most(bulk: Bulk, rows: int) -> bool:
    found = bulk.query("SELECT count(*) FROM (SELECT 1 FROM inventory LIMIT ?)", (rows + 1,))
    return int(found[0][0]) <= rows


def _read_chunk(
    bulk: Bulk, first: int, last: int, entries: Entries, kits: Kits, plain: bool, keys: bool
) -> tuple[Any, set[StockKey]]:
    """The orders at queue positions first..last and the stock they may reserve (unless not
    `keys`: all of it is loaded): for the plain path (`batch_plain`) the rows as the query
    gives them, else by position (`_lines_for`)."""
    if plain:
        return read_plain(bulk, first, last, keys)
    if is_routed(entries):
        found = read_plain(bulk, first, last, False)[0]
        return found, routed_keys(found, entries, kits) if keys else set()  # type: ignore[arg-type]
    rows = _lines_for(bulk, first, last)
    return rows, _stock_keys(rows, entries, kits) if keys else set()


def _one_actor(rows: Mapping[int, _Order], entries: Entries) -> model.Actor | None:
    """The actor of every order of a chunk, or None when there are several."""
    if isinstance(entries, QueueEntry):
        return entries.actor
    actors = {entries[pos].actor for pos in rows}
    return actors.pop() if len(actors) == 1 else None


def _stock_keys(rows: Mapping[int, _Order], entries: Entries, kits: Kits) -> set[StockKey]:
    """The (sku, warehouse) a chunk may reserve: kit components, and every `from` warehouse."""
    uniform = entries if isinstance(entries, QueueEntry) else None
    if not kits and (
        not uniform.warehouses
        if uniform is not None
        else not any(entries[pos].warehouses for pos in rows)  # type: ignore[index]
    ):
        return {(line[0], wh) for _, _, wh, _, lines in rows.values() for line in lines}
    by_list: dict[tuple[str, ...], set[str]] = {}
    for pos, (_, _, wh, _, lines) in rows.items():
        entry = uniform or entries[pos]  # type: ignore[index]
        skus = by_list.setdefault(entry.warehouses or (wh,), set())
        skus.update(line[0] for line in lines)
    keys: set[StockKey] = set()
    for warehouses, skus in by_list.items():
        parts = {part for sku in skus for part, _ in parts_of(sku, kits)}
        keys.update((sku, wh) for sku in parts for wh in warehouses)
    return keys


def _queue_stock(bulk: Bulk, entries: Entries, kits: Kits) -> set[StockKey]:
    """Every (sku, warehouse) the queue may reserve, to lock in one sorted pass before any
    order is read: each line's SKU (a kit's components) in its order's warehouse and in every
    warehouse a `from` list names (a superset for orders without one: locks, not reservations)."""
    listed = [entries] if isinstance(entries, QueueEntry) else entries
    extra = {w for entry in listed for w in (entry.warehouses or ())}
    keys: set[StockKey] = set()
    for sku, wh in bulk.query(_QUEUE_STOCK_SQL):
        for part, _ in parts_of(sku, kits):
            keys.add((part, wh))
            keys.update((part, w) for w in extra)
    return keys


def _decide_chunk(
    rows: Mapping[int, _Order],
    entries: Entries,
    stock: dict[StockKey, list[int]],
    writes: ChunkWrites,
    kits: Kits,
    changes: StatusChanges,
) -> list[tuple[str, str, str]]:
    """Decide a chunk's orders in queue order; (id, before, after) of each."""
    done: list[tuple[str, str, str]] = []
    uniform = entries if isinstance(entries, QueueEntry) else None
    note, settled, attempt, stamp = changes.note, model.SETTLED, model.attempt, writes.stamp
    for pos, (oid, before, warehouse, numbers, lines) in rows.items():
        entry = uniform or entries[pos]  # type: ignore[index]
        if before in settled:
            done.append((oid, before, before))
            continue
        if entry.warehouses or (kits and any(line[0] in kits for line in lines)):
            after = _decide_routed(entry, oid, warehouse, numbers, lines, stock, writes, kits)
        else:
            grants, after = attempt(lines, warehouse, stock, entry.policy)
            writes.reserve_lines(entry, oid, warehouse, numbers, lines, grants)
        if after != before:
            writes.status.append((after, stamp, oid))
            note(oid, before, after, "allocate", entry.actor.rule)
        done.append((oid, before, after))
    return done


def _decide_routed(
    entry: QueueEntry,
    oid: str,
    warehouse: str,
    numbers: list[int],
    lines: list[tuple[str, int, int]],
    stock: dict[StockKey, list[int]],
    writes: ChunkWrites,
    kits: Kits,
) -> str:
    """An order with a `from` list or a kit line (`routing.attempt_routed`); its status."""
    needs = routing.needs_of(lines, kits)
    routes, after = routing.route_needs(
        needs, lines, entry.warehouses or (warehouse,), stock, entry.policy
    )
    reserve = writes.reserve_routed
    for line_no, (_, _, reserved), (parts, _), routed in zip(
        numbers, lines, needs, routes, strict=True
    ):
        if routed:
            reserve(entry, oid, line_no, parts, routed, reserved)
    return after


def _lines_for(bulk: Bulk, first: int, last: int) -> dict[int, _Order]:
    """The awaiting orders at queue positions first..last (see `Bulk.stage_queue`), by
    position: the hottest read of a batch, so it runs on the raw cursor."""
    out: dict[int, _Order] = {}
    for pos, oid, alloc, wh, line_no, sku, qty, reserved in bulk.query(_LINES_SQL, (first, last)):
        found = out.get(pos)
        if found is None:
            found = out[pos] = (oid, alloc, wh, [], [])
        found[3].append(line_no)
        found[4].append((sku, qty, reserved))
    return out
