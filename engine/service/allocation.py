"""Allocation (SPEC §4 allocate / deallocate / reallocate): choosing the queue, then the batch
(`engine.service.batch`) reserves in queue order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select

from engine import model
from engine.errors import BadInput, UnknownOrder, quoted
from engine.model import Actor, OrderStatus, Policy
from engine.service import batch
from engine.service.records import AllocationReport, Progress, QueueEntry
from engine.service.release import release_orders
from engine.service.tx import Tx
from engine.store import orders
from engine.store.bulk import ORDERS_ROWID
from engine.store.kit_rows import known_warehouses, stock_warehouses
from engine.store.ordering import needs_python_sort, order_by_clauses
from engine.store.rows import CHUNK, case_hint, load_orders


def allocate_queue(
    tx: Tx,
    entries: Iterable[QueueEntry],
    report: AllocationReport,
    progress: Progress | None = None,
) -> None:
    """Allocate `entries` in queue order (the batch hot path)."""
    batch.allocate_queue(tx, entries, report, progress)


def allocate(
    tx: Tx,
    ids: Sequence[str] | None,
    where: ColumnElement[bool] | None,
    order_by: Sequence[tuple[str, bool]],
    policy: Policy,
    actor: Actor,
    progress: Progress | None = None,
    warehouses: Sequence[str] | None = None,
    detail: bool = True,
) -> AllocationReport:
    """Allocate the named orders (in `order_by` order), or every open order matching `where`.

    With `ids=None` the selection is every awaiting order that allocation can change
    (not allocated, not overallocated) and that satisfies `where`; sorted in SQL, it is
    staged in the database without passing through Python (`batch.allocate_selected`).
    `warehouses` is the `from` preference list (SPEC §12); None: each order's own warehouse.
    Without `detail` the report is a summary (`AllocationReport.detail`).
    """
    chosen = check_warehouses(tx, warehouses)
    report = AllocationReport(detail=detail)
    shared = QueueEntry("", policy, actor, chosen)  # every order's: its id is not used
    if ids is None and not needs_python_sort(order_by):
        queue = _open_queue(where, order_by, rowid=not tx.store.is_postgres)
        batch.allocate_selected(tx, queue, shared, report, progress)
    else:
        batch.allocate_ids(tx, _select(tx, ids, where, order_by, report), shared, report, progress)
    return report


def _open_queue(
    where: ColumnElement[bool] | None, order_by: Sequence[tuple[str, bool]], rowid: bool
) -> Any:
    """(queue position, id) of every open order `where` picks, in `order_by` order; with
    `rowid` (SQLite) the order's rowid too (`Bulk.stage_select`)."""
    position = func.row_number().over(order_by=order_by_clauses(order_by)) - 1
    columns = (position, orders.c.id, ORDERS_ROWID) if rowid else (position, orders.c.id)
    query = select(*columns).where(
        orders.c.status == OrderStatus.AWAITING_FULFILLMENT,
        orders.c.allocation_status.not_in(list(model.SETTLED)),
    )
    return query if where is None else query.where(where)


def check_warehouses(
    tx: Tx, warehouses: Sequence[str] | None, label: str = "--from"
) -> tuple[str, ...] | None:
    """A `--from` list, checked: names given once each, and each with some stock row (a name
    no stock row has is a typo far more often than a plan; exit 2, nothing written).

    `label` names the list in the message (the API's body calls it `from`); the error's field
    is `from` either way."""
    if warehouses is None:
        return None
    names = tuple(w.strip() for w in warehouses)
    if not names or any(not w for w in names):
        raise BadInput(
            f"{label}: give warehouse names separated by commas, e.g. east,west", field="from"
        )
    twice = sorted({w for w in names if names.count(w) > 1})
    if twice:
        raise BadInput(f"{label}: warehouse {twice[0]!r} is listed twice", field="from")
    known = known_warehouses(tx.conn, names)
    unknown = [w for w in names if w not in known]
    if unknown:
        raise BadInput(
            f"{label}: no stock row exists in warehouse {unknown[0]!r}"
            f"{'' if len(unknown) == 1 else f' (nor in {len(unknown) - 1} more)'}; "
            + _closest_warehouse(unknown[0], stock_warehouses(tx.conn)),
            field="from",
        )
    return names


def _closest_warehouse(name: str, known: Sequence[str]) -> str:
    """`did you mean 'east'?`, else the warehouses with stock (ten at most): said by the
    service, so the CLI's `--from` and the API's `from` hint alike."""
    import difflib

    close = difflib.get_close_matches(name[:100], known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return f"the warehouses with stock: {shown}" if known else "no warehouse has stock yet"


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
        # Here, not at the top: the rule compiler it brings costs every `allocate` start-up.
        from rules.tick import sort_order_ids

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


def reallocate(
    tx: Tx,
    ids: Sequence[str],
    policy: Policy,
    actor: Actor,
    warehouses: Sequence[str] | None = None,
) -> AllocationReport:
    """Deallocate then allocate: the orders go to the back of the coverage queue."""
    chosen = check_warehouses(tx, warehouses)
    released = AllocationReport()
    targets = resolve(tx, ids, None, released)
    release_orders(tx, targets, "reallocate", actor, released)
    report = AllocationReport(skipped=released.skipped)
    allocate_queue(tx, (QueueEntry(t, policy, actor, chosen) for t in targets), report)
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
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        shown = ", ".join(map(quoted, unknown[:10]))
        hint = case_hint(tx.conn, unknown[0]) if len(unknown) == 1 else ""
        raise UnknownOrder(f"no order with id {shown}{more}{hint}")
    out = []
    for oid in wanted:
        if states[oid] != OrderStatus.AWAITING_FULFILLMENT:
            report.skipped.append({"id": oid, "reason": f"order is {states[oid]}"})
        else:
            out.append(oid)
    return out
