"""`dibs rules test`: run a rule file's `tests:` through the real tick on throwaway databases.

Each test (SPEC §6) starts from an empty in-memory SQLite database holding its `inventory` (on
hand, warehouse `main`), imports its `orders` as new orders, runs one tick exactly as
`dibs run --once` would, and compares the allocation statuses named in `expect`. The starting
inventory is state, not news: the events its setup writes are marked processed before the tick,
so only the orders' `order.created` events (and due schedules) drive it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import BadInput, quoted
from engine.io.imports import check_order_mapping
from engine.model import Order
from engine.run.runner import Runner, TickResult
from engine.service import Service
from engine.service.records import utcnow
from engine.store import Store, outbox
from rules.ruleset import RuleSet, RuleTest


@dataclass
class TestOutcome:
    """One test's verdict: the expectations that failed (empty when it passed)."""

    name: str
    line: int
    failures: list[str] = field(default_factory=list)
    tick: TickResult | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def _orders_of(test: RuleTest, ruleset: RuleSet) -> list[Order]:
    problems: list[str] = []
    built: list[Order] = []
    now = utcnow()
    for raw in test.orders:
        order = check_order_mapping(
            raw, f"{ruleset.path}:{test.line}: test {quoted(test.name)}", now, problems
        )
        if order is not None:
            built.append(order)
    if problems:
        raise BadInput(
            f"{ruleset.path}:{test.line}: test {quoted(test.name)} has invalid orders",
            problems=problems,
        )
    return built


def run_test(ruleset: RuleSet, test: RuleTest) -> TestOutcome:
    outcome = TestOutcome(test.name, test.line)
    new_orders = _orders_of(test, ruleset)
    store = Store.open("sqlite://")
    try:
        service = Service(store)
        if test.inventory:
            service.import_inventory([(sku, "main", qty) for sku, qty in test.inventory.items()])
        with store.write() as conn:
            outbox.mark_all_processed(conn)
        if new_orders:
            service.add_orders(new_orders)
        outcome.tick = Runner(service, ruleset).tick()
        with store.read() as conn:
            found = service.load_orders(conn, list(test.expect))
        for oid, expected in test.expect.items():
            if oid not in found:
                outcome.failures.append(f"{oid}: expected {expected}, but there is no such order")
            elif found[oid].allocation_status != expected:
                outcome.failures.append(
                    f"{oid}: expected {expected}, got {found[oid].allocation_status}"
                )
    finally:
        store.dispose()
    return outcome


def run_tests(ruleset: RuleSet) -> list[TestOutcome]:
    """Every test of the file, in file order."""
    return [run_test(ruleset, test) for test in ruleset.tests]
