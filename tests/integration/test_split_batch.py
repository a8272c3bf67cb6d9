"""Splitting many orders at once (`splits.split_orders`, a tick's `then allocate, split`) does
exactly what splitting them one after the other does (`splits.split`, the CLI's and the
dashboard's), on random orders with kit lines, orders whose `<id>-1` (and `-2`) exist already,
orders named twice, unknown, shipped, refused ones, and a new order named after its split:
the same new ids, lines, reservations, stock, statuses, ledger and events (in the same order),
and the same refusals. And the tick's splits take a few statements per batch, not a dozen per
order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, event, select

from engine.errors import OperationFailed
from engine.model import Actor, Line, Order
from engine.run.runner import Runner
from engine.service import Service, splits
from engine.service.tx import Tx
from engine.store import Store, metadata
from engine.store.bulk import Bulk
from tests.integration.helpers import wipe
from tests.integration.test_runner import rule, ruleset

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KITS = {"KA": [("A", 1), ("B", 2)], "KC": [("C", 3)]}
ACTOR = Actor("rules", "split-them", "hash")

stock_st = st.fixed_dictionaries({sku: st.integers(0, 8) for sku in "ABCD"})
line_st = st.tuples(st.sampled_from(["A", "B", "C", "D", "KA", "KC"]), st.integers(1, 3))
order_st = st.tuples(
    st.lists(line_st, min_size=1, max_size=4),
    st.integers(0, 2),  # how many of `<id>-1`, `<id>-2` exist already
    st.booleans(),  # tagged
)
orders_st = st.lists(order_st, min_size=1, max_size=8)
# The ids to split: indexes into the orders, or an id no order has, a new order's id.
pick_st = st.lists(
    st.one_of(st.integers(0, 7), st.sampled_from(["NOPE", "O1-1", "O0-3"])), max_size=14
)


def _seed(store: Store, stock: dict[str, int], specs: list[Any], ship: bool) -> Service:
    wipe(store)
    svc = Service(store, lambda: T0)
    svc.import_inventory([(sku, "main", qty) for sku, qty in stock.items()])
    svc.set_kits(KITS)
    new: list[Order] = []
    for i, (lines, taken, tagged) in enumerate(specs):
        placed = T0 + timedelta(minutes=i)
        tags = frozenset({"vip"}) if tagged else frozenset()
        new.append(Order(f"O{i}", "web", placed, tuple(Line(s, q) for s, q in lines), tags=tags))
        new += [Order(f"O{i}-{n}", "web", placed, (Line("D", 1),)) for n in range(1, taken + 1)]
    svc.add_orders(new)
    svc.allocate()
    if ship and len(specs) > 1:
        svc.finish(["O1"], "ship")
    return svc


def _content(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in id (or key) order, without their timestamps and generated ids."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as conn:
        for table in metadata.sorted_tables:
            generated = [c for c in table.primary_key.columns if c.autoincrement is True]
            kept = [
                c for c in table.columns if not isinstance(c.type, DateTime) and c not in generated
            ]
            order = generated or list(table.primary_key.columns) or kept
            out[table.name] = [tuple(r) for r in conn.execute(select(*kept).order_by(*order))]
    return out


def _run(
    store: Store, setup: Callable[[], Service], work: Callable[[Tx], Any]
) -> tuple[Any, dict[str, list[tuple[Any, ...]]]]:
    svc = setup()
    return svc.run(work), _content(store)


def _one_by_one(ids: list[str]) -> Callable[[Tx], Any]:
    def work(tx: Tx) -> Any:
        done: list[tuple[str, str]] = []
        failed: list[tuple[str, str, str]] = []
        for oid in ids:
            try:
                done.append(splits.split(tx, oid, ACTOR))
            except OperationFailed as exc:
                failed.append((oid, type(exc).__name__, str(exc)))
        return done, failed

    return work


def _at_once(ids: list[str]) -> Callable[[Tx], Any]:
    def work(tx: Tx) -> Any:
        outcome = splits.split_orders(tx, ids, ACTOR)
        failed = [(oid, type(exc).__name__, str(exc)) for oid, exc in outcome.failed]
        return outcome.splits, failed

    return work


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stock=stock_st, specs=orders_st, picks=pick_st, ship=st.booleans(), small=st.booleans())
def test_splitting_at_once_does_what_one_split_after_another_does(
    store: Store,
    monkeypatch: Any,
    stock: dict[str, int],
    specs: list[Any],
    picks: list[int | str],
    ship: bool,
    small: bool,
) -> None:
    ids = [p if isinstance(p, str) else f"O{p % len(specs)}" for p in picks]
    ids += [f"O{i}" for i in range(len(specs))]  # and every order, at the end
    # Batches of 3 orders, so that an order named twice can fall in one batch or two.
    monkeypatch.setattr(splits, "_AT_ONCE", 3 if small else 500)

    def setup() -> Service:
        return _seed(store, stock, specs, ship)

    one = _run(store, setup, _one_by_one(ids))
    many = _run(store, setup, _at_once(ids))
    assert many == one


def test_a_ticks_splits_take_a_few_statements_per_batch(
    store: Store, tmp_path: Path, monkeypatch: Any
) -> None:
    """100 partially allocated orders allocated and split by one tick: 55 statements in all on
    SQLite, 66 on PostgreSQL (a split took about two dozen of its own: 2,437 here), and each
    split as `split` makes it."""
    svc = Service(store, lambda: T0)
    svc.import_inventory([("A", "main", 100)])
    lines = (Line("B", 1), Line("A", 1), Line("B", 2))
    svc.add_orders([Order(f"P{i:03d}", "web", T0, lines) for i in range(100)])
    svc.add_orders([Order("P007-1", "web", T0, (Line("B", 1),))])
    rs = ruleset(tmp_path, rule("split-them", "when new order then allocate, split"))
    runner = Runner(svc, rs, lambda: T0)
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    def spied(method: Any) -> Any:  # the raw-cursor statements, which SQLAlchemy never sees
        def spy(self: Bulk, sql: Any, *args: Any) -> Any:
            seen.append(str(sql))
            return method(self, sql, *args)

        return spy

    for name in ("executemany", "run_many", "query", "copy"):
        monkeypatch.setattr(Bulk, name, spied(getattr(Bulk, name)))
    engine = store.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = runner.tick()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(result.splits) == 100 and ("P007", "P007-2") in result.splits
    assert ("P008", "P008-1") in result.splits
    kept, child = svc.get_order("P008"), svc.get_order("P008-1")
    assert [(x.sku, x.qty, x.reserved) for x in kept.lines] == [("A", 1, 1)]
    assert [(x.sku, x.qty) for x in child.lines] == [("B", 1), ("B", 2)]
    assert len(seen) < 120, len(seen)
