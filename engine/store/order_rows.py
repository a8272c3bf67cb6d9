"""Writing new orders in bulk: their rows, lines, tags and `order.created` events.

The import's hot path (tests/bench/bench_import.py). Rows are built as plain tuples, each value
converted once by the column's own SQLAlchemy processor, except the one SQLite conversion that
showed in profiles (timestamps), which has a C-speed equivalent that is checked against the
processor before it is used. On PostgreSQL with psycopg the rows go through `COPY … FROM STDIN`
(measured several times faster than executemany); elsewhere through `Bulk.insert`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from engine.model import Order
from engine.store.bulk import Bulk
from engine.store.schema import events, order_lines, order_tags, orders

#: What an Order is built from: the order's own content (`rows.load_orders` reads these).
ORDER_CONTENT = (
    "id",
    "channel",
    "placed_at",
    "status",
    "allocation_status",
    "ship_to_name",
    "ship_to_country",
    "ship_to_state",
    "ship_to_city",
    "ship_to_postal_code",
    "shipping_method",
    "total",
    "warehouse",
    "attributes",
)
#: Every column an insert writes: the content, then the bookkeeping counters and marks.
ORDER_COLUMNS = (
    *ORDER_CONTENT,
    "line_count",
    "unit_count",
    "created_at",
    "updated_at",
    "channel_updated_at",
    "sync_hash",
)
LINE_COLUMNS = ("order_id", "line_no", "sku", "qty", "reserved")
TAG_COLUMNS = ("order_id", "tag")
EVENT_COLUMNS = ("at", "type", "order_id", "payload", "processed")

Mark = tuple[str | None, datetime | None]
_NO_MARK: Mark = (None, None)


def insert_orders(
    conn: Connection,
    batch: Sequence[Order],
    now: datetime,
    event: str | None,
    marks: Mapping[str, Mark] | None = None,
) -> None:
    """Insert whole orders; `marks` gives sync's (content hash, channel updated_at) by id;
    `event` (e.g. `order.created`) is recorded for each order when given."""
    if not batch:
        return
    bulk = Bulk(conn)
    stamp = bulk.value(orders.c.created_at, now)
    order_rows, line_rows, tag_rows = _rows(bulk, batch, stamp, marks or {})
    write = _copy if _can_copy(conn) else _insert
    write(bulk, orders, ORDER_COLUMNS, order_rows)
    write(bulk, order_lines, LINE_COLUMNS, line_rows)
    write(bulk, order_tags, TAG_COLUMNS, tag_rows)
    if event:
        empty = bulk.value(events.c.payload, {})
        done = bulk.value(events.c.processed, False)
        kind = str(event)  # plain text: see `_rows`
        write(bulk, events, EVENT_COLUMNS, [(stamp, kind, o.id, empty, done) for o in batch])


def _rows(
    bulk: Bulk, batch: Sequence[Order], stamp: Any, given: Mapping[str, Mark]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of `batch` for orders, order_lines and order_tags; `stamp` is the driver's
    form of their creation time.

    Statuses go to the driver as plain `str`: sqlite3 binds a `str` subclass (the StrEnum
    statuses) through its adapter protocol, two failed attribute look-ups per value, which
    cost more than the rest of an order's row (measured 0.9 µs per value)."""
    to_time = _time_writer(bulk)
    iso = to_time is _iso_text  # then inlined: a call per order less
    to_json = bulk.processor(orders.c.attributes)
    to_money = bulk.processor(orders.c.total)
    no_attributes = to_json({})
    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[Any, ...]] = []
    add_order = order_rows.append
    for o in batch:
        oid, lines, to, placed = o.id, o.lines, o.ship_to, o.placed_at
        digest, seen = given.get(oid, _NO_MARK)
        total = o.total
        add_order(
            (
                oid,
                o.channel,
                placed.isoformat(" ", "microseconds")[:26] if iso else to_time(placed),
                str(o.status),
                str(o.allocation_status),
                to.name,
                to.country,
                to.state,
                to.city,
                to.postal_code,
                o.shipping_method,
                None if total is None else to_money(total),
                o.warehouse,
                to_json(dict(o.attributes)) if o.attributes else no_attributes,
                len(lines),
                sum([line.qty for line in lines]),
                stamp,
                stamp,
                None if seen is None else to_time(seen),
                digest,
            )
        )
        line_rows += [(oid, n, x.sku, x.qty, x.reserved) for n, x in enumerate(lines, 1)]
        if o.tags:
            tag_rows += [(oid, tag) for tag in sorted(o.tags)]
    return order_rows, line_rows, tag_rows


def _insert(bulk: Bulk, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    bulk.insert(table, columns, rows)


def _copy(bulk: Bulk, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    bulk.copy(table, columns, rows)


def _can_copy(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


_SAMPLES = (
    datetime(2026, 11, 23, 18, 59, 9, tzinfo=UTC),
    datetime(1, 2, 3, 4, 5, 6, 7, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)


def _time_writer(bulk: Bulk) -> Callable[[datetime], Any]:
    """The placed_at converter: SQLite's text form by `isoformat` (C) when it gives exactly what
    SQLAlchemy's processor gives, else the processor itself."""
    convert = bulk.processor(orders.c.placed_at)
    if bulk.dialect.name != "sqlite":
        return convert
    if all(_iso_text(moment) == convert(moment) for moment in _SAMPLES):
        return _iso_text
    return convert


def _iso_text(moment: datetime) -> str:
    # "YYYY-MM-DD HH:MM:SS.ffffff" of an aware UTC datetime, without its "+00:00".
    return moment.isoformat(" ", "microseconds")[:26]
