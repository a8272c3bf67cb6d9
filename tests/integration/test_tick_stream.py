"""The streaming tick (engine.run.stream) against the pure planner, with chunks of two orders.

With `stream.CHUNK` at 2, a dozen orders span several candidate chunks, event chunks and
allocation calls; rules whose condition is decided in SQL are mixed with rules decided by the
compiled predicate (an attribute compared with a number, on both backends; `matches`, on
PostgreSQL). Whatever the chunking, the tick must do what `rules.tick.plan_tick` plans over the
orders as they were, allocated in that queue order against the same stock.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import model
from engine.model import Order, Policy, ShipTo
from engine.run import stream
from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store, events
from engine.store.sqlfilter import prefilter_clause
from rules.loader import load_ruleset
from rules.ruleset import RuleSet
from rules.tick import plan_tick
from tests.conftest import FakeClock
from tests.helpers import order
from tests.integration.helpers import dropped_during, statuses

RULES = [
    {
        "name": "held",
        "priority": 100,
        "rule": 'when new order if tags contains "hold" then tag "held", stop',
    },
    {"name": "vip", "priority": 50, "rule": "when new order if attributes.score > 5 then allocate"},
    {
        "name": "fast",
        "priority": 30,
        "rule": 'when new order if shipping_method matches "^over" then tag "fast", allocate',
    },
    {
        "name": "us",
        "priority": 20,
        "rule": 'when new order from channel ["amazon"] if ship_to.country == "US" then allocate',
    },
    {"name": "rest", "rule": "when new order then allocate order by total desc"},
]


def _ruleset(tmp_path: Path, rules: list[dict[str, Any]]) -> RuleSet:
    path = tmp_path / "rules.yaml"
    path.write_text(json.dumps({"version": 1, "rules": rules}))
    return load_ruleset(path)


def _orders() -> list[Order]:
    methods = ["overnight", "ground", None, "two_day"]
    out = []
    for n in range(13):
        out.append(
            order(
                f"O{12 - n:02d}",  # ids against placing order: id order is not FIFO order
                ("MUG", 1 + n % 2),
                ("CUP", 1),
                minutes=n,
                channel="amazon" if n % 3 else "shopify",
                ship_to=ShipTo(country="US" if n % 4 else "CA"),
                shipping_method=methods[n % 4],
                total=None if n % 5 == 0 else Decimal(n % 4 * 10),  # ties and missing totals
                tags=frozenset({"hold"}) if n == 7 else frozenset(),
                attributes={"score": n} if n % 2 else {"score": "high"},
            )
        )
    return out


#: The stock every streaming test starts from.
STOCK = {"MUG": 9, "CUP": 11}


def _shop(svc: Service) -> tuple[list[Order], dict[str, int]]:
    """`STOCK` in main and the dozen orders of `_orders`, stored; (orders, stock)."""
    svc.import_inventory([(sku, "main", qty) for sku, qty in STOCK.items()])
    orders = _orders()
    svc.add_orders(orders)
    return orders, dict(STOCK)


def _expected(rs: RuleSet, orders: list[Order], stock: dict[str, int], svc: Service) -> Any:
    """The pure plan over the orders as stored, and the statuses its queue leads to."""
    loaded = [svc.get_order(o.id) for o in orders]
    plan = plan_tick([(rule, loaded) for rule in rs.active], svc.clock())
    shelf = {(sku, "main"): [qty, 0] for sku, qty in stock.items()}
    by_id = {o.id: o for o in loaded}
    after = {o.id: o.allocation_status for o in loaded}
    for request in plan.allocation_queue:
        lines = [(line.sku, line.qty, 0) for line in by_id[request.order_id].lines]
        _, after[request.order_id] = model.attempt(lines, "main", shelf, Policy(request.policy))
    return plan, after


def _not_pushed(rs: RuleSet, names: set[str]) -> Any:
    """sqlfilter's prefilter, refusing the conditions of the rules `names`: those rules then
    go the compiled predicate's way on SQLite too, mixed with the SQL-decided ones."""
    conditions = {rs.get(name).condition for name in names}

    def prefilter(cond: Any, now: Any, dialect: str) -> Any:
        return None if cond in conditions else prefilter_clause(cond, now, dialect)

    return prefilter


@pytest.mark.parametrize(("chunk", "python_side"), [(1, set()), (2, {"vip", "us"}), (5, {"fast"})])
def test_chunked_tick_does_what_the_pure_plan_says(
    store: Store,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
    python_side: set[str],
) -> None:
    monkeypatch.setattr(stream, "CHUNK", chunk)
    monkeypatch.setattr(stream, "QUEUE_CHUNK", chunk)
    svc = Service(store, clock)
    rs = _ruleset(tmp_path, RULES)
    monkeypatch.setattr(stream, "prefilter_clause", _not_pushed(rs, python_side))
    orders, stock = _shop(svc)
    plan, after = _expected(rs, orders, stock, svc)
    result = Runner(svc, rs, clock, record=True).tick()
    assert result.plan is not None
    assert [(r.order_id, r.rule) for r in result.plan.allocation_queue] == [
        (r.order_id, r.rule) for r in plan.allocation_queue
    ]
    assert result.plan.orders == plan.orders
    assert statuses(svc, *after) == after
    assert svc.get_order("O05").tags == frozenset({"hold", "held"})
    assert result.matches == {
        name: n
        for name in ("held", "vip", "fast", "us", "rest")
        if (n := sum(name in p.matched_rules for p in plan.orders.values()))
    }


def test_streaming_and_recording_ticks_agree(
    store: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dibs run` (no record) and a recording tick decide alike; each status change is told
    once, by one `allocation.changed`, although chunks write them as they go."""
    monkeypatch.setattr(stream, "CHUNK", 2)
    monkeypatch.setattr(stream, "QUEUE_CHUNK", 3)
    svc = Service(store, clock)
    rs = _ruleset(tmp_path, RULES[1:])  # no tags: the pass reads no order objects for SQL rules
    svc.import_inventory([("MUG", "main", 9), ("CUP", "main", 11)])
    orders = _orders()
    svc.add_orders(orders)
    _, after = _expected(rs, orders, {"MUG": 9, "CUP": 11}, svc)
    result = Runner(svc, rs, clock).tick()
    assert statuses(svc, *after) == after
    assert result.plan is not None and not result.plan.orders  # counts only
    assert sum(result.report.counts().values()) == len(orders)
    with store.read() as conn:
        told = conn.execute(
            select(events.c.order_id, events.c.payload).where(events.c.type == "allocation.changed")
        ).all()
    changed = {oid for oid, status in after.items() if status != "unallocated"}
    assert sorted(oid for oid, _ in told) == sorted(changed)
    assert all(payload["after"] == after[oid] for oid, payload in told)


def test_a_closed_order_is_not_offered_in_any_chunk(
    store: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "CHUNK", 2)
    monkeypatch.setattr(stream, "QUEUE_CHUNK", 3)
    svc = Service(store, clock)
    rs = _ruleset(tmp_path, [{"name": "all", "rule": "when new order then allocate"}])
    svc.import_inventory([("MUG", "main", 10)])
    svc.add_orders([order(f"A{n}", ("MUG", 1), minutes=n) for n in range(7)])
    svc.finish(["A2", "A5"], "cancel")  # their order.created events are still pending
    result = Runner(svc, rs, clock).tick()
    assert result.matches == {"all": 5}
    assert statuses(svc, "A0", "A2", "A6") == {
        "A0": "allocated",
        "A2": "unallocated",
        "A6": "allocated",
    }


def test_a_tick_builds_the_deferred_indexes_once_for_its_whole_queue(
    store: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every batch counts as big here: the tick drops each deferrable index once (SQLite),
    before its first batch call, builds it once after the last, and decides as without."""
    from engine.service import batch_indexes

    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)
    monkeypatch.setattr(stream, "QUEUE_CHUNK", 3)
    svc = Service(store, clock)
    rs = _ruleset(tmp_path, RULES)
    orders, stock = _shop(svc)
    _, after = _expected(rs, orders, stock, svc)
    with store.read() as conn:
        indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        before = [] if store.is_postgres else conn.exec_driver_sql(indexes).all()
    dropped = dropped_during(monkeypatch, lambda: Runner(svc, rs, clock).tick())
    assert statuses(svc, *after) == after
    if store.is_postgres:
        assert dropped == []
        return
    assert sorted(dropped) == [
        "DROP INDEX ix_ledger_order",
        "DROP INDEX ix_orders_open",
        "DROP INDEX ix_reservations_order",
        "DROP INDEX ix_reservations_stock",
    ]
    with store.read() as conn:
        assert conn.exec_driver_sql(indexes).all() == before


def test_a_tick_planned_in_sql_does_what_the_pure_plan_says(
    store: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rules the SQL flags decide alone, no tags, nothing recorded (`dibs run`): the plan is
    written by one INSERT … SELECT per combination of matched rules, and the tick still does
    what the pure plan says, queue order and counts included."""
    monkeypatch.setattr(stream, "QUEUE_CHUNK", 3)
    used: list[bool] = []
    in_sql = stream._plan_in_sql

    def spy(tables: Any, fired: Any) -> Any:
        found = in_sql(tables, fired)
        used.append(found is not None)
        return found

    monkeypatch.setattr(stream, "_plan_in_sql", spy)
    svc = Service(store, clock)
    express = 'when new order if shipping_method in ["overnight", "two_day"] then allocate'
    rules = [{"name": "express", "priority": 40, "rule": express}, *RULES[3:]]
    rs = _ruleset(tmp_path, rules)
    orders, stock = _shop(svc)
    plan, after = _expected(rs, orders, stock, svc)
    result = Runner(svc, rs, clock).tick()
    assert used == [True]
    assert statuses(svc, *after) == after
    assert result.matches == {
        name: n
        for name in ("express", "us", "rest")
        if (n := sum(name in p.matched_rules for p in plan.orders.values()))
    }
    assert result.report.counts() == dict(Counter(after[r.order_id] for r in plan.allocation_queue))


def test_a_deallocating_rule_is_not_planned_in_sql(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """A combination that deallocates needs its orders listed: the streaming pass decides."""
    svc = Service(store, clock)
    rules = [
        {"name": "us", "priority": 20, "rule": RULES[3]["rule"]},
        {"name": "drop", "rule": 'when new order if ship_to.country == "CA" then deallocate'},
    ]
    rs = _ruleset(tmp_path, rules)
    svc.import_inventory([("MUG", "main", 9), ("CUP", "main", 11)])
    orders = _orders()
    svc.add_orders(orders)
    plan, after = _expected(rs, orders, {"MUG": 9, "CUP": 11}, svc)
    result = Runner(svc, rs, clock).tick()
    assert statuses(svc, *after) == after
    assert sorted(result.deallocated) == sorted(plan.deallocations)


def test_order_events_are_claimed_and_offered_in_sql(
    store: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without webhooks, a tick claims the order events (and offers their orders) in SQL, on
    both backends (PostgreSQL: INSERT … SELECT … FOR UPDATE SKIP LOCKED): only the events a
    rule needs the payload of are read into Python, and every claimed one ends processed."""
    from engine.service.tick_claims import TickClaims

    read: list[str] = []
    claim = TickClaims.claim

    def spy(self: TickClaims, *args: Any, **kwargs: Any) -> Any:
        for chunk in claim(self, *args, **kwargs):
            read.extend(kind for _, kind, _, _ in chunk)
            yield chunk

    monkeypatch.setattr(TickClaims, "claim", spy)
    svc = Service(store, clock)
    rules = [
        {"name": "restock", "rule": "when inventory received then allocate"},
        {"name": "new", "rule": "when new order then allocate"},
    ]
    rs = _ruleset(tmp_path, rules)
    svc.change_stock("MUG", "main", 2, "set")
    svc.add_orders([order(f"N{n}", ("MUG", 1), minutes=n) for n in range(4)])
    svc.change_stock("MUG", "main", 1, "received")
    result = Runner(svc, rs, clock).tick()
    assert read == ["inventory.changed", "inventory.changed"]  # the set and the received
    assert result.events == 6
    assert statuses(svc, "N0", "N1", "N2", "N3") == {
        "N0": "allocated",
        "N1": "allocated",
        "N2": "allocated",
        "N3": "could_not_allocate",
    }
    with store.read() as conn:
        pending = conn.execute(select(events.c.type).where(events.c.processed.is_(False)))
        # Only what the tick wrote itself is left pending: its `allocation.changed`.
        assert {kind for (kind,) in pending} == {"allocation.changed"}
