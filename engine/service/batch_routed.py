"""The `from`-list case of a batch allocation, decided straight from the queue's rows.

`dibs allocate --all --from main,east,west` is one policy, actor and `from` list for every
order, with or without kit lines. Each order is decided by the model, `routing.first_complete`
and else `routing.route_rest` (what `routing.attempt_routed` does), but its lines are gathered
as the rows of `batch_plain.read_plain` arrive, without the chunk's dictionary of orders, and an
order that one warehouse completes (about half of them) is written here without a route list.
This loop writes exactly what `batch._decide_chunk` (`_decide_routed` +
`ChunkWrites.reserve_routed`) writes for such a queue (a property test compares them,
tests/unit/engine/test_batch_routed.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

from engine.model import SETTLED, AllocationStatus, Kits, StockKey, parts_of
from engine.model.routing import Need, first_complete, route_rest
from engine.service.batch_plain import END, Row, settle
from engine.service.batch_writes import ChunkWrites
from engine.service.changes import StatusChanges
from engine.service.records import QueueEntry

_ALLOCATED = str(AllocationStatus.ALLOCATED)


def is_routed(entries: Any) -> bool:
    """Whether a queue can take this path: one entry for all, with a `from` list."""
    return isinstance(entries, QueueEntry) and bool(entries.warehouses)


def routed_keys(rows: Sequence[Row], entry: QueueEntry, kits: Kits) -> set[StockKey]:
    """The (sku, warehouse) a chunk's rows may reserve: every part in every listed warehouse."""
    skus = {row[5] for row in rows}
    parts = {part for sku in skus for part, _ in parts_of(sku, kits)}
    return {(sku, wh) for sku in parts for wh in entry.warehouses or ()}


def decide_routed(
    rows: Sequence[Row],
    entry: QueueEntry,
    stock: dict[StockKey, list[int]],
    writes: ChunkWrites,
    kits: Kits,
    changes: StatusChanges,
) -> list[tuple[str, str, str]]:
    """Decide a chunk's orders in queue order (rows by position, then line); (id, before,
    after) of each, as `batch._decide_chunk` returns them. With `writes.rowids` the line
    counters and statuses name their rows by rowid, else by key as `reserve_routed` does."""
    decided: list[tuple[str, str, str, Any]] = []
    oid, before, at = "", "", None  # the order being gathered and its key
    rowids = writes.rowids
    numbers: list[int] = []
    line_rows: list[int] = []
    lines: list[tuple[str, int, int]] = []
    needs: list[Need] = []
    get = kits.get
    for key, next_oid, next_before, _, line_no, sku, qty, reserved, lrow in chain(rows, END):
        if key != at:
            if at is not None:
                after = before
                if before not in SETTLED:
                    order = (oid, numbers, lines, needs, line_rows if rowids else None)
                    after = _decide(entry, order, stock, writes)
                decided.append((oid, before, after, at if rowids else oid))
            if key is None:
                break
            oid, before, at = next_oid, next_before, key
            numbers, lines, needs, line_rows = [], [], [], []
        numbers.append(line_no)
        line_rows.append(lrow)
        lines.append((sku, qty, reserved))
        needs.append((get(sku) or ((sku, 1),), qty - reserved))
    return settle(decided, entry, writes, changes)


#: An order as `_decide` takes it: id, line numbers, lines, their needs, and with
#: `ChunkWrites.rowids` the lines' rowids (else None).
_Gathered = tuple[str, list[int], list[tuple[str, int, int]], list[Need], list[int] | None]


def _decide(
    entry: QueueEntry, order: _Gathered, stock: dict[StockKey, list[int]], writes: ChunkWrites
) -> str:
    """One order: the model's decision, reserved as `ChunkWrites.reserve_routed` does."""
    oid, numbers, lines, needs, line_rows = order
    warehouses = entry.warehouses or ()  # never empty here (`is_routed`)
    found = first_complete(needs, warehouses, stock)
    if found is None:
        routes, after = route_rest(needs, lines, warehouses, stock, entry.policy)
        reserve = writes.reserve_routed
        for index, routed in enumerate(routes):
            if routed:
                lrow = None if line_rows is None else line_rows[index]
                parts, reserved = needs[index][0], lines[index][2]
                reserve(entry, oid, numbers[index], parts, routed, reserved, lrow)
        return after
    wh, demand = found
    for sku, units in demand.items():
        stock[(sku, wh)][1] += units
    add, add_line, stamp, covered = (
        writes.reservations.append,
        writes.lines.append,
        writes.stamp,
        writes.covered,
    )
    ledger, actor, total = writes.ledger, entry.actor, 0
    for index, (parts, missing) in enumerate(needs):
        if missing <= 0:
            continue
        line_no, reserved = numbers[index], lines[index][2]
        for sku, per in parts:
            qty = missing * per
            total += qty
            add((oid, line_no, sku, wh, qty, covered, stamp))
            if ledger is not None:
                row = (stamp, oid, line_no, sku, wh, qty, "allocate")
                ledger.append((*row, actor.rule, actor.ruleset, actor.name))
        add_line(
            (reserved + missing, oid, line_no)
            if line_rows is None
            else (reserved + missing, line_rows[index])
        )
    writes.units += total
    return _ALLOCATED
