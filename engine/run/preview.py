"""See before you leap: rule-file previews and their diffs, and `dibs explain`.

A preview is the real tick (engine.runner) run inside a transaction that is rolled back, so what
it predicts is what `dibs run --once` would do on the same data, by construction: there is no
second implementation of the rules to drift away from the first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from engine.run.runner import Runner, TickResult
from engine.service import Service, Tx
from engine.store import inventory, order_lines, orders
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
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        """Whether the tick changes this order: its status, its reserved units or its tags."""
        return (
            self.before != self.after
            or self.reserved_before != self.reserved_after
            or bool(self.tags_added or self.tags_removed)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "before": self.before,
            "after": self.after,
            "reserved_before": self.reserved_before,
            "reserved_after": self.reserved_after,
            "matched_rules": self.matched_rules,
            "actions": self.actions,
            "queue_position": self.queue_position,
            "deciding_rule": self.deciding_rule,
            "tags_added": self.tags_added,
            "tags_removed": self.tags_removed,
            "changes": self.changes,
        }


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
        return {
            "events": self.tick.events,
            "schedules": [r for r, _ in self.tick.schedules],
            "orders_matched": len(self.tick.plan.orders) if self.tick.plan else 0,
            "status_changes": len(changed),
            "unchanged": sum(1 for o in self.orders.values() if not o.changes),
            "after": dict(after),
            "units_reserved": sum(
                max(o.reserved_after - o.reserved_before, 0) for o in self.orders.values()
            ),
            "matches": self.tick.matches,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "ruleset": self.ruleset,
            "summary": self.summary(),
            "orders": [o.as_json() for o in self.orders.values()],
            "stock": self.stock,
        }


def _action_text(
    kind: str, policy: str | None, tag: str | None, warehouses: tuple[str, ...] | None = None
) -> str:
    if tag is not None:
        return f'{kind} "{tag}"'
    text = kind
    if kind == "allocate" and policy and policy != "lines":
        text = f"allocate ({policy})"
    return f"{text} from {', '.join(warehouses)}" if warehouses else text


def _state(conn: Connection) -> dict[str, tuple[str, int]]:
    """Allocation status and reserved units of every open order, in one aggregate query."""
    query = (
        select(orders.c.id, orders.c.allocation_status, func.sum(order_lines.c.reserved))
        .join(order_lines, order_lines.c.order_id == orders.c.id)
        .where(orders.c.status == "awaiting_fulfillment")
        .group_by(orders.c.id, orders.c.allocation_status)
    )
    return {oid: (status, int(units or 0)) for oid, status, units in conn.execute(query).fetchall()}


def _stock(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (r.sku, r.warehouse): (r.on_hand, r.allocated)
        for r in conn.execute(
            select(
                inventory.c.sku, inventory.c.warehouse, inventory.c.on_hand, inventory.c.allocated
            )
        )
    }


def preview(service: Service, ruleset: RuleSet, all_open: bool = False) -> Preview:
    """Run the next tick of `ruleset` on the live data and roll everything back."""
    runner = Runner(service, ruleset, service.clock, record=True)

    def work(tx: Tx) -> Preview:
        conn = tx.conn
        before_stock = _stock(conn)
        # Every open order: a deallocate or a cover change can touch orders no rule matched.
        before = _state(conn)
        tick = runner.tick_in(tx, all_open=all_open)
        plan = tick.plan
        assert plan is not None
        after = _state(conn)
        after_stock = _stock(conn)
        positions = {r.order_id: n for n, r in enumerate(plan.allocation_queue, start=1)}
        outcomes: dict[str, OrderOutcome] = {}
        for oid in sorted(set(after) | set(plan.orders)):
            order_plan = plan.orders.get(oid)
            status_before, units_before = before.get(oid, ("(new)", 0))
            status_after, units_after = after.get(oid, (status_before, units_before))
            if order_plan is None and (status_before, units_before) == (status_after, units_after):
                continue
            outcome = OrderOutcome(
                oid,
                status_before,
                status_after,
                units_before,
                units_after,
                queue_position=positions.get(oid),
            )
            if order_plan is not None:
                outcome.matched_rules = list(order_plan.matched_rules)
                outcome.actions = [
                    f"{rule}: {_action_text(a.kind, a.policy, a.tag, a.warehouses)}"
                    for rule, a in order_plan.actions
                ]
                if order_plan.allocation is not None:
                    outcome.deciding_rule = order_plan.allocation.rule
                outcome.tags_added = sorted(order_plan.tags_add)
                outcome.tags_removed = sorted(order_plan.tags_remove)
            outcomes[oid] = outcome
        stock = []
        for key in sorted(set(before_stock) | set(after_stock)):
            b, a = before_stock.get(key, (0, 0)), after_stock.get(key, (0, 0))
            if b != a:
                stock.append(
                    {
                        "sku": key[0],
                        "warehouse": key[1],
                        "available_before": b[0] - b[1],
                        "available_after": a[0] - a[1],
                    }
                )
        return Preview(ruleset.path, ruleset.hash, tick, outcomes, stock)

    return service.run(work, dry_run=True)


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
            row = {
                "id": oid,
                "after": new_after,
                "after_other": old_after,
                "reserved": new_units,
                "reserved_other": old_units,
                "rules": a.matched_rules if a else [],
                "rules_other": b.matched_rules if b else [],
            }
            differing.append(row)
            if new_units < old_units:
                victims.append(row)
    return {"file": new.file, "other": old.file, "differing": differing, "victims": victims}


__all__ = ["Preview", "diff", "preview"]
