"""The batch path with `from` lists and kits decides exactly what the pure model decides.

Random stock over two warehouses, two kits, random orders with kit and plain lines: `allocate`
through the service (the batch hot path) must reserve per line, per warehouse, what
`routing.attempt_routed` decides when run over the same queue in memory, never more than a
(sku, warehouse) has, and shipping must take off the shelf what `routing.shipped_stock` says.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine.model import Held, Line, Order, Policy, parts_of
from engine.model.routing import attempt_routed, shipped_stock
from engine.service import Service
from engine.store import Store, inventory, reservations
from tests.integration.helpers import wipe

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KITS = {"KA": (("A", 1), ("B", 2)), "KC": (("C", 3),)}
WHS = ("main", "east")

stock_st = st.fixed_dictionaries({(sku, wh): st.integers(0, 9) for sku in "ABC" for wh in WHS})
line_st = st.tuples(st.sampled_from(["A", "B", "C", "KA", "KC"]), st.integers(1, 3))
orders_st = st.lists(
    st.tuples(st.lists(line_st, min_size=1, max_size=3), st.sampled_from(WHS)),
    min_size=1,
    max_size=6,
)
from_st = st.sampled_from([None, ("main", "east"), ("east", "main"), ("east",)])


def _check(
    store: Store,
    stock: dict[tuple[str, str], int],
    specs: list[tuple[list[tuple[str, int]], str]],
    warehouses: tuple[str, ...] | None,
    policy: Policy,
) -> None:
    wipe(store)
    svc = Service(store)
    svc.import_inventory([(sku, wh, qty) for (sku, wh), qty in stock.items()])
    svc.set_kits({kit: list(parts) for kit, parts in KITS.items()})
    orders = [
        Order(
            f"O{i}",
            "web",
            T0 + timedelta(minutes=i),
            tuple(Line(s, q) for s, q in lines),
            warehouse=wh,
        )
        for i, (lines, wh) in enumerate(specs)
    ]
    svc.add_orders(orders)
    report = svc.allocate(policy=policy, warehouses=warehouses)

    model = {key: [qty, 0] for key, qty in stock.items()}
    expected: dict[tuple[str, int], dict[str, int]] = {}
    statuses = {}
    for o in orders:
        routes, statuses[o.id] = attempt_routed(
            [(x.sku, x.qty, 0) for x in o.lines], warehouses or (o.warehouse,), model, policy, KITS
        )
        for n, routed in enumerate(routes, start=1):
            expected[(o.id, n)] = {wh: units for wh, units in routed}
    assert {r["id"]: r["after"] for r in report.results} == statuses

    held: list[Held] = []
    with store.read() as conn:
        for r in conn.execute(select(reservations).order_by(reservations.c.seq)):
            held.append(Held(r.seq, r.order_id, r.line_no, r.sku, r.warehouse, r.qty))
        rows = {
            (r.sku, r.warehouse): (r.on_hand, r.allocated) for r in conn.execute(select(inventory))
        }
    got: dict[tuple[str, int], dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for h in held:
        got[(h.order_id, h.line_no)][(h.sku, h.warehouse)] += h.qty
    for o in orders:
        for n, line in enumerate(o.lines, start=1):
            want = {
                (part, wh): units * per
                for wh, units in expected[(o.id, n)].items()
                for part, per in parts_of(line.sku, KITS)
            }
            assert dict(got.get((o.id, n), {})) == want, (o.id, n)
    for key, (on_hand, allocated) in rows.items():
        assert allocated == model[key][1] <= on_hand, key  # never more than it has

    # Ship every order: each unit leaves where it was reserved, the rest from home.
    loaded = {o.id: svc.get_order(o.id) for o in orders}
    taken = shipped_stock(loaded.values(), held, KITS)
    svc.finish([o.id for o in orders], "ship")
    after = {
        (r["sku"], r["warehouse"]): r["on_hand"] for r in svc.list_inventory() if not r.get("kit")
    }
    for key in set(after) | set(taken):
        assert after.get(key, 0) == stock.get(key, 0) - taken.get(key, 0), key


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(stock_st, orders_st, from_st, st.sampled_from(list(Policy)))
def test_batch_with_from_and_kits_matches_the_model_sqlite(
    sqlite_store: Store,
    stock: dict[tuple[str, str], int],
    specs: list[tuple[list[tuple[str, int]], str]],
    warehouses: tuple[str, ...] | None,
    policy: Policy,
) -> None:
    _check(sqlite_store, stock, specs, warehouses, policy)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(stock_st, orders_st, from_st, st.sampled_from(list(Policy)))
def test_batch_with_from_and_kits_matches_the_model_postgres(
    pg_url: str,
    stock: dict[tuple[str, str], int],
    specs: list[tuple[list[tuple[str, int]], str]],
    warehouses: tuple[str, ...] | None,
    policy: Policy,
) -> None:
    store = Store.open(pg_url)
    try:
        _check(store, stock, specs, warehouses, policy)
    finally:
        wipe(store)
        store.dispose()
