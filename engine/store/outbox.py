"""The outbox (SPEC §5) and the schedule-runs table: written in the caller's transaction.

A consumer claims pending events and marks them processed in its own transaction, so an event is
applied exactly once even if the process dies (it is simply pending again). Processing is a
per-row flag, never "id greater than last seen": ids commit out of order (GUIDE "Outbox").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from engine.model import EventType
from engine.store.bulk import Bulk
from engine.store.rows import aware
from engine.store.schema import events, order_lines, orders, rule_runs

#: A pending event as a consumer sees it: (id, type, order id, payload).
Pending = tuple[int, str, str | None, dict[str, Any]]

_MARK_PROCESSED = (
    update(events)
    .where(events.c.id == bindparam("e_id"))
    .values(processed=bindparam("e_done"), processed_at=bindparam("e_at"))
)


def event_row(
    at: datetime,
    kind: EventType,
    order_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {"at": at, "type": str(kind), "order_id": order_id, "payload": payload or {}}


def record(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append events (see `event_row`) in the caller's transaction."""
    if rows:
        conn.execute(insert(events), list(rows))


def claim_pending(conn: Connection) -> list[Pending]:
    """Pending events, oldest first; on PostgreSQL each is claimed by exactly one worker
    (`FOR UPDATE SKIP LOCKED`: a queue, the one place dibs skips locked rows)."""
    query = (
        select(events.c.id, events.c.type, events.c.order_id, events.c.payload)
        .where(events.c.processed.is_(False))
        .order_by(events.c.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [(r.id, r.type, r.order_id, r.payload or {}) for r in conn.execute(query)]


def mark_processed(conn: Connection, ids: Iterable[int], now: datetime) -> None:
    bulk = Bulk(conn)
    stamp = bulk.value(events.c.processed_at, now)
    done = bulk.value(events.c.processed, True)
    bulk.executemany(_MARK_PROCESSED, ("e_id", "e_done", "e_at"), [(i, done, stamp) for i in ids])


def mark_all_processed(conn: Connection) -> None:
    """Consume every pending event (a rule test's fixtures are not events to react to)."""
    conn.execute(update(events).where(events.c.processed.is_(False)).values(processed=True))


def last_slot(conn: Connection, rule: str) -> datetime | None:
    """The newest recorded slot of a scheduled rule."""
    last = conn.execute(
        select(rule_runs.c.slot)
        .where(rule_runs.c.rule == rule)
        .order_by(rule_runs.c.slot.desc())
        .limit(1)
    ).scalar()
    return None if last is None else aware(last)  # SQLite gives back naive UTC


def claim_slot(conn: Connection, rule: str, slot: datetime, ruleset: str, now: datetime) -> bool:
    """Record `(rule, slot)`; False when another worker already has it (the unique key)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    claimed = conn.execute(
        dialect_insert(rule_runs)
        .values(rule=rule, slot=slot, ruleset=ruleset, ran_at=now)
        .on_conflict_do_nothing()
        .returning(rule_runs.c.rule)
    ).first()
    return claimed is not None


def stock_events_since(conn: Connection, since: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """`inventory.changed` events at or after `since`, oldest first: (at, payload)."""
    return [
        (aware(e.at), e.payload or {})
        for e in conn.execute(
            select(events.c.at, events.c.payload)
            .where(events.c.type == EventType.INVENTORY_CHANGED, events.c.at >= since)
            .order_by(events.c.id)
        )
    ]


def shipments_since(
    conn: Connection, sku: str, warehouse: str, since: datetime
) -> list[tuple[datetime, str, int]]:
    """(at, order, qty) of `order.shipped` events at or after `since` that took (sku, warehouse).

    A shipment records what it took in its payload (`stock`: kit components and `from`
    warehouses included); an event written before that falls back to the order's lines.
    """
    out = []
    for at, oid, payload in conn.execute(
        select(events.c.at, events.c.order_id, events.c.payload)
        .where(events.c.type == EventType.ORDER_SHIPPED, events.c.at >= since)
        .order_by(events.c.id)
    ):
        took = (payload or {}).get("stock")
        if took is not None:
            qty = sum(t["qty"] for t in took if t["sku"] == sku and t["warehouse"] == warehouse)
            if qty:
                out.append((aware(at), oid, qty))
            continue
        for (qty,) in conn.execute(
            select(order_lines.c.qty)
            .join(orders, orders.c.id == order_lines.c.order_id)
            .where(
                order_lines.c.order_id == oid,
                order_lines.c.sku == sku,
                orders.c.warehouse == warehouse,
            )
        ):
            out.append((aware(at), oid, qty))
    return out


#: An event as listings show it: (id, type, at, order id, payload).
Listed = tuple[int, str, datetime, str | None, dict[str, Any]]


def _listed(rows: Any) -> list[Listed]:
    return [(r.id, r.type, aware(r.at), r.order_id, r.payload or {}) for r in rows]


def list_events(
    conn: Connection,
    types: Sequence[str] = (),
    order_id: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[Listed]:
    """Events, oldest first: the newest `limit` of those matching every filter given."""
    query = select(events.c.id, events.c.type, events.c.at, events.c.order_id, events.c.payload)
    if types:
        query = query.where(events.c.type.in_(list(types)))
    if order_id is not None:
        query = query.where(events.c.order_id == order_id)
    if since is not None:
        query = query.where(events.c.at >= since)
    query = query.order_by(events.c.id.desc())
    if limit:
        query = query.limit(limit)
    return _listed(conn.execute(query))[::-1]


def events_after(conn: Connection, after: int, limit: int = 1000) -> list[Listed]:
    """Events with an id above `after`, oldest first (for `events tail`)."""
    return _listed(
        conn.execute(
            select(events.c.id, events.c.type, events.c.at, events.c.order_id, events.c.payload)
            .where(events.c.id > after)
            .order_by(events.c.id)
            .limit(limit)
        )
    )


def last_event_id(conn: Connection) -> int:
    """The highest event id so far (0 for none)."""
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)
