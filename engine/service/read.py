"""The read side: listings, history and reservations in the JSON shapes of SPEC §8."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from engine.model import Order, parts_of
from engine.service.kits import kit_rows
from engine.service.shapes import iso, order_json, stock_row
from engine.store import inventory, ledger, orders, reservations
from engine.store.kit_rows import load_kits
from engine.store.rows import normal_decimal


def list_inventory(conn: Connection, sku: str | None = None) -> list[dict[str, Any]]:
    """Stock rows, and the kit units each kit's components make (SPEC §12), by sku."""
    query = select(inventory).order_by(inventory.c.sku, inventory.c.warehouse)
    if sku:
        query = query.where(inventory.c.sku == sku)
    rows = [stock_row(r.sku, r.warehouse, r.on_hand, r.allocated) for r in conn.execute(query)]
    kits = kit_rows(conn, sku or None)
    if not kits:
        return rows
    return sorted([*rows, *kits], key=lambda r: (r["sku"], r["warehouse"]))


def list_orders(
    conn: Connection, statuses: Sequence[str] = (), channel: str | None = None
) -> list[dict[str, Any]]:
    """Orders matching either kind of status (order or allocation), FIFO order."""
    query = select(
        orders.c.id,
        orders.c.channel,
        orders.c.placed_at,
        orders.c.status,
        orders.c.allocation_status,
        orders.c.shipping_method,
        orders.c.ship_to_country,
        orders.c.line_count,
        orders.c.unit_count,
        orders.c.total,
    )
    if statuses:
        query = query.where(
            (orders.c.status.in_(statuses)) | (orders.c.allocation_status.in_(statuses))
        )
    if channel:
        query = query.where(orders.c.channel == channel)
    query = query.order_by(orders.c.placed_at, orders.c.id)
    return [
        {
            "id": r.id,
            "channel": r.channel,
            "placed_at": iso(r.placed_at),
            "status": r.status,
            "allocation_status": r.allocation_status,
            "shipping_method": r.shipping_method,
            "country": r.ship_to_country,
            "lines": r.line_count,
            "units": r.unit_count,
            "total": None if r.total is None else str(normal_decimal(r.total)),
        }
        for r in conn.execute(query)
    ]


def history(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """SPEC §8 `history --json`: the ledger entries of one order, oldest first."""
    return [
        {
            "at": iso(r.at),
            "order": r.order_id,
            "line": r.line_no,
            "sku": r.sku,
            "warehouse": r.warehouse,
            "delta": r.delta,
            "operation": r.operation,
            "rule": r.rule,
            "ruleset": r.ruleset,
            "actor": r.actor,
        }
        for r in conn.execute(
            select(ledger).where(ledger.c.order_id == order_id).order_by(ledger.c.id)
        )
    ]


def line_warehouses(conn: Connection, order: Order) -> list[dict[str, int]]:
    """Per line of `order`, its reserved line units per warehouse (SPEC §12): a kit line's
    are the whole kit units its component reservations make there."""
    held: dict[tuple[int, str, str], int] = {}
    for line_no, sku, wh, qty in conn.execute(
        select(
            reservations.c.line_no,
            reservations.c.sku,
            reservations.c.warehouse,
            func.sum(reservations.c.qty),
        )
        .where(reservations.c.order_id == order.id)
        .group_by(reservations.c.line_no, reservations.c.sku, reservations.c.warehouse)
    ):
        held[(line_no, sku, wh)] = int(qty)
    kits = load_kits(conn) if held else {}
    out: list[dict[str, int]] = []
    for n, line in enumerate(order.lines, start=1):
        parts = parts_of(line.sku, kits)
        places = sorted({wh for (no, _, wh) in held if no == n})
        per = {wh: min(held.get((n, sku, wh), 0) // qty for sku, qty in parts) for wh in places}
        out.append({wh: units for wh, units in per.items() if units})
    return out


def order_document(conn: Connection, order: Order) -> dict[str, Any]:
    """`orders show --json`: the order, each line with where its reserved units are."""
    return order_json(order, line_warehouses(conn, order))


def reservations_of(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    return [
        {
            "seq": r.seq,
            "line": r.line_no,
            "sku": r.sku,
            "warehouse": r.warehouse,
            "qty": r.qty,
            "covered": r.covered,
            "reserved_at": iso(r.reserved_at),
        }
        for r in conn.execute(
            select(reservations)
            .where(reservations.c.order_id == order_id)
            .order_by(reservations.c.seq)
        )
    ]
