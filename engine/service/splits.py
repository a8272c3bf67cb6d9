"""Splitting orders (SPEC §4 split): one (`dibs orders split`, the API, the dashboard) or the
thousands a tick's `then allocate, split` splits, by the same code, many orders per statement.

A split was ~4.5 ms an order on SQLite, each of its dozen statements its own round trip (the
order read twice, its free `<id>-N`, a DELETE, two UPDATEs per kept line, the order's UPDATE,
the new order's rows, the status, the event): 45 s for a tick after a restock that splits
10,000 (tests/bench/bench_split.py). `split_orders` does each step for up to `_AT_ONCE` orders
at once, and does what splitting them one after the other in the same order did: the same new
ids, lines, reservations, statuses, events (in the same order) and problems. One clock reading
stamps a batch, as one allocation call stamps its orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, case, delete, func, select, update

from engine.errors import OperationFailed, StateConflict, UnknownOrder, quoted
from engine.model import Actor, EventType, Length, Order, OrderStatus, edits
from engine.service.cover import refresh_status
from engine.service.orders import get, update_keys
from engine.service.tx import Tx
from engine.store import order_lines, orders, outbox, reservations
from engine.store.bulk import Bulk
from engine.store.kit_rows import load_kits
from engine.store.rows import CHUNK, insert_orders, load_orders

#: Orders a `split_refusals` query asks about at once.
_REFUSALS_AT_ONCE = 5000
#: Candidate ids of a split-off order looked up per order and round after the first
#: (`_free_split_ids`).
_SPLIT_IDS_AT_ONCE = 20
#: Orders split by one pass of statements (`split_orders`).
_AT_ONCE = 500

_DROP_LINE = delete(order_lines).where(
    order_lines.c.order_id == bindparam("b_order"), order_lines.c.line_no == bindparam("b_old")
)
_RENUMBER_LINE = (
    update(order_lines)
    .where(
        order_lines.c.order_id == bindparam("b_order"), order_lines.c.line_no == bindparam("b_old")
    )
    .values(line_no=bindparam("b_new"), qty=bindparam("b_qty"))
)
_RENUMBER_HELD = (
    update(reservations)
    .where(
        reservations.c.order_id == bindparam("b_order"),
        reservations.c.line_no == bindparam("b_old"),
    )
    .values(line_no=bindparam("b_new"))
)
_RECOUNT = (
    update(orders)
    .where(orders.c.id == bindparam("b_order"))
    .values(line_count=bindparam("b_lines"), unit_count=bindparam("b_units"))
    .values(updated_at=bindparam("b_at"))
)


@dataclass
class SplitOutcome:
    """What `split_orders` did: (original, new order) per split, and (id, why) per order it
    could not split, each in the order of the ids."""

    splits: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, OperationFailed]] = field(default_factory=list)


@dataclass(frozen=True)
class _Planned:
    order: Order
    plan: edits.SplitPlan
    new_id: str


def split_refusals(tx: Tx, ids: Sequence[str]) -> dict[str, str]:
    """The orders of `ids` that `split` refuses for what their lines hold (nothing reserved,
    or nothing missing), each with the message `split` raises: one grouped query per 5,000
    orders. A tick's `split` rule (`then allocate, split`) is refused for most orders, those
    allocated whole or not at all, and `split` loaded and locked each of them first: 3 ms an
    order."""
    refused: dict[str, str] = {}
    reserved = order_lines.c.reserved
    for start in range(0, len(ids), _REFUSALS_AT_ONCE):
        chunk = ids[start : start + _REFUSALS_AT_ONCE]
        rows = tx.conn.execute(
            select(
                order_lines.c.order_id,
                func.max(case((reserved != 0, 1), else_=0)),
                func.max(case((order_lines.c.qty != reserved, 1), else_=0)),
            )
            .where(order_lines.c.order_id.in_(chunk))
            .group_by(order_lines.c.order_id)
        )
        for order_id, any_reserved, any_missing in rows:
            reason = edits.split_refusal(bool(any_reserved), bool(any_missing))
            if reason is not None:
                refused[order_id] = _split_refused(order_id, reason)
    return refused


def split(tx: Tx, order_id: str, actor: Actor) -> tuple[str, str]:
    """Move the unreserved units into a new order `<id>-N`; the original keeps the rest. The
    ids of both (`get` them). Refused (UnknownOrder, StateConflict) before anything is
    written, so a refusal leaves the transaction clean."""
    outcome = split_orders(tx, [order_id], actor)
    if outcome.failed:
        raise outcome.failed[0][1]
    return outcome.splits[0]


def split_orders(tx: Tx, ids: Sequence[str], actor: Actor) -> SplitOutcome:
    """`split` of each of `ids` in turn, `_AT_ONCE` orders per pass of statements, with what
    one `split` after another would meet: an order named twice is split once, the second time
    it has every unit reserved; a new order named after its split has nothing reserved."""
    outcome = SplitOutcome()
    done: dict[str, str | OperationFailed] = {}
    created: set[str] = set()
    for start in range(0, len(ids), _AT_ONCE):
        chunk = ids[start : start + _AT_ONCE]
        fresh = [oid for oid in dict.fromkeys(chunk) if oid not in done and oid not in created]
        done.update(_split_chunk(tx, fresh, actor))
        for oid in chunk:
            result = _again(oid, done.get(oid), created)
            if isinstance(result, OperationFailed):
                outcome.failed.append((oid, result))
            else:
                outcome.splits.append((oid, result))
                created.add(result)
    return outcome


def _again(
    oid: str, first: str | OperationFailed | None, created: set[str]
) -> str | OperationFailed:
    """What splitting `oid` meets, `first` being what its first split in this call did (or
    would have done) and `created` the new orders made before it."""
    if oid in created:  # a new order, all of it unreserved
        return StateConflict(_split_refused(oid, edits.split_refusal(False, True) or ""))
    if isinstance(first, str) and first in created:  # split already: all of it reserved
        return StateConflict(_split_refused(oid, edits.split_refusal(True, False) or ""))
    assert first is not None  # only a new order of this call was not looked at
    return first


def _split_chunk(tx: Tx, ids: list[str], actor: Actor) -> dict[str, str | OperationFailed]:
    """Split distinct orders: lock (their stock, then them), check and plan each, then write
    the whole chunk. Each id -> the new order's id, or why it cannot be split."""
    if not ids:
        return {}
    found = _locked(tx, ids)
    out: dict[str, str | OperationFailed] = {}
    planned: dict[str, edits.SplitPlan] = {}
    for oid in ids:
        order = found.get(oid)
        if order is None:
            out[oid] = _unknown(tx, oid)
        elif order.status != OrderStatus.AWAITING_FULFILLMENT:
            out[oid] = StateConflict(f"cannot split order {quoted(oid)}: it is {order.status}")
        else:
            try:
                planned[oid] = edits.split_plan(order.lines)
            except ValueError as exc:
                out[oid] = StateConflict(_split_refused(oid, str(exc)))
    new_ids = _free_split_ids(tx, list(planned))
    ready: list[_Planned] = []
    for oid, plan in planned.items():
        if len(new_ids[oid]) > Length.ORDER_ID:
            out[oid] = StateConflict(_split_refused(oid, _too_long(new_ids[oid])))
        else:
            ready.append(_Planned(found[oid], plan, new_ids[oid]))
            out[oid] = new_ids[oid]
    if ready:
        _write(tx, ready, actor)
    return out


def _locked(tx: Tx, ids: list[str]) -> dict[str, Order]:
    """The orders of `ids` that exist, read once locked. On PostgreSQL (the lock order of
    `engine.store.database`) they are read once unlocked to learn their stock, which is locked
    first, then they are locked and read again; SQLite holds its write lock already."""
    if not tx.store.is_postgres:
        return load_orders(tx.conn, ids)
    kits = load_kits(tx.conn)
    first = load_orders(tx.conn, ids)
    tx.lock_stock(update_keys(tx, [(o, (), (o.warehouse,)) for o in first.values()], kits))
    tx.lock_orders([oid for oid in ids if oid in first])
    found = load_orders(tx.conn, [oid for oid in ids if oid in first])
    open_ = [o for o in found.values() if o.status == OrderStatus.AWAITING_FULFILLMENT]
    tx.require_stock(update_keys(tx, [(o, (), (o.warehouse,)) for o in open_], kits))
    return found


def _unknown(tx: Tx, oid: str) -> OperationFailed:
    """The error `get` raises for an order that does not exist (with its case hint)."""
    try:
        get(tx, oid)
    except UnknownOrder as exc:
        return exc
    return UnknownOrder(f"no order with id {quoted(oid)}")  # pragma: no cover - it was gone


def _write(tx: Tx, ready: Sequence[_Planned], actor: Actor) -> None:
    """The splits' writes, a statement per step for all of them, in the order one split after
    another wrote them: each original keeps its reserved lines renumbered in their order (the
    others deleted first, so a line moves down into a free number), its reservations follow
    their line; then the new orders, the statuses, and per split `order.created` of the new
    order and `order.updated` of the original, in that order."""
    conn, now, bulk = tx.conn, tx.now(), Bulk(tx.conn)
    dropped, renumbered, held = [], [], []
    for p in ready:
        oid, plan = p.order.id, p.plan
        keep = set(plan.kept_numbers)
        dropped += [(oid, n) for n in range(1, len(p.order.lines) + 1) if n not in keep]
        for new_no, (old_no, line) in enumerate(zip(plan.kept_numbers, plan.kept, strict=True), 1):
            if new_no != old_no or p.order.lines[old_no - 1].qty != line.qty:
                renumbered.append((oid, old_no, new_no, line.qty))
            if new_no != old_no:
                held.append((oid, old_no, new_no))
    bulk.executemany(_DROP_LINE, ("b_order", "b_old"), dropped)
    bulk.executemany(_RENUMBER_LINE, ("b_order", "b_old", "b_new", "b_qty"), renumbered)
    bulk.executemany(_RENUMBER_HELD, ("b_order", "b_old", "b_new"), held)
    at = bulk.value(orders.c.updated_at, now)
    bulk.executemany(
        _RECOUNT,
        ("b_order", "b_lines", "b_units", "b_at"),
        [(p.order.id, len(p.plan.kept), sum(x.qty for x in p.plan.kept), at) for p in ready],
    )
    insert_orders(conn, [_child(p) for p in ready], now, None)
    # Its reservations keep their units and their place in the coverage order, so no cover
    # changes (`recover` would read every reservation of its stock to find that out); only its
    # own status does: it now wants exactly what it holds.
    refresh_status(tx, [p.order.id for p in ready], "split", actor.rule)
    outbox.record(
        conn,
        [
            row
            for p in ready
            for row in (
                outbox.event_row(now, EventType.ORDER_CREATED, p.new_id),
                outbox.event_row(
                    now, EventType.ORDER_UPDATED, p.order.id, {"split_into": p.new_id}
                ),
            )
        ],
    )


def _child(p: _Planned) -> Order:
    order = p.order
    return Order(
        id=p.new_id,
        channel=order.channel,
        placed_at=order.placed_at,
        lines=p.plan.moved,
        ship_to=order.ship_to,
        shipping_method=order.shipping_method,
        total=None,
        tags=order.tags,
        warehouse=order.warehouse,
        attributes=order.attributes,
    )


def _free_split_ids(tx: Tx, ids: Sequence[str]) -> dict[str, str]:
    """The first free `<id>-N` of each order (`edits.split_id`), looked up by exact ids in the
    primary key: `<id>-1` of every order first, then, for the orders that have it, 20 more at a
    time. (A LIKE over the ids read every order: SQLite's LIKE ignores case, so it cannot use
    the index, which made a tick's thousands of splits quadratic.) The candidates of two
    orders never coincide (`A-1-2` is no `A-N`)."""
    taken: dict[str, set[str]] = {oid: set() for oid in ids}
    looking, start, size = list(ids), 1, 1
    while looking:
        owner = {f"{oid}-{n}": oid for oid in looking for n in range(start, start + size)}
        candidates = list(owner)
        for at in range(0, len(candidates), CHUNK):
            window = candidates[at : at + CHUNK]
            for taken_id in tx.conn.execute(
                select(orders.c.id).where(orders.c.id.in_(window))
            ).scalars():
                taken[owner[taken_id]].add(taken_id)
        looking = [oid for oid in looking if len(taken[oid]) == start + size - 1]
        start, size = start + size, _SPLIT_IDS_AT_ONCE
    return {oid: edits.split_id(oid, taken[oid]) for oid in ids}


def _too_long(new_id: str) -> str:
    return f"the new order's id {quoted(new_id)} would be longer than {Length.ORDER_ID} characters"


def _split_refused(order_id: str, reason: str) -> str:
    return f"cannot split order {quoted(order_id)}: {reason}"
