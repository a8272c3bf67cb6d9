"""Reading and writing orders and stock rows in bulk (Core statements and the raw cursor)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.bulk import Bulk, collector_paused
from engine.model import Line, Order, StockKey
from engine.records import order_from_row
from engine.store import events, inventory, order_lines, order_tags, orders

CHUNK = 2000  # ids per IN (…) read

_ORDER_COLUMNS = (
    "id", "channel", "placed_at", "status", "allocation_status", "ship_to_name",
    "ship_to_country", "ship_to_state", "ship_to_city", "ship_to_postal_code", "shipping_method",
    "total", "warehouse", "attributes", "line_count", "unit_count", "created_at", "updated_at",
)


def load_stock(conn: Connection, keys: Iterable[StockKey]
) -> dict[StockKey, tuple[int, int]]:
    wanted = set(keys)
    if not wanted:
        return {}
    skus = sorted({s for s, _ in wanted})
    out: dict[StockKey, tuple[int, int]] = {}
    for start in range(0, len(skus), 5000):
        rows = conn.execute(
            select(inventory.c.sku, inventory.c.warehouse, inventory.c.on_hand,
                   inventory.c.allocated).where(inventory.c.sku.in_(skus[start:start + 5000]))
        )
        for sku, wh, on_hand, allocated in rows:
            if (sku, wh) in wanted:
                out[(sku, wh)] = (on_hand, allocated)
    return out


def existing_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    bulk = Bulk(conn)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        found.update(r[0] for r in bulk.fetch_in("SELECT id FROM orders WHERE id IN ({in})",
                                                 chunk))
    return found


def insert_orders(conn: Connection, batch: Sequence[Order], now: datetime, event: str | None
) -> None:
    bulk = Bulk(conn)
    stamp = bulk.value(orders.c.created_at, now)
    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    to_time = bulk.processor(orders.c.placed_at)
    to_json = bulk.processor(orders.c.attributes)
    to_money = bulk.processor(orders.c.total)
    no_attributes = to_json({})
    empty = bulk.value(events.c.payload, {})
    for o in batch:
        order_rows.append((
            o.id, o.channel, to_time(o.placed_at), o.status, o.allocation_status,
            o.ship_to.name, o.ship_to.country, o.ship_to.state, o.ship_to.city,
            o.ship_to.postal_code, o.shipping_method,
            None if o.total is None else to_money(o.total), o.warehouse,
            to_json(dict(o.attributes)) if o.attributes else no_attributes,
            o.line_count, o.unit_count, stamp, stamp,
        ))
        for n, line in enumerate(o.lines, start=1):
            line_rows.append((o.id, n, line.sku, line.qty, line.reserved))
        tag_rows.extend((o.id, t) for t in sorted(o.tags))
        if event:
            event_rows.append((stamp, event, o.id, empty, False))
    bulk.insert(orders, _ORDER_COLUMNS, order_rows)
    bulk.insert(order_lines, ("order_id", "line_no", "sku", "qty", "reserved"), line_rows)
    bulk.insert(order_tags, ("order_id", "tag"), tag_rows)
    bulk.insert(events, ("at", "type", "order_id", "payload", "processed"), event_rows)


#: What an Order is built from (not the bookkeeping timestamps and counters: less to convert).
_ORDER_FIELDS = [orders.c[name] for name in (
    "id", "channel", "placed_at", "status", "allocation_status", "ship_to_name",
    "ship_to_country", "ship_to_state", "ship_to_city", "ship_to_postal_code", "shipping_method",
    "total", "warehouse", "attributes")]


def load_orders(conn: Connection, ids: Sequence[str]) -> dict[str, Order]:
    """Whole orders by id (missing ids are simply absent)."""
    with collector_paused():  # a tick loads every candidate order: no cycles, many objects
        return _load_orders(conn, ids)


def _load_orders(conn: Connection, ids: Sequence[str]) -> dict[str, Order]:
    out: dict[str, Order] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        rows = conn.execute(select(*_ORDER_FIELDS).where(orders.c.id.in_(chunk))).all()
        lines: dict[str, list[Line]] = defaultdict(list)
        for oid, sku, qty, reserved in conn.execute(
            select(order_lines.c.order_id, order_lines.c.sku, order_lines.c.qty,
                   order_lines.c.reserved).where(order_lines.c.order_id.in_(chunk))
            .order_by(order_lines.c.order_id, order_lines.c.line_no)
        ).fetchall():
            lines[oid].append(Line(sku, qty, reserved))
        tags: dict[str, set[str]] = defaultdict(set)
        for oid, tag in conn.execute(
            select(order_tags.c.order_id, order_tags.c.tag)
            .where(order_tags.c.order_id.in_(chunk))
        ).fetchall():
            tags[oid].add(tag)
        for r in rows:
            out[r.id] = order_from_row(r, tuple(lines[r.id]), frozenset(tags[r.id]))
    return out
