"""Reading and writing orders and stock rows in bulk (Core statements and the raw cursor)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from engine.memory import collector_paused
from engine.model import Held, Line, Order, ShipTo, StockKey
from engine.store.bulk import Bulk
from engine.store.order_rows import ORDER_CONTENT
from engine.store.order_rows import insert_orders as insert_orders
from engine.store.schema import (
    inventory,
    order_lines,
    order_tags,
    orders,
    reservations,
)

CHUNK = 2000  # ids per IN (…) read or write: PostgreSQL takes at most 65,535 parameters


def load_stock(conn: Connection, keys: Iterable[StockKey]) -> dict[StockKey, tuple[int, int]]:
    """(on_hand, allocated) of each of `keys` that has a row: one raw read per 5000 SKUs (a
    stock file of 100k keys is 20 reads, no Row objects)."""
    wanted = set(keys)
    if not wanted:
        return {}
    skus = sorted({s for s, _ in wanted})
    bulk = Bulk(conn)
    out: dict[StockKey, tuple[int, int]] = {}
    for start in range(0, len(skus), 5000):
        rows = bulk.fetch_in(
            "SELECT sku, warehouse, on_hand, allocated FROM inventory WHERE sku IN ({in})",
            skus[start : start + 5000],
        )
        for sku, wh, on_hand, allocated in rows:
            if (sku, wh) in wanted:
                out[(sku, wh)] = (on_hand, allocated)
    return out


def existing_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    bulk = Bulk(conn)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found.update(r[0] for r in bulk.fetch_in("SELECT id FROM orders WHERE id IN ({in})", chunk))
    return found


#: What an Order is built from (not the bookkeeping timestamps and counters: less to convert).
_ORDER_FIELDS = [orders.c[name] for name in ORDER_CONTENT]


def ids_by_attribute(conn: Connection, channel: str, key: str, value: str) -> list[str]:
    """The ids of `channel`'s orders whose attribute `key` is the text `value` (a channel's
    own id for an order, such as `woocommerce_id`), sorted."""
    query = (
        select(orders.c.id)
        .where(orders.c.channel == channel, orders.c.attributes[key].as_string() == value)
        .order_by(orders.c.id)
    )
    return list(conn.execute(query).scalars())


def case_hint(conn: Connection, order_id: str) -> str:
    """`; did you mean 'SH-10003'? (ids are case-sensitive)` for an unknown id typed in the
    other case (`sh-10003`), else "". Two primary-key look-ups (its upper and lower case), so
    an unknown id stays as cheap to refuse as before."""
    variants = sorted({order_id.upper(), order_id.lower()} - {order_id})
    if not variants:
        return ""
    found = conn.execute(select(orders.c.id).where(orders.c.id.in_(variants)).limit(1)).scalar()
    return f"; did you mean {found!r}? (ids are case-sensitive)" if found is not None else ""


def load_orders(conn: Connection, ids: Sequence[str]) -> dict[str, Order]:
    """Whole orders by id (missing ids are simply absent)."""
    with collector_paused():  # a tick loads every candidate order: no cycles, many objects
        return _load_orders(conn, ids)


def _load_orders(conn: Connection, ids: Sequence[str]) -> dict[str, Order]:
    out: dict[str, Order] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        rows = conn.execute(select(*_ORDER_FIELDS).where(orders.c.id.in_(chunk))).all()
        lines: dict[str, list[Line]] = defaultdict(list)
        for oid, sku, qty, reserved in conn.execute(
            select(
                order_lines.c.order_id, order_lines.c.sku, order_lines.c.qty, order_lines.c.reserved
            )
            .where(order_lines.c.order_id.in_(chunk))
            .order_by(order_lines.c.order_id, order_lines.c.line_no)
        ).fetchall():
            lines[oid].append(Line(sku, qty, reserved))
        tags: dict[str, set[str]] = defaultdict(set)
        for oid, tag in conn.execute(
            select(order_tags.c.order_id, order_tags.c.tag).where(order_tags.c.order_id.in_(chunk))
        ).fetchall():
            tags[oid].add(tag)
        for r in rows:
            out[r.id] = order_from_row(r, tuple(lines[r.id]), frozenset(tags[r.id]))
    return out


def aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything we store is UTC."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def normal_decimal(value: Decimal) -> Decimal:
    """100.5000 -> 100.50: money keeps two places at least, no trailing zeros beyond them."""
    quantized = (
        value.quantize(Decimal("0.01"))
        if value == value.quantize(Decimal("0.01"))
        else value.normalize()
    )
    return quantized


def order_from_row(r: Any, lines: tuple[Line, ...], tags: frozenset[str]) -> Order:
    return Order(
        id=r.id,
        channel=r.channel,
        placed_at=aware(r.placed_at),
        lines=lines,
        status=r.status,
        allocation_status=r.allocation_status,
        ship_to=ShipTo(
            r.ship_to_name,
            r.ship_to_country,
            r.ship_to_state,
            r.ship_to_city,
            r.ship_to_postal_code,
        ),
        shipping_method=r.shipping_method,
        total=None if r.total is None else normal_decimal(Decimal(r.total)),
        tags=tags,
        warehouse=r.warehouse,
        attributes=dict(r.attributes or {}),
    )


# ------------------------------------------------------------------------ reservations and stock


def orders_with_uncovered(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of `ids` hold a reservation that stock no longer covers."""
    return set(
        conn.execute(
            select(reservations.c.order_id).where(
                reservations.c.order_id.in_(list(ids)), reservations.c.covered.is_(False)
            )
        ).scalars()
    )


def set_statuses(conn: Connection, changes: Mapping[str, str], now: datetime) -> None:
    """Write allocation statuses (order id -> status), one executemany."""
    if not changes:
        return
    bulk = Bulk(conn)
    stamp = bulk.value(orders.c.updated_at, now)
    bulk.executemany(
        _SET_STATUS,
        ("s_id", "s_status", "s_at"),
        [(oid, str(st), stamp) for oid, st in changes.items()],
    )


_SET_STATUS = (
    update(orders)
    .where(orders.c.id == bindparam("s_id"))
    .values(allocation_status=bindparam("s_status"), updated_at=bindparam("s_at"))
)


def held_reservations(conn: Connection, ids: Sequence[str]) -> list[Held]:
    """Every live reservation of the orders `ids`."""
    return [
        Held(r.seq, r.order_id, r.line_no, r.sku, r.warehouse, r.qty)
        for r in conn.execute(
            select(
                reservations.c.seq,
                reservations.c.order_id,
                reservations.c.line_no,
                reservations.c.sku,
                reservations.c.warehouse,
                reservations.c.qty,
            ).where(reservations.c.order_id.in_(list(ids)))
        )
    ]


def line_stock_keys(conn: Connection, ids: Sequence[str]) -> set[StockKey]:
    """The (sku, warehouse) of every line of the orders `ids`."""
    return {
        (r.sku, r.warehouse)
        for r in conn.execute(
            select(order_lines.c.sku, orders.c.warehouse)
            .join(orders, orders.c.id == order_lines.c.order_id)
            .where(order_lines.c.order_id.in_(list(ids)))
        )
    }


def stock_keys_of(conn: Connection, ids: Sequence[str]) -> set[StockKey]:
    """`line_stock_keys` for any number of orders (in bounded IN lists)."""
    keys: set[StockKey] = set()
    for start in range(0, len(ids), CHUNK):
        keys |= line_stock_keys(conn, ids[start : start + CHUNK])
    return keys


def drop_reservations(conn: Connection, ids: Sequence[str]) -> None:
    """Delete every reservation of `ids` and zero their lines' reserved counters."""
    conn.execute(delete(reservations).where(reservations.c.order_id.in_(list(ids))))
    conn.execute(
        update(order_lines).where(order_lines.c.order_id.in_(list(ids))).values(reserved=0)
    )


def add_allocated(conn: Connection, deltas: Mapping[StockKey, int]) -> None:
    """inventory.allocated += delta for each (sku, warehouse)."""
    for (sku, wh), delta in sorted(deltas.items()):
        conn.execute(
            update(inventory)
            .where(inventory.c.sku == sku, inventory.c.warehouse == wh)
            .values(allocated=inventory.c.allocated + delta)
        )


def add_on_hand(conn: Connection, deltas: Mapping[StockKey, int]) -> None:
    """on_hand += delta; a (sku, warehouse) nobody stocked gets a row (shipping can go negative)."""
    existing = load_stock(conn, deltas.keys())
    for (sku, wh), delta in sorted(deltas.items()):
        if (sku, wh) in existing:
            conn.execute(
                update(inventory)
                .where(inventory.c.sku == sku, inventory.c.warehouse == wh)
                .values(on_hand=inventory.c.on_hand + delta)
            )
        else:
            conn.execute(
                insert(inventory).values(sku=sku, warehouse=wh, on_hand=delta, allocated=0)
            )


def line_reservations_newest_first(conn: Connection, order_id: str, line_no: int) -> list[Held]:
    """One line's reservations, newest first."""
    return [
        Held(r.seq, order_id, line_no, r.sku, r.warehouse, r.qty)
        for r in conn.execute(
            select(
                reservations.c.seq, reservations.c.sku, reservations.c.warehouse, reservations.c.qty
            )
            .where(reservations.c.order_id == order_id, reservations.c.line_no == line_no)
            .order_by(reservations.c.seq.desc())
        )
    ]


def apply_trim(conn: Connection, trims: Sequence[tuple[int, int]]) -> None:
    """Write what `model.plan_trim` decided: (seq, qty left), 0 deleting the reservation."""
    for seq, left in trims:
        if left == 0:
            conn.execute(delete(reservations).where(reservations.c.seq == seq))
        else:
            conn.execute(update(reservations).where(reservations.c.seq == seq).values(qty=left))


def allocation_statuses(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    return dict(
        conn.execute(
            select(orders.c.id, orders.c.allocation_status).where(orders.c.id.in_(list(ids)))
        ).all()
    )


def close_orders(conn: Connection, ids: Sequence[str], status: str | None, now: datetime) -> None:
    """After a release: `unallocated`, and the order status when the release closes them."""
    values: dict[str, Any] = {"allocation_status": "unallocated", "updated_at": now}
    if status:
        values["status"] = status
    conn.execute(update(orders).where(orders.c.id.in_(list(ids))).values(**values))
