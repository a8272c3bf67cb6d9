"""One rule tick: pending events and due schedules -> rule matches -> one priority queue -> service.

The same `Runner.tick` serves `dibs run`, `dibs run --once`, `dibs rules test` and the dry runs
of `dibs rules preview`. A tick is one database transaction: the effects of the rules and the
"processed" marks of the events it consumed commit together, so an event is applied exactly once
even if the process dies mid-tick (it is then simply pending again).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.engine import Connection

from engine.model import Actor, OrderStatus, Policy
from engine.run import stream
from engine.run.deliveries import RETRY_FOR, queue_rows
from engine.run.offers import READ_PAYLOAD, Offering
from engine.run.scheduler import due_slot, wait_until_next
from engine.service import Service, splits
from engine.service import orders as order_ops
from engine.service.allocation import allocate_queue
from engine.service.batch import allocate_selected
from engine.service.batch_indexes import indexes_deferred
from engine.service.records import AllocationReport, QueueEntry
from engine.service.release import release_orders
from engine.service.tick_tables import TickTables
from engine.service.tx import Tx
from engine.store import delivery_queue, orders, outbox
from engine.store.bulk import Bulk
from engine.store.sqlfilter import prefilter_clause
from rules.ruleset import CompiledRule, RuleSet, order_rules
from rules.tick import AllocationRequest, TickPlan

#: Problems a tick's one-line summary spells out; the rest are counted.
SHOWN_PROBLEMS = 5


@dataclass
class TickReport(AllocationReport):
    """A tick's allocation report, summed over its allocation calls: the counts always, each
    order's result only when the runner records (a tick over 1M orders would hold 1M rows)."""

    tally: Counter[str] = field(default_factory=Counter)

    def absorb(self, part: AllocationReport, keep: bool) -> None:
        self.tally.update(row["after"] for row in part.results)
        self.reserved_units += part.reserved_units
        self.skipped.extend(part.skipped)
        if keep:
            self.results.extend(part.results)

    def counts(self) -> dict[str, int]:
        return dict(self.tally)


@dataclass
class TickResult:
    """What one tick saw and did."""

    started: datetime
    ruleset: str
    events: int = 0
    schedules: list[tuple[str, datetime]] = field(default_factory=list)
    plan: TickPlan | None = None
    report: TickReport = field(default_factory=TickReport)
    deallocated: list[str] = field(default_factory=list)
    splits: list[tuple[str, str]] = field(default_factory=list)
    #: Orders a `split` rule matched that have nothing to split (nothing reserved, or nothing
    #: missing): an outcome, as `could_not_allocate` is, not a problem.
    not_split: int = 0
    #: What the tick failed to do (a split that could not be made).
    problems: list[str] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)
    queued: int = 0  # webhook deliveries queued for the notify endpoints
    seconds: float = 0.0
    matches: dict[str, int] = field(default_factory=dict)  # rule name -> orders it applied to

    @property
    def did_something(self) -> bool:
        return bool(self.events or self.schedules or self.matches)

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
            "not_split": self.not_split,
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
        if self.not_split:
            parts.append(f"{self.not_split} not split")
        if self.queued:
            parts.append(f"{self.queued} deliveries queued")
        # One log line: the first problems, and how many more (the tick's JSON has them all).
        parts.extend(self.problems[:SHOWN_PROBLEMS])
        if len(self.problems) > SHOWN_PROBLEMS:
            parts.append(f"and {len(self.problems) - SHOWN_PROBLEMS} more problems")
        return f"tick [{self.ruleset}]: " + "; ".join(parts) + f" ({self.seconds:.3f} s)"


class Runner:
    """Runs ticks of one rule set against one store.

    With `record`, the tick's result holds every matched order's plan, its status before and
    its allocation result (previews, rule tests, the demo); without, only counts, so the
    memory of a tick does not grow with its orders (`dibs run`, `dibs serve`).
    """

    def __init__(
        self,
        service: Service,
        ruleset: RuleSet,
        clock: Callable[[], datetime] | None = None,
        record: bool = False,
    ) -> None:
        self.service = service
        self.store = service.store
        self.ruleset = ruleset
        # Default to the service's clock: `dibs run` builds Runner(service, ruleset), and with
        # DIBS_CLOCK_FILE the schedules must follow the same clock as the ledger and events.
        self.clock = clock or service.clock
        self.record = record
        self.actor_name = "rules"

    @property
    def ruleset(self) -> RuleSet:
        return self._ruleset

    @ruleset.setter
    def ruleset(self, ruleset: RuleSet) -> None:
        """A reloaded file (`dibs run`, `dibs serve --rules`) replaces the rules between ticks:
        the numbering follows, or a rule added by the reload would be unknown to the tick."""
        self._ruleset = ruleset
        # Every active rule numbered by its application order: its number in the tick's
        # tables and its allocation queue group.
        self._numbers = {rule.name: n for n, rule in enumerate(order_rules(ruleset.active))}

    # ------------------------------------------------------------------------------ the tick

    def tick(self, dry_run: bool = False, all_open: bool = False) -> TickResult:
        """Run one tick; with `dry_run` everything is rolled back at the end.

        `all_open` offers every open unallocated order to the `new order` rules, as if each had
        just arrived (used by previews).
        """

        return self.service.run(lambda tx: self.tick_in(tx, all_open=all_open), dry_run=dry_run)

    def tick_in(self, tx: Tx, all_open: bool = False) -> TickResult:
        """The tick inside the caller's transaction.

        The cyclic collector runs between the tick's chunks (each allocation call pauses it
        for itself): a streaming tick keeps few objects, and SQLAlchemy leaves a little cyclic
        garbage per statement, which a tick-long pause let grow by ~100 bytes per order."""
        return self._tick(tx, all_open)

    def _tick(self, tx: Tx, all_open: bool) -> TickResult:
        """Claim events and due schedules, offer their orders (tables), decide them in one
        streaming pass (engine.run.stream), then apply the work in SPEC order."""
        started = time.perf_counter()
        conn = tx.conn
        now = self.clock()
        result = TickResult(started=now, ruleset=self.ruleset.hash)
        tables = TickTables(tx)
        offered: set[int] = set()
        offering = Offering(self.ruleset, self._numbers, tables, offered)
        # Without webhooks: the order events and those no rule fires on are claimed (and the
        # former offered) in SQL; only the others are read. A webhook is queued per event:
        # then the tick reads every event.
        skip = frozenset() if self.ruleset.notify else offering.in_sql()
        claimed, others = offering.claim_in_sql(skip) if skip else (0, True)
        result.events += claimed
        for chunk in tables.events.claim(stream.CHUNK, READ_PAYLOAD, skip) if others else ():
            result.events += len(chunk)
            offering.events(chunk)
            # The webhooks' queue (SPEC §13) is filled by the outbox's consumer, in its
            # transaction: an event is queued for its endpoints exactly when it is processed.
            rows = queue_rows(chunk, self.ruleset.notify)
            result.queued += delivery_queue.enqueue(conn, rows, now, now + RETRY_FOR)
        if all_open:
            for rule in self.ruleset.rules_for_event("order.created"):
                offering.select(rule, _open_orders(unallocated_only=True))
        for rule in self.ruleset.scheduled_rules():
            slot = self._claim_slot(conn, rule, now)
            if slot is not None:
                result.schedules.append((rule.name, slot))
                offering.select(rule, _open_orders(self._prefilter(rule, now)))
        dialect = self.store.dialect
        fired = [
            stream.fired_rule(rule, n, now, dialect)
            for rule in order_rules(self.ruleset.active)
            if (n := self._numbers[rule.name]) in offered
        ]
        streamed = stream.stream_plan(tables, fired, now, self.record)
        result.matches = streamed.tally([f.rule.name for f in fired])
        result.before = streamed.before
        queue = self._apply(
            tx, tables, stream.build_queue(tables, streamed, fired, now), streamed, result
        )
        result.plan = TickPlan(
            now=now,
            orders=streamed.plans,
            allocation_queue=tuple(queue),
            deallocations=tuple(i for ids in streamed.deallocations.values() for i in ids),
            splits=tuple(i for ids in streamed.splits.values() for i in ids),
        )
        tables.events.mark_processed(now)
        result.seconds = time.perf_counter() - started
        return result

    def _actor(self, rule: str | None) -> Actor:
        return Actor(self.actor_name, rule, self.ruleset.hash)

    def _apply(
        self,
        tx: Tx,
        tables: TickTables,
        length: int,
        streamed: stream.Streamed,
        result: TickResult,
    ) -> list[AllocationRequest]:
        """Tags, then deallocations, then the allocation queue, then splits (rules/tick.py).
        Returns the queue when recording.

        On PostgreSQL the stock of every order the plan touches is locked first, in one sorted
        pass: the operations below then follow the lock order of `engine.store.database`
        although they share one transaction (SQLite holds its write lock already).
        """
        if tx.store.is_postgres and streamed.matched:
            keys = tables.stock_keys()
            elsewhere = {
                w for d in streamed.decisions if d.allocation for w in d.allocation.warehouses or ()
            }
            tx.lock_stock(keys | {(sku, w) for sku, _ in keys for w in elsewhere})
        if streamed.tag_changes:
            order_ops.retag(tx, streamed.tag_changes)
        for rule, ids in streamed.deallocations.items():
            release_orders(tx, ids, "deallocate", self._actor(rule))
            result.deallocated.extend(ids)
        for rule, ids in streamed.reallocations.items():
            release_orders(tx, ids, "reallocate", self._actor(rule))
        queue = self._allocate(tx, tables, streamed, result) if length else []
        for rule, ids in streamed.splits.items():
            refused = splits.split_refusals(tx, ids)
            # Allocated whole, or not at all: nothing went wrong.
            result.not_split += sum(1 for oid in ids if oid in refused)
            done = splits.split_orders(
                tx, [oid for oid in ids if oid not in refused], self._actor(rule)
            )
            result.splits.extend(done.splits)
            result.problems.extend(f"split {oid}: {exc}" for oid, exc in done.failed)
        return queue

    def _allocate(
        self, tx: Tx, tables: TickTables, streamed: stream.Streamed, result: TickResult
    ) -> list[AllocationRequest]:
        """The queue, `stream.QUEUE_CHUNK` orders per batch call, in order: each call reads the
        stock the previous ones left, so this is the one queue the batch would run at once. One
        clock reading stamps them all, as one call would. When nothing else changes statuses
        this tick (no release, no split), each chunk's `allocation.changed` events are written
        after it, so the notes never hold more than a chunk."""
        at = tx.now()
        in_tick = replace(tx, clock=lambda: at)
        flush = not (streamed.deallocations or streamed.reallocations or streamed.splits)
        # What a queue entry takes from its decision, built once per decision, not per order.
        made = {
            n: (
                Policy(d.allocation.policy),
                self._actor(d.allocation.rule),
                d.allocation.warehouses,
            )
            for n, d in enumerate(streamed.decisions)
            if d.allocation is not None
        }
        recorded: list[AllocationRequest] = []
        bulk = Bulk(tx.conn)
        total, size = tables.queue_size(), stream.QUEUE_CHUNK
        # The indexes a big batch builds once are built once for the whole queue, not per call.
        with indexes_deferred(bulk, total):
            for start in range(0, total, size):
                part = AllocationReport()
                kinds = {made[n] for n in tables.queue_decisions(start, size)}
                if len(kinds) == 1 and not self.record:
                    # One rule's queue: one entry for all, staged by SQL, no id in Python.
                    shared = QueueEntry("", *kinds.pop())
                    allocate_selected(in_tick, tables.queue_select(start, size), shared, part)
                else:
                    chunk = tables.queue_part(start, size)
                    entries = [QueueEntry(oid, *made[n]) for oid, n in chunk]
                    allocate_queue(in_tick, entries, part)
                    if self.record:
                        recorded.extend(
                            replace(streamed.request(n), order_id=oid) for oid, n in chunk
                        )
                result.report.absorb(part, keep=self.record)
                if flush:
                    tx.changes.flush(bulk, at)
        return recorded

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


def _open_orders(
    where: ColumnElement[bool] | None = None, unallocated_only: bool = False
) -> Select[Any]:
    """The ids of the open orders (`where` narrows them; the predicate still decides)."""
    query = select(orders.c.id).where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
    if where is not None:
        query = query.where(where)
    if unallocated_only:
        query = query.where(orders.c.allocation_status == "unallocated")
    return query
