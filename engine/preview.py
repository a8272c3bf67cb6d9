"""See before you leap: rule-file previews and their diffs, and `dibs explain`.

A preview is the real tick (engine.runner) run inside a transaction that is rolled back, so what
it predicts is what `dibs run --once` would do on the same data, by construction: there is no
second implementation of the rules to drift away from the first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from engine.model import AllocationStatus, Order
from engine.records import iso
from engine.runner import Runner, TickResult
from engine.service import Service
from engine.store import events, inventory, order_lines, orders, reservations
from rules.explain import verdict
from rules.ruleset import RuleSet


@dataclass
class OrderOutcome:
    id: str
    before: str
    after: str
    reserved_before: int
    reserved_after: int
    matched_rules: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    queue_position: int | None = None
    deciding_rule: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "before": self.before, "after": self.after,
                "reserved_before": self.reserved_before, "reserved_after": self.reserved_after,
                "matched_rules": self.matched_rules, "actions": self.actions,
                "queue_position": self.queue_position, "deciding_rule": self.deciding_rule}


@dataclass
class Preview:
    """What one rule file's next tick would do, computed on the live data and rolled back."""

    file: str
    ruleset: str
    tick: TickResult
    orders: dict[str, OrderOutcome]
    stock: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        changed = [o for o in self.orders.values() if o.before != o.after]
        after: dict[str, int] = defaultdict(int)
        for o in changed:
            after[o.after] += 1
        return {"events": self.tick.events,
                "schedules": [r for r, _ in self.tick.schedules],
                "orders_matched": len(self.tick.plan.orders) if self.tick.plan else 0,
                "status_changes": len(changed), "after": dict(after),
                "units_reserved": sum(max(o.reserved_after - o.reserved_before, 0)
                                      for o in self.orders.values()),
                "matches": self.tick.matches}

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "ruleset": self.ruleset, "summary": self.summary(),
                "orders": [o.as_json() for o in self.orders.values()], "stock": self.stock}


def _action_text(kind: str, policy: str | None, tag: str | None) -> str:
    if tag is not None:
        return f'{kind} "{tag}"'
    if kind == "allocate" and policy and policy != "lines":
        return f"allocate ({policy})"
    return kind


def _state(conn: Connection) -> dict[str, tuple[str, int]]:
    """Allocation status and reserved units of every open order, in one aggregate query."""
    query = (select(orders.c.id, orders.c.allocation_status, func.sum(order_lines.c.reserved))
             .join(order_lines, order_lines.c.order_id == orders.c.id)
             .where(orders.c.status == "awaiting_fulfillment")
             .group_by(orders.c.id, orders.c.allocation_status))
    return {oid: (status, int(units or 0)) for oid, status, units in conn.execute(query).fetchall()}


def _stock(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r.sku, r.warehouse): (r.on_hand, r.allocated) for r in conn.execute(
        select(inventory.c.sku, inventory.c.warehouse, inventory.c.on_hand,
               inventory.c.allocated))}


def preview(service: Service, ruleset: RuleSet, all_open: bool = False) -> Preview:
    """Run the next tick of `ruleset` on the live data and roll everything back."""
    runner = Runner(service, ruleset, service.clock)

    def work(conn: Connection) -> Preview:
        before_stock = _stock(conn)
        # Every open order: a deallocate or a cover change can touch orders no rule matched.
        before = _state(conn)
        tick = runner.tick_in(conn, all_open=all_open)
        plan = tick.plan
        assert plan is not None
        after = _state(conn)
        after_stock = _stock(conn)
        conn.rollback()
        positions = {r.order_id: n for n, r in enumerate(plan.allocation_queue, start=1)}
        outcomes: dict[str, OrderOutcome] = {}
        for oid in sorted(set(after) | set(plan.orders)):
            order_plan = plan.orders.get(oid)
            status_before, units_before = before.get(oid, ("(new)", 0))
            status_after, units_after = after.get(oid, (status_before, units_before))
            if order_plan is None and (status_before, units_before) == (status_after,
                                                                         units_after):
                continue
            outcome = OrderOutcome(oid, status_before, status_after, units_before, units_after,
                                   queue_position=positions.get(oid))
            if order_plan is not None:
                outcome.matched_rules = list(order_plan.matched_rules)
                outcome.actions = [f"{rule}: {_action_text(a.kind, a.policy, a.tag)}"
                                   for rule, a in order_plan.actions]
                if order_plan.allocation is not None:
                    outcome.deciding_rule = order_plan.allocation.rule
            outcomes[oid] = outcome
        stock = []
        for key in sorted(set(before_stock) | set(after_stock)):
            b, a = before_stock.get(key, (0, 0)), after_stock.get(key, (0, 0))
            if b != a:
                stock.append({"sku": key[0], "warehouse": key[1],
                              "available_before": b[0] - b[1], "available_after": a[0] - a[1]})
        return Preview(ruleset.path, ruleset.hash, tick, outcomes, stock)

    return service.store.transaction(work)


def diff(new: Preview, old: Preview) -> dict[str, Any]:
    """Orders whose outcome differs between two previews, and the victims of the new file:
    orders that would hold fewer reserved units under `new` than under `old`."""
    differing, victims = [], []
    for oid in sorted(set(new.orders) | set(old.orders)):
        a, b = new.orders.get(oid), old.orders.get(oid)
        new_after = a.after if a else (b.before if b else "")
        old_after = b.after if b else (a.before if a else "")
        new_units = a.reserved_after if a else (b.reserved_before if b else 0)
        old_units = b.reserved_after if b else (a.reserved_before if a else 0)
        if new_after != old_after or new_units != old_units:
            row = {"id": oid, "after": new_after, "after_other": old_after,
                   "reserved": new_units, "reserved_other": old_units,
                   "rules": a.matched_rules if a else [],
                   "rules_other": b.matched_rules if b else []}
            differing.append(row)
            if new_units < old_units:
                victims.append(row)
    return {"file": new.file, "other": old.file, "differing": differing, "victims": victims}


# ------------------------------------------------------------------------------------ explain


def explain(service: Service, order_id: str, ruleset: RuleSet | None = None,
            now: datetime | None = None) -> dict[str, Any]:
    """Why `order_id` has its status: per line, the stock and who holds it; then the rules."""
    with service.store.read() as conn:
        order = service.get_order(order_id, conn)
        lines = [_explain_line(conn, order, n, line.sku, line.qty, line.reserved)
                 for n, line in enumerate(order.lines, start=1)]
    doc: dict[str, Any] = {"id": order.id, "status": order.status,
                           "allocation_status": order.allocation_status, "lines": lines,
                           "summary": _summary(order, lines)}
    if ruleset is not None:
        when = now or service.clock()
        verdicts = [verdict(rule, order, when) for rule in ruleset.active]
        first_match = next((v for v in verdicts if v.matches), None)
        doc["ruleset"] = ruleset.hash
        doc["rules"] = [
            {"rule": v.rule, "priority": v.priority, "trigger": v.trigger, "matches": v.matches,
             "reason": v.reason}
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
        return (f"{len(uncovered)} line(s) hold reservations that stock no longer covers; "
                "run `dibs reallocate` once stock is back, or wait for it")
    if status == AllocationStatus.UNALLOCATED:
        return "no allocation has been tried since the order was created or last changed"
    if short:
        skus = ", ".join(x["sku"] for x in short)
        return f"short of stock on {skus}"
    return "every line is reserved and covered"


def _explain_line(conn: Connection, order: Order, line_no: int, sku: str, qty: int,
                  reserved: int) -> dict[str, Any]:
    wh = order.warehouse
    row = conn.execute(select(inventory.c.on_hand, inventory.c.allocated).where(
        inventory.c.sku == sku, inventory.c.warehouse == wh)).first()
    on_hand, allocated = (row.on_hand, row.allocated) if row else (0, 0)
    out: dict[str, Any] = {"line": line_no, "sku": sku, "warehouse": wh, "qty": qty,
                           "reserved": reserved, "on_hand": on_hand,
                           "available": on_hand - allocated, "shortfall": qty - reserved}
    mine = conn.execute(select(reservations.c.seq, reservations.c.covered,
                               reservations.c.reserved_at)
                        .where(reservations.c.order_id == order.id,
                               reservations.c.line_no == line_no)).all()
    uncovered = [r for r in mine if not r.covered]
    if qty > reserved or uncovered:
        holders = conn.execute(
            select(reservations.c.order_id, reservations.c.qty, reservations.c.reserved_at,
                   reservations.c.covered)
            .where(reservations.c.sku == sku, reservations.c.warehouse == wh,
                   reservations.c.order_id != order.id)
            .order_by(reservations.c.seq).limit(50)).all()
        out["held_by"] = [{"order": h.order_id, "qty": h.qty, "reserved_at": iso(h.reserved_at),
                           "covered": h.covered} for h in holders]
    if uncovered:
        out["uncovered"] = sum(1 for _ in uncovered)
        since = min(r.reserved_at for r in uncovered)
        out["cover_taken_by"] = _stock_drops(conn, sku, wh, since)
    return out


def _stock_drops(conn: Connection, sku: str, warehouse: str, since: datetime
                 ) -> list[dict[str, Any]]:
    """Stock changes on (sku, warehouse) after `since` that lowered on hand: adjustments, sets
    and shipments of other orders, oldest first."""
    found: list[dict[str, Any]] = []
    for e in conn.execute(select(events).where(events.c.type == "inventory.changed",
                                               events.c.at >= since).order_by(events.c.id)):
        p = e.payload or {}
        if p.get("sku") == sku and p.get("warehouse") == warehouse and p.get("delta", 0) < 0:
            found.append({"at": iso(e.at), "change": f"inventory {p.get('kind')}",
                          "delta": p["delta"]})
    shipped = conn.execute(
        select(events.c.at, events.c.order_id, order_lines.c.qty)
        .join(order_lines, order_lines.c.order_id == events.c.order_id)
        .join(orders, orders.c.id == events.c.order_id)
        .where(and_(events.c.type == "order.shipped", events.c.at >= since,
                    order_lines.c.sku == sku, orders.c.warehouse == warehouse))
        .order_by(events.c.id)).all()
    for at, oid, qty in shipped:
        found.append({"at": iso(at), "change": f"order {oid} shipped", "delta": -qty})
    found.sort(key=lambda x: x["at"] or "")
    return found


__all__ = ["Preview", "diff", "explain", "preview"]
