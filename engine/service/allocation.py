"""Allocation (SPEC §4 allocate / deallocate / reallocate): choosing the queue, then the batch
(`engine.service.batch`) reserves in queue order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, select

from engine import model
from engine.errors import OperationFailed
from engine.model import Actor, OrderStatus, Policy
from engine.service import batch
from engine.service.records import AllocationReport, Progress, QueueEntry
from engine.service.release import release_orders
from engine.service.tx import Tx
from engine.store import orders
from engine.store.ordering import needs_python_sort, order_by_clauses
from engine.store.rows import CHUNK, load_orders
from rules.tick import sort_order_ids


def allocate_queue(
    tx: Tx,
    entries: Iterable[QueueEntry],
    report: AllocationReport,
    progress: Progress | None = None,
) -> None:
    """Allocate `entries` in queue order (the batch hot path)."""
    batch.allocate_queue(tx.store, tx.conn, entries, report, tx.clock, progress, tx.changes)


def allocate(
    tx: Tx,
    ids: Sequence[str] | None,
    where: ColumnElement[bool] | None,
    order_by: Sequence[tuple[str, bool]],
    policy: Policy,
    actor: Actor,
    progress: Progress | None = None,
) -> AllocationReport:
    """Allocate the named orders (in `order_by` order), or every open order matching `where`.

    With `ids=None` the selection is every awaiting order that allocation can change
    (not allocated, not overallocated) and that satisfies `where`.
    """
    report = AllocationReport()
    queue = _select(tx, ids, where, order_by, report)
    allocate_queue(tx, (QueueEntry(oid, policy, actor) for oid in queue), report, progress)
    return report


def _select(
    tx: Tx,
    ids: Sequence[str] | None,
    where: ColumnElement[bool] | None,
    order_by: Sequence[tuple[str, bool]],
    report: AllocationReport,
) -> list[str]:
    query = select(orders.c.id)
    if ids is not None:
        query = query.where(orders.c.id.in_(resolve(tx, ids, None, report)))
    else:
        query = query.where(
            orders.c.status == OrderStatus.AWAITING_FULFILLMENT,
            orders.c.allocation_status.not_in(list(model.SETTLED)),
        )
    if where is not None:
        query = query.where(where)
    if needs_python_sort(order_by):
        selected = list(tx.conn.execute(query).scalars())
        return sort_order_ids(selected, load_orders(tx.conn, selected), order_by, tx.now())
    return list(tx.conn.execute(query.order_by(*order_by_clauses(order_by))).scalars())


def deallocate(
    tx: Tx, ids: Sequence[str] | None, where: ColumnElement[bool] | None, actor: Actor
) -> AllocationReport:
    """Release every reservation of the named orders (or of the open orders `where` picks)."""
    report = AllocationReport()
    release_orders(tx, resolve(tx, ids, where, report), "deallocate", actor, report)
    return report


def reallocate(tx: Tx, ids: Sequence[str], policy: Policy, actor: Actor) -> AllocationReport:
    """Deallocate then allocate: the orders go to the back of the coverage queue."""
    released = AllocationReport()
    targets = resolve(tx, ids, None, released)
    release_orders(tx, targets, "reallocate", actor, released)
    report = AllocationReport(skipped=released.skipped)
    allocate_queue(tx, (QueueEntry(t, policy, actor) for t in targets), report)
    before = {r["id"]: r["before"] for r in released.results}
    for row in report.results:
        row["before"] = before.get(row["id"], row["before"])
    return report


def resolve(
    tx: Tx, ids: Sequence[str] | None, where: ColumnElement[bool] | None, report: AllocationReport
) -> list[str]:
    """Named orders (unknown: exit 1; not awaiting: skipped), or the open ones `where` picks."""
    if ids is None:
        query = select(orders.c.id).where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
        if where is not None:
            query = query.where(where)
        return list(tx.conn.execute(query.order_by(orders.c.placed_at, orders.c.id)).scalars())
    wanted = list(dict.fromkeys(ids))
    states: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        states.update(
            (oid, status)
            for oid, status in tx.conn.execute(
                select(orders.c.id, orders.c.status).where(
                    orders.c.id.in_(wanted[start : start + CHUNK])
                )
            )
        )
    unknown = [oid for oid in wanted if oid not in states]
    if unknown:
        raise OperationFailed(f"no order with id {', '.join(map(repr, unknown))}")
    out = []
    for oid in wanted:
        if states[oid] != OrderStatus.AWAITING_FULFILLMENT:
            report.skipped.append({"id": oid, "reason": f"order is {states[oid]}"})
        else:
            out.append(oid)
    return out
