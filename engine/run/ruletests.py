"""`dibs rules test`: run a rule file's `tests:` through the real tick on throwaway databases.

Each test (SPEC §6) starts from an empty in-memory SQLite database holding its `kits` (SPEC §12)
and its `inventory` (on hand: a quantity in warehouse `main`, or a quantity per warehouse) and
imports its `orders` as new orders. The starting inventory is state,
not news: the events its setup writes are marked processed, so only the orders' `order.created`
events (and due schedules) drive what follows. Without `steps` the test then runs one tick
exactly as `dibs run --once` would and compares the allocation statuses named in `expect`. With
`steps`, it runs them in order (ticks, cancels, shipments, receipts, edits, new orders), each a
real operation that writes its events for the next tick, and checks each step's `expect`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import BadInput, DibsError, quoted
from engine.io.imports import check_order_mapping
from engine.model import DEFAULT_WAREHOUSE, Actor, Order
from engine.run.runner import Runner, TickResult
from engine.service import Service
from engine.service.records import utcnow
from engine.store import Store, outbox
from rules.ruleset import RuleSet, RuleTest, TestStep

#: Who the steps of a rule test act as (the ledger's actor).
TEST_ACTOR = Actor("rules test")
_STOCK_KINDS = {"receive": "received", "set": "set", "adjust": "adjusted"}


@dataclass
class TestOutcome:
    """One test's verdict: the expectations that failed (empty when it passed)."""

    __test__ = False

    name: str
    line: int
    failures: list[str] = field(default_factory=list)
    tick: TickResult | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def _orders_of(
    raw_orders: Iterable[Mapping[str, Any]], where: str, places: Sequence[str] = ()
) -> list[Order]:
    """The orders of a test or a step; a problem is told at the order's own place when
    `places` gives one per order (`rules.yaml:9: test 'x'`), else at `where`."""
    problems: list[str] = []
    built: list[Order] = []
    now = utcnow()
    for index, raw in enumerate(raw_orders):
        at = places[index] if index < len(places) else where
        order = check_order_mapping(raw, at, now, problems)
        if order is not None:
            built.append(order)
    if problems:
        raise BadInput(f"{where} has invalid orders", problems=problems)
    return built


def stock_rows(stock: Mapping[str, int | Mapping[str, int]]) -> list[tuple[str, str, int]]:
    """A test's stock mapping (SKU -> qty in main, or SKU -> {warehouse: qty}) as rows."""
    rows: list[tuple[str, str, int]] = []
    for sku, value in stock.items():
        if isinstance(value, Mapping):
            rows.extend((sku, warehouse, qty) for warehouse, qty in value.items())
        else:
            rows.append((sku, DEFAULT_WAREHOUSE, value))
    return rows


def _compare(service: Service, expect: Mapping[str, str]) -> list[str]:
    """The expectations the database does not meet, one message each."""
    with service.store.read() as conn:
        found = service.load_orders(conn, list(expect))
    failures = []
    for oid, expected in expect.items():
        if oid not in found:
            failures.append(f"{oid}: expected {expected}, but there is no such order")
        elif found[oid].allocation_status != expected:
            failures.append(f"{oid}: expected {expected}, got {found[oid].allocation_status}")
    return failures


class _Steps:
    """Runs the steps of one test against its database."""

    def __init__(self, service: Service, ruleset: RuleSet, where: str) -> None:
        self.service = service
        self.ruleset = ruleset
        self.where = where
        self.last_tick: TickResult | None = None

    def run(self, step: TestStep) -> None:
        action = step.action
        if action is None:
            return
        handlers: dict[str, Callable[[Any], None]] = {
            "tick": self.tick,
            "orders": self.orders,
            "edit": self.edit,
        }
        if action in handlers:
            handlers[action](step.value)
        elif action in _STOCK_KINDS:
            for sku, warehouse, qty in stock_rows(step.value):
                self.service.change_stock(sku, warehouse, qty, _STOCK_KINDS[action], TEST_ACTOR)
        else:  # ship, cancel, dropship
            self.service.finish(list(step.value), action, TEST_ACTOR)

    def tick(self, count: int) -> None:
        for _ in range(count):
            self.last_tick = Runner(self.service, self.ruleset, record=True).tick()

    def orders(self, raw: Iterable[Mapping[str, Any]]) -> None:
        self.service.add_orders(_orders_of(raw, self.where))

    def edit(self, edits: Mapping[str, Iterable[tuple[str, int]]]) -> None:
        for oid, lines in edits.items():
            self.service.edit(oid, list(lines), TEST_ACTOR)


def run_test(ruleset: RuleSet, test: RuleTest) -> TestOutcome:
    outcome = TestOutcome(test.name, test.line)
    where = f"{ruleset.path}:{test.line}: test {quoted(test.name)}"
    at = [f"{ruleset.path}:{line}: test {quoted(test.name)}" for line in test.order_lines]
    new_orders = _orders_of(test.orders, where, at)
    store = Store.open("sqlite://")
    try:
        service = Service(store)
        if test.kits:
            places = {kit: f"{ruleset.path}:{line}" for kit, line in test.kit_lines.items()}
            service.set_kits(test.kits, places)
        if test.inventory:
            service.import_inventory(stock_rows(test.inventory))
        with store.write() as conn:
            outbox.mark_all_processed(conn)
        if new_orders:
            service.add_orders(new_orders)
        steps = _Steps(service, ruleset, where)
        if not test.steps:
            steps.tick(1)
        for number, step in enumerate(test.steps, start=1):
            label = f"after step {number} (line {step.line}, {step.label})"
            try:
                steps.run(step)
            except DibsError as exc:
                outcome.failures.append(f"step {number} (line {step.line}, {step.label}): {exc}")
                break
            outcome.failures.extend(f"{label}: {f}" for f in _compare(service, step.expect))
        else:
            failures = _compare(service, test.expect)
            prefix = "at the end: " if test.steps else ""
            outcome.failures.extend(prefix + f for f in failures)
        outcome.tick = steps.last_tick
    finally:
        store.dispose()
    return outcome


def run_tests(ruleset: RuleSet) -> list[TestOutcome]:
    """Every test of the file, in file order."""
    return [run_test(ruleset, test) for test in ruleset.tests]
