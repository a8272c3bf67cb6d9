"""The common case of a batch allocation, decided straight from the queue's rows.

`dibs allocate --all` is nearly always one policy and actor for every order, each order's own
warehouse, no kit lines and a policy that grants line by line (`lines` or `units`). Then an
order's decision needs no list of its lines: `model.attempt` with `commit` adds each grant to
the stock as it goes, so the lines can be decided one by one as the rows of `_LINES_SQL`
arrive, and the order's status settled when its last row has passed. On SQLite the rows also
carry the order's and the line's rowid, so the chunk's updates name their rows by rowid
(`ChunkWrites.begin(rowids=True)`); the order's rowid is the key its rows share (`_SQL`).
This loop does exactly what `model.attempt` and `ChunkWrites.reserve_lines` do for such an
order (a property test compares them, tests/unit/engine/test_batch_plain.py), without the
per-order tuples, lists and calls: about a third of the Python time of a 100k-order run.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

from engine.model import SETTLED, AllocationStatus, Kits, Policy, StockKey
from engine.service.batch_writes import ChunkWrites
from engine.service.changes import StatusChanges
from engine.service.records import QueueEntry
from engine.store.bulk import Bulk

_ALLOCATED = str(AllocationStatus.ALLOCATED)
_PARTIAL = str(AllocationStatus.PARTIALLY_ALLOCATED)
_NONE = str(AllocationStatus.COULD_NOT_ALLOCATE)
#: The awaiting orders at queue positions ? to ?, by position then line: each row begins with
#: the order's key in the chunk and ends with the line's rowid. On SQLite the key is the
#: order's rowid (read by rowid from the queue, `Bulk.stage_queue`: a rowid search instead of
#: the search of the id's index, then the table) and the statuses are written by it; on
#: PostgreSQL the key is the position and the line's rowid a zero.
_SQL = {
    "sqlite": (
        "SELECT q.orow, q.order_id, o.allocation_status, o.warehouse, l.line_no, l.sku, l.qty, "
        "l.reserved, l.rowid FROM dibs_queue q JOIN orders o ON o.rowid = q.orow "
        "JOIN order_lines l ON l.order_id = q.order_id "
        "WHERE q.pos BETWEEN ? AND ? AND o.status = 'awaiting_fulfillment' "
        "ORDER BY q.pos, l.line_no"
    ),
    "postgresql": (
        "SELECT q.pos, o.id, o.allocation_status, o.warehouse, l.line_no, l.sku, l.qty, "
        "l.reserved, 0 FROM dibs_queue q JOIN orders o ON o.id = q.order_id "
        "JOIN order_lines l ON l.order_id = o.id "
        "WHERE q.pos BETWEEN ? AND ? AND o.status = 'awaiting_fulfillment' "
        "ORDER BY q.pos, l.line_no"
    ),
}
#: After the last row: ends the last order (a key no order has).
END: tuple[Any, ...] = ((None, "", "", "", 0, "", 0, 0, 0),)
#: The order's key (rowid on SQLite, queue position elsewhere), id, allocation status,
#: warehouse, line_no, sku, qty, reserved, the line's rowid.
Row = tuple[int, str, str, str, int, str, int, int, int]


def is_plain(entries: Any, kits: Kits) -> bool:
    """Whether a queue can take this path: one entry for all, no `from` list, no kits, a
    policy that grants line by line."""
    return (
        isinstance(entries, QueueEntry)
        and not entries.warehouses
        and not kits
        and entries.policy in (Policy.LINES, Policy.UNITS)
    )


def read_plain(
    bulk: Bulk, first: int, last: int, keys: bool = True
) -> tuple[list[Row], set[StockKey]]:
    """The rows of queue positions first..last, and (with `keys`) the (sku, warehouse) of
    their lines."""
    rows: list[Row] = bulk.query(_SQL[bulk.dialect.name], (first, last))
    return rows, {(row[5], row[3]) for row in rows} if keys else set()


def decide_plain(
    rows: Sequence[Row],
    entry: QueueEntry,
    stock: dict[StockKey, list[int]],
    writes: ChunkWrites,
    changes: StatusChanges,
) -> list[tuple[str, str, str]]:
    """Decide a chunk's orders in queue order (rows by position, then line); (id, before,
    after) of each, as `batch._decide_chunk` returns them. With `writes.rowids` the line
    counters and statuses name their rows by rowid, else by key as `reserve_lines` does."""
    return settle(_decide_lines(rows, entry, stock, writes), entry, writes, changes)


def settle(
    decided: list[tuple[str, str, str, Any]],
    entry: QueueEntry,
    writes: ChunkWrites,
    changes: StatusChanges,
) -> list[tuple[str, str, str]]:
    """A chunk's decisions, (id, before, after, what its status update names) each: the new
    statuses onto `writes`, the changes noted; (id, before, after) of each."""
    done = [(oid, before, after) for oid, before, after, _ in decided]
    stamp = writes.stamp
    writes.status.extend(
        (after, stamp, key) for _, before, after, key in decided if after != before
    )
    changes.note_each([row for row in done if row[1] != row[2]], "allocate", entry.actor.rule)
    return done


def _decide_lines(
    rows: Sequence[Row], entry: QueueEntry, stock: dict[StockKey, list[int]], writes: ChunkWrites
) -> list[tuple[str, str, str, Any]]:
    """The loop of `decide_plain`: each line's grant as `model.attempt` decides it, written as
    `reserve_lines` writes it; (id, before, after, what its status update names) per order."""
    units_policy = entry.policy is Policy.UNITS
    add, add_line, stamp, covered = (
        writes.reservations.append,
        writes.lines.append,
        writes.stamp,
        writes.covered,
    )
    ledger, rowids, actor = writes.ledger, writes.rowids, entry.actor
    oid, before, at = "", "", None  # the order being decided and its key
    decided: list[tuple[str, str, str, Any]] = []
    skip = complete = any_reserved = False
    units = 0
    for key, next_oid, next_before, wh, line_no, sku, qty, reserved, lrow in chain(rows, END):
        if key != at:
            if at is not None:  # the previous order's last line has passed: its status
                if skip:
                    after = before
                else:
                    after = _ALLOCATED if complete else _PARTIAL if any_reserved else _NONE
                decided.append((oid, before, after, at if rowids else oid))
            if key is None:
                break
            oid, before, at = next_oid, next_before, key
            skip, complete, any_reserved = before in SETTLED, True, False
        if skip:
            continue
        missing = qty - reserved
        found = stock.get((sku, wh))
        left = found[0] - found[1] if found is not None else 0
        if missing <= 0 or left <= 0:
            grant = 0
        elif units_policy:
            grant = min(left, missing)
        else:
            grant = missing if left >= missing else 0
        if grant:
            found[1] += grant  # type: ignore[index]  # left > 0: the entry exists
            units += grant
            add((oid, line_no, sku, wh, grant, covered, stamp))
            add_line((reserved + grant, lrow) if rowids else (reserved + grant, oid, line_no))
            if ledger is not None:
                row = (stamp, oid, line_no, sku, wh, grant, "allocate")
                ledger.append((*row, actor.rule, actor.ruleset, actor.name))
        if grant < missing:
            complete = False
        if reserved + grant:
            any_reserved = True
    writes.units += units
    return decided
