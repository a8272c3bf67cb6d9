"""Random operation sequences over the real Service: the SPEC §1-4 invariants hold after each step.

The test keeps its own small model (on hand per stock key, which orders are open, whether an
order's last event was an allocation attempt) and recomputes coverage and statuses from the
reservation rows itself, so it does not trust the counters the service maintains.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, select

from engine.errors import OperationFailed
from engine.model import AllocationStatus, Line, Order, Policy, coverage
from engine.service import Service
from engine.store import Store, inventory, ledger, metadata, order_lines, orders, reservations
from tests.helpers import table_counts

A = AllocationStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SKUS = st.sampled_from(["A", "B", "C"])
WAREHOUSES = st.sampled_from(["main", "main", "east"])
POLICIES = st.sampled_from(list(Policy))
LINES = st.lists(st.tuples(SKUS, st.integers(1, 3)), min_size=1, max_size=3)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def wipe(store: Store) -> None:
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


def machine_for(store: Store) -> type[RuleBasedStateMachine]:
    class ServiceMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            wipe(store)
            self.svc = Service(store, Clock())
            self.on_hand: dict[tuple[str, str], int] = defaultdict(int)
            self.open: list[str] = []  # awaiting_fulfillment, in creation order
            self.closed: set[str] = set()
            self.attempted: dict[str, bool] = {}  # last event was an allocation attempt
            self.next_id = 0

        # ------------------------------------------------------------------------ helpers

        def pick(self, index: int) -> str:
            return self.open[index % len(self.open)]

        def counts(self) -> dict[str, int]:
            with store.read() as conn:
                return table_counts(conn)

        def refused(self, action: Callable[[], Any]) -> bool:
            """Run `action`; when it is refused, prove it wrote nothing."""
            before = self.counts()
            try:
                action()
            except OperationFailed:
                assert self.counts() == before
                return True
            return False

        # -------------------------------------------------------------------------- stock

        @initialize(
            qtys=st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10)),
            first_orders=st.lists(
                st.tuples(LINES, WAREHOUSES, st.integers(0, 5)), min_size=2, max_size=5
            ),
        )
        def start(
            self,
            qtys: tuple[int, int, int],
            first_orders: list[tuple[list[tuple[str, int]], str, int]],
        ) -> None:
            for sku, qty in zip("ABC", qtys, strict=True):
                self.svc.change_stock(sku, "main", qty, "set")
                self.on_hand[(sku, "main")] = qty
            for lines, wh, minutes in first_orders:
                self.add_order(lines, wh, minutes)
            assert self.refused(lambda: self.svc.allocate(["NOPE"]))

        @rule(
            sku=SKUS,
            wh=WAREHOUSES,
            kind=st.sampled_from(["set", "adjusted", "received"]),
            qty=st.integers(-4, 8),
        )
        def change_stock(self, sku: str, wh: str, kind: str, qty: int) -> None:
            if kind == "set":
                qty = abs(qty)
            elif kind == "received":
                qty = abs(qty) or 1
            self.svc.change_stock(sku, wh, qty, kind)
            self.on_hand[(sku, wh)] = qty if kind == "set" else self.on_hand[(sku, wh)] + qty

        # ------------------------------------------------------------------------- orders

        @rule(lines=LINES, wh=WAREHOUSES, minutes=st.integers(0, 5))
        def add_order(self, lines: list[tuple[str, int]], wh: str, minutes: int) -> None:
            oid = f"O{self.next_id}"
            self.next_id += 1
            self.svc.add_orders(
                [
                    Order(
                        id=oid,
                        channel="web",
                        placed_at=T0 + timedelta(minutes=minutes),
                        lines=tuple(Line(s, q) for s, q in lines),
                        warehouse=wh,
                    )
                ]
            )
            self.open.append(oid)
            self.attempted[oid] = False

        @precondition(lambda self: self.open)
        @rule(
            picks=st.lists(st.integers(0, 50), min_size=1, max_size=4),
            policy=POLICIES,
            everything=st.booleans(),
        )
        def allocate(self, picks: list[int], policy: Policy, everything: bool) -> None:
            ids = None if everything else [self.pick(i) for i in picks]
            with store.read() as conn:
                before = {r.seq for r in conn.execute(select(reservations.c.seq))}
            report = self.svc.allocate(ids, policy=policy)
            for row in report.results:
                if row["before"] not in (A.ALLOCATED, A.OVERALLOCATED):
                    self.attempted[row["id"]] = True
            self.check_new_reservations_had_stock(before)

        @precondition(lambda self: self.open)
        @rule(index=st.integers(0, 50))
        def deallocate(self, index: int) -> None:
            oid = self.pick(index)
            self.svc.deallocate([oid])
            self.attempted[oid] = False

        @precondition(lambda self: self.open)
        @rule(index=st.integers(0, 50), policy=POLICIES)
        def reallocate(self, index: int, policy: Policy) -> None:
            oid = self.pick(index)
            with store.read() as conn:
                before = {r.seq for r in conn.execute(select(reservations.c.seq))}
            self.svc.reallocate([oid], policy=policy)
            self.attempted[oid] = True
            self.check_new_reservations_had_stock(before)

        @precondition(lambda self: self.open)
        @rule(index=st.integers(0, 50), how=st.sampled_from(["ship", "cancel", "dropship"]))
        def finish(self, index: int, how: str) -> None:
            oid = self.pick(index)
            order = self.svc.get_order(oid)
            self.svc.finish([oid], how)
            if how == "ship":
                for line in order.lines:
                    self.on_hand[(line.sku, order.warehouse)] -= line.qty
            self.open.remove(oid)
            self.closed.add(oid)
            # Finishing it again is refused and writes nothing.
            assert self.refused(lambda: self.svc.finish([oid], how))

        @precondition(lambda self: self.open)
        @rule(index=st.integers(0, 50), lines=LINES)
        def edit(self, index: int, lines: list[tuple[str, int]]) -> None:
            oid = self.pick(index)
            self.svc.edit(oid, lines)
            self.attempted[oid] = False

        @precondition(lambda self: self.open)
        @rule(index=st.integers(0, 50))
        def split(self, index: int) -> None:
            # Prefer an order that can be split (it is rare by chance); else prove the refusal.
            splittable = [
                o
                for o in self.open
                if self.svc.get_order(o).allocation_status == A.PARTIALLY_ALLOCATED
            ]
            oid = splittable[index % len(splittable)] if splittable else self.pick(index)
            order = self.svc.get_order(oid)
            reserved = sum(x.reserved for x in order.lines)
            missing = sum(x.missing for x in order.lines)
            if reserved == 0 or missing == 0:
                assert self.refused(lambda: self.svc.split(oid))
                return
            kept, child = self.svc.split(oid)
            assert [(x.sku, x.qty) for x in kept.lines] == [
                (x.sku, x.reserved) for x in order.lines if x.reserved
            ]
            assert [(x.sku, x.qty, x.reserved) for x in child.lines] == [
                (x.sku, x.missing, 0) for x in order.lines if x.missing
            ]
            self.open.append(child.id)
            self.attempted[child.id] = False

        # --------------------------------------------------------------------- invariants

        def check_new_reservations_had_stock(self, before: set[int]) -> None:
            """Allocation never reserves what is not there: the newest reservations fit."""
            with store.read() as conn:
                new = conn.execute(
                    select(
                        reservations.c.sku, reservations.c.warehouse, reservations.c.covered
                    ).where(reservations.c.seq.not_in(before) if before else True)
                ).all()
                stock = {
                    (r.sku, r.warehouse): (r.on_hand, r.allocated)
                    for r in conn.execute(select(inventory))
                }
            for r in new:
                assert r.covered, r
                on_hand, allocated = stock[(r.sku, r.warehouse)]
                assert allocated <= on_hand, (r, on_hand, allocated)

        @invariant()
        def database_agrees_with_spec(self) -> None:
            with store.read() as conn:
                inv = {(r.sku, r.warehouse): r for r in conn.execute(select(inventory))}
                res = conn.execute(select(reservations).order_by(reservations.c.seq)).all()
                lines = conn.execute(select(order_lines)).all()
                ords = {r.id: r for r in conn.execute(select(orders))}
                led = conn.execute(
                    select(ledger.c.order_id, ledger.c.sku, ledger.c.warehouse, ledger.c.delta)
                ).all()

            # §1 on hand follows only set/adjust/receive/ship; allocated == Σ reservations.
            for key, qty in self.on_hand.items():
                assert (inv[key].on_hand if key in inv else 0) == qty, key
            per_key: dict[tuple[str, str], list[Any]] = defaultdict(list)
            for r in res:
                per_key[(r.sku, r.warehouse)].append(r)
            for key, row in inv.items():
                assert row.allocated == sum(r.qty for r in per_key[key]), key
            assert set(per_key) <= set(inv)

            # Coverage recomputed here, by reservation order (SPEC §3).
            uncovered: set[str] = set()
            for key, held in per_key.items():
                flags = coverage(inv[key].on_hand, [r.qty for r in held])
                for r, flag in zip(held, flags, strict=True):
                    assert r.covered == flag, (key, r)
                    if not flag:
                        uncovered.add(r.order_id)

            # order_lines.reserved == Σ reservations of the line, within its qty.
            per_line: dict[tuple[str, int], int] = defaultdict(int)
            for r in res:
                per_line[(r.order_id, r.line_no)] += r.qty
                assert r.warehouse == ords[r.order_id].warehouse
            line_map: dict[str, list[Any]] = defaultdict(list)
            for line in lines:
                assert line.reserved == per_line.pop((line.order_id, line.line_no), 0)
                assert 0 <= line.reserved <= line.qty
                line_map[line.order_id].append(line)
            assert not per_line, f"reservations without a line: {per_line}"

            # The ledger explains every live reservation.
            ledger_sum: dict[tuple[str, str, str], int] = defaultdict(int)
            for entry in led:
                ledger_sum[(entry.order_id, entry.sku, entry.warehouse)] += entry.delta
            live: dict[tuple[str, str, str], int] = defaultdict(int)
            for r in res:
                live[(r.order_id, r.sku, r.warehouse)] += r.qty
            for key in set(ledger_sum) | set(live):
                assert ledger_sum[key] == live[key], key

            # Statuses (SPEC §3), and closed orders hold nothing.
            assert set(ords) == set(self.open) | self.closed
            for oid, row in ords.items():
                held_lines = sorted(line_map[oid], key=lambda x: x.line_no)
                assert [x.line_no for x in held_lines] == list(range(1, len(held_lines) + 1))
                if oid in self.closed:
                    assert row.status != "awaiting_fulfillment"
                    assert row.allocation_status == A.UNALLOCATED
                    assert all(x.reserved == 0 for x in held_lines)
                    continue
                assert row.status == "awaiting_fulfillment"
                total = sum(x.reserved for x in held_lines)
                if oid in uncovered:
                    expected = A.OVERALLOCATED
                elif total == 0:
                    expected = A.COULD_NOT_ALLOCATE if self.attempted[oid] else A.UNALLOCATED
                elif all(x.reserved == x.qty for x in held_lines):
                    expected = A.ALLOCATED
                else:
                    expected = A.PARTIALLY_ALLOCATED
                assert row.allocation_status == expected, (oid, held_lines)

    return ServiceMachine


def test_random_operations_keep_the_invariants_sqlite(sqlite_store: Store) -> None:
    run_state_machine_as_test(
        machine_for(sqlite_store),
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_random_operations_keep_the_invariants_postgres(pg_url: str) -> None:
    store = Store.open(pg_url)
    try:
        run_state_machine_as_test(
            machine_for(store),
            settings=settings(
                max_examples=10,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        wipe(store)
        store.dispose()


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
