"""Orders: creating them, their tags, edit and split (SPEC §4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import bindparam, delete, insert, select, update

from engine import model
from engine.errors import BadInput, OperationFailed, OrdersExist
from engine.memory import collector_paused
from engine.model import Actor, EventType, Order, OrderStatus
from engine.service.cover import recover
from engine.service.records import Progress
from engine.service.release import released_events
from engine.service.tx import Tx
from engine.store import order_lines, order_tags, orders, outbox, reservations
from engine.store.bulk import Bulk
from engine.store.rows import (
    CHUNK,
    add_allocated,
    apply_trim,
    existing_ids,
    insert_orders,
    ledger_row,
    line_reservations_newest_first,
    load_orders,
    write_ledger,
)

_DROP_TAG = delete(order_tags).where(
    order_tags.c.order_id == bindparam("t_order"), order_tags.c.tag == bindparam("t_tag")
)


def check_new(new: Sequence[Order]) -> None:
    """The importers validate files; this guards every other caller (and the database)."""
    ids = [o.id for o in new]
    if len(set(ids)) != len(ids):
        raise BadInput("the same order id appears twice in one import")
    bad = [o.id for o in new if not o.lines or any(x.qty <= 0 for x in o.lines)]
    if bad:
        raise BadInput(f"orders need at least one line and positive quantities: {bad[:10]}")


def add(tx: Tx, new: Sequence[Order], progress: Progress | None = None) -> int:
    """Create new orders (import / add). Any existing id refuses the whole batch."""
    check_new(new)
    taken = existing_ids(tx.conn, [o.id for o in new])
    if taken:
        shown = ", ".join(sorted(taken)[:10])
        more = f" and {len(taken) - 10} more" if len(taken) > 10 else ""
        raise OrdersExist(
            f"order id already exists: {shown}{more}; nothing imported "
            "(dibs never overwrites an order on import)",
            sorted(taken),
        )
    now = tx.now()
    step = CHUNK * 5
    with collector_paused():
        for start in range(0, len(new), step):
            insert_orders(tx.conn, new[start : start + step], now, EventType.ORDER_CREATED)
            if progress:
                progress(min(start + step, len(new)), len(new))
    return len(new)


def get(tx: Tx, order_id: str) -> Order:
    """The order with its lines; exit 1 if unknown."""
    found = load_orders(tx.conn, [order_id])
    if order_id not in found:
        raise OperationFailed(f"no order with id {order_id!r}")
    return found[order_id]


def open_order(tx: Tx, order_id: str, what: str) -> Order:
    """The order, locked, when it is awaiting fulfillment; else exit 1."""
    tx.store.lock_orders(tx.conn, [order_id])
    order = get(tx, order_id)
    if order.status != OrderStatus.AWAITING_FULFILLMENT:
        raise OperationFailed(f"cannot {what} order {order_id!r}: it is {order.status}")
    return order


def retag(tx: Tx, changes: Mapping[str, tuple[Iterable[str], Iterable[str]]]) -> None:
    """Add and remove tags (rule actions). No `order.updated` event: a rule's own tagging must
    not fire `order updated` rules again, or two rules could tag back and forth."""
    adds = [(oid, tag) for oid, (add, _) in changes.items() for tag in sorted(add)]
    removes = [(oid, tag) for oid, (_, remove) in changes.items() for tag in sorted(remove)]
    bulk = Bulk(tx.conn)
    if removes:
        bulk.executemany(_DROP_TAG, ("t_order", "t_tag"), removes)
    if adds:
        existing: set[tuple[str, str]] = set()
        owners = sorted({oid for oid, _ in adds})
        for start in range(0, len(owners), CHUNK):
            existing.update(
                (oid, tag)
                for oid, tag in tx.conn.execute(
                    select(order_tags.c.order_id, order_tags.c.tag).where(
                        order_tags.c.order_id.in_(owners[start : start + CHUNK])
                    )
                )
            )
        bulk.insert(order_tags, ("order_id", "tag"), [row for row in adds if row not in existing])


def check_lines(new_lines: Sequence[tuple[str, int]]) -> None:
    if not new_lines:
        raise BadInput("an order needs at least one line")
    for sku, qty in new_lines:
        if qty <= 0:
            raise BadInput(f"line {sku}:{qty}: quantity must be a positive whole number")


def edit(tx: Tx, order_id: str, new_lines: Sequence[tuple[str, int]], actor: Actor) -> Order:
    """Replace an order's lines (SPEC §4 edit); reservations trimmed or released."""
    check_lines(new_lines)
    conn = tx.conn
    order = open_order(tx, order_id, "edit")
    plan = model.plan_edit(order.lines, new_lines)
    keys = {(line.sku, order.warehouse) for line in (*order.lines, *plan.lines)}
    tx.lock_stock(keys)
    for index, give_back in enumerate(plan.release):
        if give_back:
            _trim_line(tx, order, index + 1, give_back, "edit", actor)
    # Renumber: kept lines take their new position; reservations follow their line.
    conn.execute(
        update(reservations)
        .where(reservations.c.order_id == order_id)
        .values(line_no=-reservations.c.line_no)
    )
    for new_no, old_index in enumerate(plan.kept_from, start=1):
        if old_index is not None:
            conn.execute(
                update(reservations)
                .where(
                    reservations.c.order_id == order_id, reservations.c.line_no == -(old_index + 1)
                )
                .values(line_no=new_no)
            )
    conn.execute(delete(order_lines).where(order_lines.c.order_id == order_id))
    conn.execute(
        insert(order_lines),
        [
            {
                "order_id": order_id,
                "line_no": n,
                "sku": line.sku,
                "qty": line.qty,
                "reserved": line.reserved,
            }
            for n, line in enumerate(plan.lines, start=1)
        ],
    )
    now = tx.now()
    conn.execute(
        update(orders)
        .where(orders.c.id == order_id)
        .values(
            line_count=len(plan.lines), unit_count=sum(x.qty for x in plan.lines), updated_at=now
        )
    )
    # An edit starts the order's allocation story afresh (SPEC §3): its status now follows
    # from what stays reserved, `unallocated` when nothing does.
    recover(tx, sorted(keys), "edit", actor.rule, also=[order_id], fresh={order_id})
    outbox.record(conn, [outbox.event_row(now, EventType.ORDER_UPDATED, order_id)])
    return get(tx, order_id)


def _trim_line(tx: Tx, order: Order, line_no: int, qty: int, operation: str, actor: Actor) -> None:
    """Give back `qty` reserved units of a line, newest reservation first (model.plan_trim)."""
    held = line_reservations_newest_first(tx.conn, order.id, line_no)
    apply_trim(tx.conn, model.plan_trim(held, qty))
    line = order.lines[line_no - 1]
    add_allocated(tx.conn, {(line.sku, order.warehouse): -qty})
    outbox.record(
        tx.conn,
        released_events(
            tx.now(),
            [model.Held(0, order.id, line_no, line.sku, order.warehouse, qty)],
            operation,
            actor,
        ),
    )
    write_ledger(
        tx.conn,
        [
            ledger_row(
                tx.now(), order.id, line_no, line.sku, order.warehouse, -qty, operation, actor
            )
        ],
    )


def split(tx: Tx, order_id: str, actor: Actor) -> tuple[Order, Order]:
    """Move the unreserved units into a new order `<id>-N`; the original keeps the rest."""
    conn = tx.conn
    order = open_order(tx, order_id, "split")
    try:
        kept, moved = model.plan_split(order.lines)
    except ValueError as exc:
        raise OperationFailed(f"cannot split order {order_id!r}: {exc}") from exc
    taken = conn.execute(
        select(orders.c.id).where(
            orders.c.id.like(order_id.replace("%", r"\%").replace("_", r"\_") + "-%", escape="\\")
        )
    ).scalars()
    new_id = model.split_id(order_id, taken)
    now = tx.now()
    # Keep the reserved lines, renumbered in their original order.
    kept_numbers = [n for n, line in enumerate(order.lines, start=1) if line.reserved]
    conn.execute(
        delete(order_lines).where(
            order_lines.c.order_id == order_id, order_lines.c.line_no.not_in(kept_numbers)
        )
    )
    for new_no, old_no in enumerate(kept_numbers, start=1):
        conn.execute(
            update(order_lines)
            .where(order_lines.c.order_id == order_id, order_lines.c.line_no == old_no)
            .values(line_no=new_no, qty=kept[new_no - 1].qty)
        )
        conn.execute(
            update(reservations)
            .where(reservations.c.order_id == order_id, reservations.c.line_no == old_no)
            .values(line_no=new_no)
        )
    conn.execute(
        update(orders)
        .where(orders.c.id == order_id)
        .values(line_count=len(kept), unit_count=sum(x.qty for x in kept), updated_at=now)
    )
    child = Order(
        id=new_id,
        channel=order.channel,
        placed_at=order.placed_at,
        lines=moved,
        ship_to=order.ship_to,
        shipping_method=order.shipping_method,
        total=None,
        tags=order.tags,
        warehouse=order.warehouse,
        attributes=order.attributes,
    )
    insert_orders(conn, [child], now, EventType.ORDER_CREATED)
    keys = [(line.sku, order.warehouse) for line in kept]
    recover(tx, keys, "split", actor.rule, also=[order_id])
    outbox.record(
        conn, [outbox.event_row(now, EventType.ORDER_UPDATED, order_id, {"split_into": new_id})]
    )
    return get(tx, order_id), get(tx, new_id)
