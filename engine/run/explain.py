"""`dibs explain`: why an order has its status, who holds the stock it lacks, which stock change
took its cover, and which rule nearly matched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.model import AllocationStatus, Order
from engine.service import Service
from engine.service.shapes import iso
from engine.store import inventory, outbox, reservations
from rules.explain import verdict
from rules.ruleset import RuleSet


def explain(
    service: Service, order_id: str, ruleset: RuleSet | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Why `order_id` has its status: per line, the stock and who holds it; then the rules."""
    with service.store.read() as conn:
        order = service.get_order(order_id, conn)
        lines = [
            _explain_line(conn, order, n, line.sku, line.qty, line.reserved)
            for n, line in enumerate(order.lines, start=1)
        ]
    doc: dict[str, Any] = {
        "id": order.id,
        "status": order.status,
        "allocation_status": order.allocation_status,
        "lines": lines,
        "summary": _summary(order, lines),
    }
    if ruleset is not None:
        when = now or service.clock()
        verdicts = [verdict(rule, order, when) for rule in ruleset.active]
        first_match = next((v for v in verdicts if v.matches), None)
        doc["ruleset"] = ruleset.hash
        doc["rules"] = [
            {
                "rule": v.rule,
                "priority": v.priority,
                "trigger": v.trigger,
                "matches": v.matches,
                "reason": v.reason,
            }
            for v in verdicts
            if v.matches or first_match is None or v.priority >= first_match.priority
        ]
    return doc


def _summary(order: Order, lines: list[dict[str, Any]]) -> str:
    status = order.allocation_status
    if order.status != "awaiting_fulfillment":
        return f"the order is {order.status}; it holds no stock"
    short = [x for x in lines if x["shortfall"]]
    uncovered = [x for x in lines if x.get("uncovered")]
    if status == AllocationStatus.OVERALLOCATED:
        return (
            f"{len(uncovered)} line(s) hold reservations that stock no longer covers; "
            "run `dibs reallocate` once stock is back, or wait for it"
        )
    if status == AllocationStatus.UNALLOCATED:
        return "no allocation has been tried since the order was created or last changed"
    if short:
        skus = ", ".join(x["sku"] for x in short)
        return f"short of stock on {skus}"
    return "every line is reserved and covered"


def _explain_line(
    conn: Connection, order: Order, line_no: int, sku: str, qty: int, reserved: int
) -> dict[str, Any]:
    wh = order.warehouse
    row = conn.execute(
        select(inventory.c.on_hand, inventory.c.allocated).where(
            inventory.c.sku == sku, inventory.c.warehouse == wh
        )
    ).first()
    on_hand, allocated = (row.on_hand, row.allocated) if row else (0, 0)
    out: dict[str, Any] = {
        "line": line_no,
        "sku": sku,
        "warehouse": wh,
        "qty": qty,
        "reserved": reserved,
        "on_hand": on_hand,
        "available": on_hand - allocated,
        "shortfall": qty - reserved,
    }
    mine = conn.execute(
        select(reservations.c.seq, reservations.c.covered, reservations.c.reserved_at).where(
            reservations.c.order_id == order.id, reservations.c.line_no == line_no
        )
    ).all()
    uncovered = [r for r in mine if not r.covered]
    if qty > reserved or uncovered:
        out["held_by"] = _holders(conn, order.id, sku, wh)
    if uncovered:
        out["uncovered"] = sum(1 for _ in uncovered)
        since = min(r.reserved_at for r in uncovered)
        out["cover_taken_by"] = _stock_drops(conn, sku, wh, since)
    return out


def _holders(conn: Connection, order_id: str, sku: str, wh: str) -> list[dict[str, Any]]:
    """Reservations on (sku, wh) in coverage order: the first 50, and this order's own
    (`this_order`), so an overallocated order sees where it stands in the queue."""
    columns = (
        reservations.c.seq,
        reservations.c.order_id,
        reservations.c.qty,
        reservations.c.reserved_at,
        reservations.c.covered,
    )
    on_stock = select(*columns).where(reservations.c.sku == sku, reservations.c.warehouse == wh)
    rows = {r.seq: r for r in conn.execute(on_stock.order_by(reservations.c.seq).limit(50))}
    own = conn.execute(on_stock.where(reservations.c.order_id == order_id)).all()
    rows.update((r.seq, r) for r in own)
    return [
        {
            "order": h.order_id,
            "this_order": h.order_id == order_id,
            "qty": h.qty,
            "reserved_at": iso(h.reserved_at),
            "covered": bool(h.covered),
        }
        for _, h in sorted(rows.items())
    ]


def _stock_drops(
    conn: Connection, sku: str, warehouse: str, since: datetime
) -> list[dict[str, Any]]:
    """Stock changes on (sku, warehouse) after `since` that lowered on hand: adjustments, sets
    and shipments of other orders, oldest first."""
    found: list[dict[str, Any]] = []
    for at, p in outbox.stock_events_since(conn, since):
        if p.get("sku") == sku and p.get("warehouse") == warehouse and p.get("delta", 0) < 0:
            found.append(
                {"at": iso(at), "change": f"inventory {p.get('kind')}", "delta": p["delta"]}
            )
    for at, oid, qty in outbox.shipments_since(conn, sku, warehouse, since):
        found.append({"at": iso(at), "change": f"order {oid} shipped", "delta": -qty})
    found.sort(key=lambda x: x["at"] or "")
    return found


__all__ = ["explain"]
