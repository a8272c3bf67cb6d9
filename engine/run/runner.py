"""One rule tick: pending events and due schedules -> rule matches -> one priority queue -> service.

The same `Runner.tick` serves `dibs run`, `dibs run --once`, `dibs rules test` and the dry runs
of `dibs rules preview`. A tick is one database transaction: the effects of the rules and the
"processed" marks of the events it consumed commit together, so an event is applied exactly once
even if the process dies mid-tick (it is then simply pending again).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection

from engine.errors import OperationFailed
from engine.memory import collector_paused
from engine.model import Actor, EventType, Kits, Order, OrderStatus, Policy
from engine.run.deliveries import RETRY_FOR, queue_rows
from engine.run.scheduler import due_slot, wait_until_next
from engine.service import Service
from engine.service import orders as order_ops
from engine.service.allocation import allocate_queue
from engine.service.records import AllocationReport, QueueEntry
from engine.service.release import order_stock_keys, release_orders
from engine.service.tx import Tx
from engine.store import delivery_queue, order_lines, orders, outbox
from engine.store.kit_rows import load_kits
from engine.store.rows import load_orders
from engine.store.sqlfilter import prefilter_clause
from rules.ruleset import CompiledRule, RuleSet
from rules.tick import TickPlan, plan_tick


@dataclass
class TickResult:
    """What one tick saw and did."""

    started: datetime
    ruleset: str
    events: int = 0
    schedules: list[tuple[str, datetime]] = field(default_factory=list)
    plan: TickPlan | None = None
    report: AllocationReport = field(default_factory=AllocationReport)
    deallocated: list[str] = field(default_factory=list)
    splits: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)
    queued: int = 0  # webhook deliveries queued for the notify endpoints
    seconds: float = 0.0

    @property
    def matches(self) -> dict[str, int]:
        """Rule name -> how many orders it applied to."""
        tally: Counter[str] = Counter()
        if self.plan:
            for plan in self.plan.orders.values():
                tally.update(plan.matched_rules)
        return dict(tally)

    @property
    def did_something(self) -> bool:
        return bool(self.events or self.schedules or (self.plan and self.plan.orders))

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.started.isoformat(),
            "ruleset": self.ruleset,
            "events": self.events,
            "schedules": [{"rule": r, "slot": s.isoformat()} for r, s in self.schedules],
            "matches": self.matches,
            "allocation": self.report.counts(),
            "reserved_units": self.report.reserved_units,
            "deallocated": len(self.deallocated),
            "splits": [{"from": a, "into": b} for a, b in self.splits],
            "problems": self.problems,
            "deliveries_queued": self.queued,
            "seconds": round(self.seconds, 4),
        }

    def summary(self) -> str:
        counts = self.report.counts()
        parts = [f"{self.events} events"]
        if self.schedules:
            parts.append("schedules " + ", ".join(r for r, _ in self.schedules))
        if self.matches:
            parts.append("matches " + " ".join(f"{r}={n}" for r, n in self.matches.items()))
        if counts:
            parts.append(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
        if self.deallocated:
            parts.append(f"{len(self.deallocated)} deallocated")
        if self.splits:
            parts.append(f"{len(self.splits)} split")
        if self.queued:
            parts.append(f"{self.queued} deliveries queued")
        parts.extend(self.problems)
        return f"tick [{self.ruleset}]: " + "; ".join(parts) + f" ({self.seconds:.3f} s)"


#: Events whose rules are offered the awaiting orders with a line on the event's stock.
_STOCK_EVENTS = frozenset({EventType.INVENTORY_CHANGED, EventType.STOCK_RELEASED})
_STATUS_CHANGED = EventType.ALLOCATION_CHANGED


class Runner:
    """Runs ticks of one rule set against one store."""

    def __init__(
        self, service: Service, ruleset: RuleSet, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.service = service
        self.store = service.store
        self.ruleset = ruleset
        # Default to the service's clock: `dibs run` builds Runner(service, ruleset), and with
        # DIBS_CLOCK_FILE the schedules must follow the same clock as the ledger and events.
        self.clock = clock or service.clock
        self.actor_name = "rules"

    # ------------------------------------------------------------------------------ the tick

    def tick(self, dry_run: bool = False, all_open: bool = False) -> TickResult:
        """Run one tick; with `dry_run` everything is rolled back at the end.

        `all_open` offers every open unallocated order to the `new order` rules, as if each had
        just arrived (used by previews).
        """

        return self.service.run(lambda tx: self.tick_in(tx, all_open=all_open), dry_run=dry_run)

    def tick_in(self, tx: Tx, all_open: bool = False) -> TickResult:
        """The tick inside the caller's transaction."""
        with collector_paused():  # a big tick builds many objects and no cycles
            return self._tick(tx, all_open)

    def _tick(self, tx: Tx, all_open: bool) -> TickResult:
        started = time.perf_counter()
        conn = tx.conn
        now = self.clock()
        result = TickResult(started=now, ruleset=self.ruleset.hash)
        claimed = outbox.claim_pending(conn)
        result.events = len(claimed)
        fired_ids: list[tuple[CompiledRule, list[str]]] = []
        fired_ids.extend(self._event_matches(conn, claimed, all_open))
        for rule in self.ruleset.scheduled_rules():
            slot = self._claim_slot(conn, rule, now)
            if slot is not None:
                result.schedules.append((rule.name, slot))
                fired_ids.append((rule, self._open_order_ids(conn, self._prefilter(rule, now))))
        wanted = sorted({oid for _, ids in fired_ids for oid in ids})
        # A closed order is never offered to a rule: an `order.created` still pending when the
        # order was shipped or cancelled is consumed without effect.
        loaded = {
            oid: order
            for oid, order in load_orders(conn, wanted).items()
            if order.status == OrderStatus.AWAITING_FULFILLMENT
        }
        fired: list[tuple[CompiledRule, list[Order]]] = [
            (rule, [loaded[i] for i in ids if i in loaded]) for rule, ids in fired_ids
        ]
        plan = plan_tick(fired, now)
        result.plan = plan
        result.before = {oid: loaded[oid].allocation_status for oid in plan.orders}
        self._apply(tx, plan, result)
        # The webhooks' queue (SPEC §13) is filled by the outbox's consumer, in its transaction:
        # an event is queued for its endpoints exactly when it is marked processed.
        rows = queue_rows(claimed, self.ruleset.notify)
        result.queued = delivery_queue.enqueue(conn, rows, now, now + RETRY_FOR)
        outbox.mark_processed(conn, [e[0] for e in claimed], now)
        result.seconds = time.perf_counter() - started
        return result

    def _actor(self, rule: str | None) -> Actor:
        return Actor(self.actor_name, rule, self.ruleset.hash)

    def _apply(self, tx: Tx, plan: TickPlan, result: TickResult) -> None:
        """Tags, then deallocations, then the allocation queue, then splits (rules/tick.py).

        The stock of every order the plan touches is locked first, in one sorted pass: the
        operations below then follow the lock order of `engine.store.database` although they
        share one transaction.
        """
        keys = order_stock_keys(tx, sorted(plan.orders))
        elsewhere = {w for r in plan.allocation_queue for w in (r.warehouses or ())}
        tx.lock_stock(keys | {(sku, w) for sku, _ in keys for w in elsewhere})
        if plan.tag_changes:
            order_ops.retag(tx, plan.tag_changes)
        for rule, ids in _by_rule(plan, plan.deallocations, "deallocate").items():
            release_orders(tx, ids, "deallocate", self._actor(rule))
            result.deallocated.extend(ids)
        for rule, ids in _group(
            [(r.rule, r.order_id) for r in plan.allocation_queue if r.reallocate]
        ).items():
            release_orders(tx, ids, "reallocate", self._actor(rule))
        entries = [
            QueueEntry(r.order_id, Policy(r.policy), self._actor(r.rule), r.warehouses)
            for r in plan.allocation_queue
        ]
        allocate_queue(tx, entries, result.report)
        for rule, ids in _by_rule(plan, plan.splits, "split").items():
            for oid in ids:
                try:
                    kept, child = order_ops.split(tx, oid, self._actor(rule))
                except OperationFailed as exc:
                    result.problems.append(f"split {oid}: {exc}")
                else:
                    result.splits.append((kept.id, child.id))

    # ------------------------------------------------------------------------------- inputs

    def _event_matches(
        self,
        conn: Connection,
        claimed: Sequence[outbox.Pending],
        all_open: bool,
    ) -> list[tuple[CompiledRule, list[str]]]:
        offered: dict[str, list[str]] = defaultdict(list)
        rules_by_name: dict[str, CompiledRule] = {}
        kits: Kits | None = None  # read once per tick, when an inventory event needs it
        # One query per (sku, warehouse), and its orders offered once per rule: a big cancel
        # writes many stock events on the same few keys.
        on_stock: dict[tuple[str, str], list[str]] = {}
        offered_stock: set[tuple[str, tuple[str, str]]] = set()
        for _, kind, order_id, payload in claimed:
            detail = payload.get("after" if kind == _STATUS_CHANGED else "kind")
            rules = self.ruleset.rules_for_event(kind, detail)
            if not rules:
                continue
            if kind in _STOCK_EVENTS:
                key = (payload["sku"], payload["warehouse"])
                if key not in on_stock:
                    if kits is None:
                        kits = load_kits(conn)
                    on_stock[key] = self._orders_on(conn, *key, kits)
                ids = on_stock[key]
                fresh = [r for r in rules if (r.name, key) not in offered_stock]
                offered_stock.update((r.name, key) for r in fresh)
                rules = tuple(fresh)
            else:
                ids = [order_id] if order_id else []
            for rule in rules:
                rules_by_name[rule.name] = rule
                offered[rule.name].extend(ids)
        if all_open:
            open_ids = self._open_order_ids(conn, unallocated_only=True)
            for rule in self.ruleset.rules_for_event("order.created"):
                rules_by_name[rule.name] = rule
                offered[rule.name].extend(open_ids)
        return [(rules_by_name[name], list(dict.fromkeys(ids))) for name, ids in offered.items()]

    def _orders_on(self, conn: Connection, sku: str, warehouse: str, all_kits: Kits) -> list[str]:
        """Awaiting orders of `warehouse` with a line on `sku`, or on a kit made of it."""
        kits = [kit for kit, parts in all_kits.items() if sku in dict(parts)]
        query = (
            select(orders.c.id)
            .distinct()
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .where(
                order_lines.c.sku.in_([sku, *kits]),
                orders.c.warehouse == warehouse,
                orders.c.status == OrderStatus.AWAITING_FULFILLMENT,
            )
        )
        return list(conn.execute(query).scalars())

    def _open_order_ids(
        self,
        conn: Connection,
        where: ColumnElement[bool] | None = None,
        unallocated_only: bool = False,
    ) -> list[str]:
        query = select(orders.c.id).where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
        if where is not None:
            query = query.where(where)
        if unallocated_only:
            query = query.where(orders.c.allocation_status == "unallocated")
        return list(conn.execute(query.order_by(orders.c.id)).scalars())

    def _prefilter(self, rule: CompiledRule, now: datetime) -> ColumnElement[bool] | None:
        """The rule's condition as SQL, so a schedule loads only the orders it can match.

        The compiled predicate still decides (rules.tick), so this may only ever narrow to a
        superset of the matches. PostgreSQL's regex dialect differs from Python's, so a
        condition using `matches` is not pushed down there.
        """
        if rule.condition is None:
            return None
        return prefilter_clause(rule.condition, now, self.store.dialect)

    def _claim_slot(self, conn: Connection, rule: CompiledRule, now: datetime) -> datetime | None:
        """Record this rule's due slot; None when it is not due or another worker has it."""
        last = outbox.last_slot(conn, rule.name)
        slot = due_slot(rule.trigger, self.ruleset.timezone, last, now)
        if slot is None:
            return None
        return slot if outbox.claim_slot(conn, rule.name, slot, self.ruleset.hash, now) else None

    def next_schedule(self, now: datetime) -> datetime | None:
        """The earliest next fire time of any scheduled rule (for the run loop's sleep)."""
        times = [
            wait_until_next(r.trigger, self.ruleset.timezone, now)
            for r in self.ruleset.scheduled_rules()
        ]
        return min((t for t in times if t is not None), default=None)


def _by_rule(plan: TickPlan, ids: Iterable[str], kind: str) -> dict[str, list[str]]:
    """Group order ids by the rule whose `kind` action applied to them (the last such rule)."""
    pairs = []
    for oid in ids:
        rule = [name for name, action in plan.orders[oid].actions if action.kind == kind][-1]
        pairs.append((rule, oid))
    return _group(pairs)


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        out[key].append(value)
    return dict(out)
