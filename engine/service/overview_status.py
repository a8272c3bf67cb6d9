"""`dibs status`: what is waiting and what needs a person, read from the database (the outbox,
the last tick's traces, overallocated orders, stock short of what open orders want)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from engine.model import OrderStatus
from engine.service.shapes import iso, stock_row
from engine.store import events, inventory, order_lines, orders, reservations, rule_runs
from engine.store.rows import CHUNK, aware


def uncovered_reservations(conn: Connection, skus: Sequence[str]) -> set[tuple[str, int]]:
    """(order, reservation seq) of every reservation on `skus` that stock does not cover."""
    found: set[tuple[str, int]] = set()
    wanted = sorted(set(skus))
    for start in range(0, len(wanted), CHUNK):
        found.update(
            (r.order_id, r.seq)
            for r in conn.execute(
                select(reservations.c.order_id, reservations.c.seq).where(
                    reservations.c.sku.in_(wanted[start : start + CHUNK]),
                    reservations.c.covered.is_(False),
                )
            )
        )
    return found


def overview(conn: Connection, limit: int = 20) -> dict[str, Any]:
    """`dibs status` without the rule file: the outbox, the last tick's trace, open orders by
    allocation status, overallocated orders and the stock short of what open orders want."""
    pending = conn.execute(
        select(events.c.type, func.count(), func.min(events.c.at))
        .where(events.c.processed.is_(False))
        .group_by(events.c.type)
    ).all()
    last_event = conn.execute(
        select(events.c.processed_at)
        .where(events.c.processed.is_(True), events.c.processed_at.is_not(None))
        .order_by(events.c.id.desc())
        .limit(1)
    ).scalar()
    last_schedule = conn.execute(select(func.max(rule_runs.c.ran_at))).scalar()
    by_status: dict[str, int] = dict(
        conn.execute(
            select(orders.c.allocation_status, func.count())
            .where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
            .group_by(orders.c.allocation_status)
        ).all()
    )
    over = conn.execute(
        select(orders.c.id)
        .where(
            orders.c.status == OrderStatus.AWAITING_FULFILLMENT,
            orders.c.allocation_status == "overallocated",
        )
        .order_by(orders.c.placed_at, orders.c.id)
        .limit(limit)
    ).scalars()
    stamps = [aware(t) for t in (last_event, last_schedule) if t is not None]
    return {
        "pending_events": {
            "count": sum(n for _, n, _ in pending),
            "by_type": {kind: n for kind, n, _ in sorted(pending)},
            "oldest": iso(min((aware(at) for _, _, at in pending), default=None)),
        },
        "last_tick": iso(max(stamps, default=None)),
        "open_orders": {str(k): int(v) for k, v in sorted(by_status.items())},
        "overallocated": {
            "count": int(by_status.get("overallocated", 0)),
            "first": list(over),
        },
        "short": short_stock(conn, limit),
    }


def short_stock(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """Per (sku, warehouse) where open orders want more than is available: `waiting` (units open
    orders want and do not hold) and `short` (waiting − available: the units to receive for
    every open order to be allocated and covered), most short first."""
    wanted = (
        select(
            order_lines.c.sku.label("sku"),
            orders.c.warehouse.label("warehouse"),
            func.sum(order_lines.c.qty - order_lines.c.reserved).label("waiting"),
        )
        .join(orders, orders.c.id == order_lines.c.order_id)
        .where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
        .group_by(order_lines.c.sku, orders.c.warehouse)
    )
    stock = {
        (r.sku, r.warehouse): (r.on_hand, r.allocated)
        for r in conn.execute(
            select(
                inventory.c.sku, inventory.c.warehouse, inventory.c.on_hand, inventory.c.allocated
            )
        )
    }
    rows: list[dict[str, Any]] = []
    waiting = {(r.sku, r.warehouse): int(r.waiting or 0) for r in conn.execute(wanted)}
    for key in set(waiting) | {k for k, (h, a) in stock.items() if h - a < 0}:
        on_hand, allocated = stock.get(key, (0, 0))
        row = stock_row(key[0], key[1], on_hand, allocated)
        row["waiting"] = waiting.get(key, 0)
        row["short"] = row["waiting"] - row["available"]  # also counts uncovered reserved units
        if row["short"] > 0:
            rows.append(row)
    rows.sort(key=lambda r: (-r["short"], r["sku"], r["warehouse"]))
    return rows[:limit]
