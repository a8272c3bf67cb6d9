"""`dibs explain`: why an order has its status, who holds the stock it lacks, which stock change
took its cover, and which rule nearly matched."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.errors import plural
from engine.model import AllocationStatus, Kits, Order, OrderStatus, kit_units, parts_of
from engine.service import Service
from engine.service.allocation import check_warehouses
from engine.service.read import line_warehouses
from engine.service.shapes import iso
from engine.store import outbox, reservations
from engine.store.kit_rows import load_kits
from engine.store.rows import load_stock
from rules.explain import verdict
from rules.ruleset import RuleSet


def explain(
    service: Service,
    order_id: str,
    ruleset: RuleSet | None = None,
    now: datetime | None = None,
    warehouses: Sequence[str] | None = None,
    label: str = "--from",
) -> dict[str, Any]:
    """Why `order_id` has its status: per line, the stock and who holds it; per warehouse it
    could reserve in, what it lacks there (SPEC §12); then the rules.

    The warehouses are `warehouses` (an allocation's `--from`), else the `from` list of the
    first matching rule that allocates, else the order's own warehouse; `label` names them
    in an error (the API's query parameter is `from`).
    """
    when = now or service.clock()
    with service.store.read() as conn:
        order = service.get_order(order_id, conn)
        # Checked and trimmed as `allocate --from` checks them: a typo is refused, not explained.
        warehouses = check_warehouses(service.tx(conn), warehouses, label)
        verdicts = [verdict(rule, order, when) for rule in ruleset.active] if ruleset else []
        kits = load_kits(conn)
        tried = list(warehouses or _rule_warehouses(ruleset, verdicts) or [order.warehouse])
        lines = [
            _explain_line(conn, order, n, line.sku, line.qty, line.reserved, kits, tried[0])
            for n, line in enumerate(order.lines, start=1)
        ]
        per_warehouse = _warehouses_tried(conn, order, kits, tried)
        for line, where in zip(lines, line_warehouses(conn, order), strict=True):
            line["reserved_in"] = where
    doc: dict[str, Any] = {
        "id": order.id,
        "status": order.status,
        "allocation_status": order.allocation_status,
        "lines": lines,
        "warehouses": per_warehouse,
        "summary": _summary(order, lines, per_warehouse),
    }
    if ruleset is not None:
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


def _rule_warehouses(ruleset: RuleSet | None, verdicts: Sequence[Any]) -> tuple[str, ...] | None:
    """The `from` list of the first matching rule that allocates (it decides, SPEC §7)."""
    if ruleset is None:
        return None
    matching = {v.rule for v in verdicts if v.matches}
    for rule in ruleset.active:
        if rule.name in matching:
            for action in rule.actions:
                if action.allocates:
                    return action.warehouses
    return None


def _warehouses_tried(
    conn: Connection, order: Order, kits: Kits, tried: Sequence[str]
) -> list[dict[str, Any]]:
    """Per warehouse, in order of preference: whether it could give every missing unit now,
    and what it lacks (per SKU of stock: a kit line's needs are its components')."""
    need: dict[str, int] = {}
    for line in order.lines:
        for sku, qty in parts_of(line.sku, kits) if _wanted(order, line.missing) else ():
            need[sku] = need.get(sku, 0) + line.missing * qty
    if not need:
        return []
    stock = load_stock(conn, [(sku, wh) for sku in need for wh in tried])
    out = []
    for wh in tried:
        lacks = []
        for sku, units in sorted(need.items()):
            on_hand, allocated = stock.get((sku, wh), (0, 0))
            if on_hand - allocated < units:
                lacks.append({"sku": sku, "need": units, "available": on_hand - allocated})
        out.append({"warehouse": wh, "complete": not lacks, "lacks": lacks})
    return out


def _wanted(order: Order, missing: int) -> int:
    """The units a line still wants: none once the order is closed (shipped, cancelled,
    dropshipped), whatever its lines say they hold."""
    return missing if order.status == OrderStatus.AWAITING_FULFILLMENT and missing > 0 else 0


def _summary(order: Order, lines: list[dict[str, Any]], tried: list[dict[str, Any]]) -> str:
    status = order.allocation_status
    if order.status != "awaiting_fulfillment":
        return f"the order is {order.status}; it holds no stock"
    short = [x for x in lines if x["shortfall"]]
    uncovered = [x for x in lines if x.get("uncovered")]
    if status == AllocationStatus.OVERALLOCATED:
        verb = "holds" if len(uncovered) == 1 else "hold"
        return (
            f"{plural(len(uncovered), 'line')} {verb} reservations that stock no longer covers; "
            "run `dibs reallocate` once stock is back, or wait for it"
        )
    if status == AllocationStatus.UNALLOCATED:
        return "no allocation has been tried since the order was created or last changed"
    if short:
        skus = ", ".join(
            x["sku"]
            + (
                f" (short component {', '.join(x['short_components'])})"
                if x.get("short_components")
                else ""
            )
            for x in short
        )
        where = ", ".join(
            f"{w['warehouse']} (lacks "
            + ", ".join(f"{x['need'] - max(x['available'], 0)} {x['sku']}" for x in w["lacks"])
            + ")"
            for w in tried
            if w["lacks"]
        )
        return f"short of stock on {skus}" + (f"; tried {where}" if where else "")
    return "every line is reserved and covered"


def _explain_line(
    conn: Connection,
    order: Order,
    line_no: int,
    sku: str,
    qty: int,
    reserved: int,
    kits: Kits,
    wh: str,
) -> dict[str, Any]:
    """One line in warehouse `wh` (the first it may reserve in); a kit line shows its
    components, which of them is short, and who holds that one. A closed order's lines lack
    nothing: it wants no stock."""
    missing = _wanted(order, qty - reserved)
    out: dict[str, Any] = {
        "line": line_no,
        "sku": sku,
        "warehouse": wh,
        "qty": qty,
        "reserved": reserved,
        "shortfall": missing,
    }
    if sku in kits:
        out.update(_kit_line(conn, kits[sku], wh, missing))
        short = out["short_components"]
        sku = out["holder_sku"] = short[0] if short else kits[sku][0][0]
    else:
        stock = load_stock(conn, [(sku, wh)]).get((sku, wh), (0, 0))
        out.update(on_hand=stock[0], available=stock[0] - stock[1])
    mine = conn.execute(
        select(reservations)
        .where(reservations.c.order_id == order.id, reservations.c.line_no == line_no)
        .order_by(reservations.c.seq)
    ).all()
    if mine:
        out["reservations"] = [
            {"sku": r.sku, "warehouse": r.warehouse, "qty": r.qty, "covered": r.covered}
            for r in mine
        ]
    uncovered = [r for r in mine if not r.covered]
    if missing or uncovered:
        out["held_by"] = _holders(conn, order.id, sku, wh)
    if uncovered:
        out["uncovered"] = _uncovered_units(uncovered, kits.get(out["sku"]))
        since = min(r.reserved_at for r in uncovered)
        out["cover_taken_by"] = [
            drop
            for key in sorted({(r.sku, r.warehouse) for r in uncovered})
            for drop in _stock_drops(conn, *key, since)
        ]
    return out


def _uncovered_units(uncovered: Sequence[Any], parts: Sequence[tuple[str, int]] | None) -> int:
    """Units of a line that stock does not cover: a kit line's whole kit units (per warehouse,
    the most any one component's uncovered reservations make), a plain line's units."""
    if not parts:
        return sum(r.qty for r in uncovered)
    per_kit = dict(parts)
    held: dict[tuple[str, str], int] = {}
    for r in uncovered:
        held[r.warehouse, r.sku] = held.get((r.warehouse, r.sku), 0) + r.qty
    lost: dict[str, int] = {}
    for (wh, sku), qty in held.items():
        lost[wh] = max(lost.get(wh, 0), -(-qty // per_kit.get(sku, 1)))
    return sum(lost.values())


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


def _kit_line(
    conn: Connection, parts: Sequence[tuple[str, int]], wh: str, missing: int
) -> dict[str, Any]:
    stock = load_stock(conn, [(sku, wh) for sku, _ in parts])
    available = {sku: on - alloc for (sku, _), (on, alloc) in stock.items()}
    components: list[dict[str, Any]] = [
        {
            "sku": sku,
            "per_kit": per,
            "need": missing * per,
            "available": available.get(sku, 0),
        }
        for sku, per in parts
    ]
    return {
        "kit": True,
        "on_hand": None,
        "available": kit_units(parts, available),
        "components": components,
        "short_components": [c["sku"] for c in components if c["available"] < c["need"]],
    }


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
    return [{**x, "sku": sku, "warehouse": warehouse} for x in found]


__all__ = ["explain"]
