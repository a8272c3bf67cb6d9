"""Rewriting an order's own fields and tags, and what sync remembers per order (SPEC §9)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, update
from sqlalchemy.engine import Connection

from engine.model import Order
from engine.store.bulk import Bulk
from engine.store.rows import CHUNK, aware
from engine.store.schema import order_tags, orders


@dataclass(frozen=True)
class SyncState:
    """What sync needs of a stored order to judge an incoming copy without loading it."""

    status: str
    sync_hash: str | None
    channel_updated_at: datetime | None


def sync_states(conn: Connection, ids: Sequence[str]) -> dict[str, SyncState]:
    """The stored orders among `ids` (absent ids are new), read on the raw cursor: this is the
    one read a 99%-unchanged sync of a big file spends its time on."""
    bulk = Bulk(conn)
    parse = bulk.result_processor(orders.c.channel_updated_at)
    found: dict[str, SyncState] = {}
    for start in range(0, len(ids), CHUNK):
        for oid, status, digest, seen in bulk.fetch_in(
            "SELECT id, status, sync_hash, channel_updated_at FROM orders WHERE id IN ({in})",
            ids[start : start + CHUNK],
        ):
            moment = None if seen is None else parse(seen)
            found[oid] = SyncState(status, digest, None if moment is None else aware(moment))
    return found


_MARK = (
    update(orders)
    .where(orders.c.id == bindparam("m_id"))
    .values(sync_hash=bindparam("m_hash"), channel_updated_at=bindparam("m_seen"))
)


def write_sync_marks(conn: Connection, marks: Iterable[tuple[str, str, datetime | None]]) -> None:
    """Remember (order id, content hash, channel updated_at): sync's bookkeeping, no event."""
    rows = list(marks)
    if not rows:
        return
    bulk = Bulk(conn)
    to_time = bulk.processor(orders.c.channel_updated_at)
    bulk.executemany(
        _MARK,
        ("m_id", "m_hash", "m_seen"),
        [(oid, digest, None if seen is None else to_time(seen)) for oid, digest, seen in rows],
    )


def write_order_fields(conn: Connection, order: Order, now: datetime) -> None:
    """Replace the order's own fields (not its lines, tags, statuses or reservations)."""
    conn.execute(
        update(orders)
        .where(orders.c.id == order.id)
        .values(
            channel=order.channel,
            placed_at=order.placed_at,
            ship_to_name=order.ship_to.name,
            ship_to_country=order.ship_to.country,
            ship_to_state=order.ship_to.state,
            ship_to_city=order.ship_to.city,
            ship_to_postal_code=order.ship_to.postal_code,
            shipping_method=order.shipping_method,
            total=order.total,
            warehouse=order.warehouse,
            attributes=dict(order.attributes),
            updated_at=now,
        )
    )


def replace_tags(conn: Connection, order_id: str, tags: Iterable[str]) -> None:
    """The order's tags become exactly `tags`."""
    conn.execute(delete(order_tags).where(order_tags.c.order_id == order_id))
    rows = [(order_id, tag) for tag in sorted(set(tags))]
    Bulk(conn).insert(order_tags, ("order_id", "tag"), rows)
