"""Orders: creating them, their tags, edit and split (SPEC §4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import bindparam, delete, insert, select, update

from engine import model
from engine.errors import BadInput, OrdersExist, StateConflict, UnknownOrder, check_text, quoted
from engine.memory import collector_paused
from engine.model import (
    MAX_QTY,
    Actor,
    EventType,
    Kits,
    Length,
    Order,
    OrderStatus,
    StockKey,
    edits,
    routing,
)
from engine.service.cover import recover
from engine.service.records import Progress
from engine.service.release import released_events
from engine.service.tx import Tx
from engine.store import order_lines, order_tags, orders, outbox, reservations
from engine.store.bulk import Bulk
from engine.store.kit_rows import load_kits
from engine.store.ledger_rows import ledger_row, write_ledger
from engine.store.rows import (
    CHUNK,
    add_allocated,
    apply_trim,
    case_hint,
    existing_ids,
    held_reservations,
    insert_orders,
    line_reservations_newest_first,
    load_orders,
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
            # Said by `orders add` and `POST /orders` too: "nothing imported" puzzled them.
            f"order id already exists: {shown}{more}; nothing was added "
            "(dibs never overwrites an order: edit it to change it)",
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
        raise UnknownOrder(f"no order with id {quoted(order_id)}{case_hint(tx.conn, order_id)}")
    return found[order_id]


def open_order(
    tx: Tx, order_id: str, what: str, new_skus: Iterable[str] = ()
) -> tuple[Order, set[StockKey]]:
    """The order, locked, when it is awaiting fulfillment (else exit 1), and the stock locked.

    The lock order (`engine.store.database`): the stock of its lines (and of `new_skus`, the
    lines an edit adds) first, then the order row; the order is read once without locks to
    learn that stock, and again once locked.
    """
    first = get(tx, order_id)
    extra = list(new_skus)
    kits = load_kits(tx.conn)
    tx.lock_stock(_line_keys(tx, first, extra, kits))
    tx.lock_orders([order_id])
    order = get(tx, order_id)
    if order.status != OrderStatus.AWAITING_FULFILLMENT:
        raise StateConflict(f"cannot {what} order {quoted(order_id)}: it is {order.status}")
    keys = _line_keys(tx, order, extra, kits)
    tx.require_stock(keys)
    return order, keys


def _line_keys(tx: Tx, order: Order, extra_skus: Sequence[str], kits: Kits) -> set[StockKey]:
    """The stock of an order's lines (a kit's components) at home, of the SKUs an edit adds,
    and wherever it holds reservations (a `from` list may have reserved elsewhere)."""
    return update_keys(tx, [(order, extra_skus, (order.warehouse,))], kits)


def update_keys(
    tx: Tx, changes: Iterable[tuple[Order, Iterable[str], Iterable[str]]], kits: Kits
) -> set[StockKey]:
    """Every stock row that changing orders may touch, to lock before the orders: for each
    (order, the SKUs it will have, the warehouses it will use), its lines' and those SKUs'
    parts (a kit's components) in those warehouses, and wherever it holds reservations."""
    keys: set[StockKey] = set()
    ids: list[str] = []
    for order, skus, warehouses in changes:
        ids.append(order.id)
        places = tuple(warehouses)
        for sku in {*(x.sku for x in order.lines), *skus}:
            keys.update((part, wh) for part, _ in model.parts_of(sku, kits) for wh in places)
    return keys | {(h.sku, h.warehouse) for h in held_reservations(tx.conn, ids)}


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
        if qty <= 0 or qty > MAX_QTY:
            raise BadInput(
                f"line {quoted(sku)}:{qty}: quantity must be a whole number from 1 to {MAX_QTY}"
            )
        check_text("SKU", sku, Length.SKU)


def edit(tx: Tx, order_id: str, new_lines: Sequence[tuple[str, int]], actor: Actor) -> Order:
    """Replace an order's lines (SPEC §4 edit); reservations trimmed or released."""
    check_lines(new_lines)
    order, _ = open_order(tx, order_id, "edit", [sku for sku, _ in new_lines])
    replace_lines(tx, order, new_lines, actor)
    outbox.record(tx.conn, [outbox.event_row(tx.now(), EventType.ORDER_UPDATED, order_id)])
    return get(tx, order_id)


def replace_lines(tx: Tx, order: Order, new_lines: Sequence[tuple[str, int]], actor: Actor) -> None:
    """The line half of an edit, on a locked open order, without its event (the caller writes
    one `order.updated` for the whole change)."""
    check_lines(new_lines)
    conn, order_id = tx.conn, order.id
    plan = edits.plan_edit(order.lines, new_lines)
    kits = load_kits(conn)
    keys = _edit_keys(tx, order, plan, kits)
    held = any(line.reserved for line in order.lines)
    if held:
        _move_reservations(tx, order, plan, keys, actor, kits)
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
    # from what stays reserved, `unallocated` when nothing does (the change is noted).
    recover(tx, sorted(keys), "edit", actor.rule, also=[order_id], fresh={order_id})


def _move_reservations(
    tx: Tx, order: Order, plan: edits.EditPlan, keys: set[StockKey], actor: Actor, kits: Kits
) -> None:
    """Trim what the edit gives back, then renumber: kept lines take their new position and
    their reservations follow them."""
    conn, order_id = tx.conn, order.id
    tx.require_stock(keys)  # locked by open_order, before the order row (the lock order)
    for index, give_back in enumerate(plan.release):
        if give_back:
            _trim_line(tx, order, index + 1, give_back, actor, kits)
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


def _edit_keys(tx: Tx, order: Order, plan: edits.EditPlan, kits: Kits) -> set[StockKey]:
    """The stock an edit touches: its lines' (a kit's components) at home, and wherever it
    holds reservations."""
    home = {
        (part, order.warehouse)
        for line in (*order.lines, *plan.lines)
        for part, _ in model.parts_of(line.sku, kits)
    }
    return home | {(h.sku, h.warehouse) for h in held_reservations(tx.conn, [order.id])}


def _trim_line(tx: Tx, order: Order, line_no: int, units: int, actor: Actor, kits: Kits) -> None:
    """Give back `units` reserved units of a line, newest reservation first, wherever they are
    held (a kit line: every component, `routing.plan_line_trim`)."""
    line = order.lines[line_no - 1]
    held = line_reservations_newest_first(tx.conn, order.id, line_no)
    trims, given = routing.plan_line_trim(held, model.parts_of(line.sku, kits), units)
    apply_trim(tx.conn, trims)
    add_allocated(tx.conn, {key: -qty for key, qty in given.items()})
    now = tx.now()
    outbox.record(
        tx.conn,
        released_events(
            now,
            [
                model.Held(0, order.id, line_no, sku, wh, qty)
                for (sku, wh), qty in sorted(given.items())
            ],
            "edit",
            actor,
        ),
    )
    write_ledger(
        tx.conn,
        [
            ledger_row(now, order.id, line_no, sku, wh, -qty, "edit", actor)
            for (sku, wh), qty in sorted(given.items())
        ],
    )
