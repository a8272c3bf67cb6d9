"""The bulk stock path (`inventory import`: one read of the stock, executemany writes, coverage
recomputed once per key that moved) against the same changes made one `inventory set` at a
time, on both backends.

The final state must be the same: on hand, allocated, every reservation's cover, every order's
allocation status, and the `inventory.changed` events. The import is one transaction, so it
tells one `allocation.changed` per order whose status differs at its end (from the status
before the import); the sets, one transaction each, tell the steps, which must compose to
the same change. A large case crosses the IN-list chunks (5000 SKUs, 2000 orders).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.errors import BadInput
from engine.model import EventType, Line, Order, Policy
from engine.service import Service
from engine.store import Store, events, inventory, orders, reservations
from tests.conftest import FakeClock
from tests.integration.helpers import dump, event_rows, wipe
from tests.integration.invariants import violations

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SKUS = ["A", "B", "C", "D"]
WAREHOUSES = ["main", "east"]
KEYS = [(s, w) for s in SKUS for w in WAREHOUSES]

STOCK = st.dictionaries(st.sampled_from(KEYS), st.integers(0, 8))
ORDERS = st.lists(
    st.tuples(
        st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), min_size=1, max_size=3),
        st.sampled_from(WAREHOUSES),
    ),
    min_size=1,
    max_size=8,
)
#: New on-hand values: some keys unchanged, some never stocked before (E), some dropping to 0.
SETS = st.dictionaries(st.sampled_from([*KEYS, ("E", "main")]), st.integers(0, 10), min_size=1)


def build(
    store: Store,
    stock: dict[tuple[str, str], int],
    placed: list[tuple[list[tuple[str, int]], str]],
    policy: Policy,
) -> Service:
    wipe(store)
    svc = Service(store, FakeClock())
    if stock:
        svc.import_inventory([(s, w, q) for (s, w), q in sorted(stock.items())])
    svc.add_orders(
        [
            Order(
                id=f"O{i}",
                channel="web",
                placed_at=T0 + timedelta(minutes=i),
                lines=tuple(Line(s, q) for s, q in lines),
                warehouse=wh,
            )
            for i, (lines, wh) in enumerate(placed)
        ]
    )
    svc.allocate(policy=policy)
    return svc


def last_event(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


def state(store: Store) -> dict[str, Any]:
    with store.read() as conn:
        return {
            "stock": sorted(tuple(r) for r in conn.execute(select(inventory)).all()),
            "statuses": dict(conn.execute(select(orders.c.id, orders.c.allocation_status)).all()),
            "cover": sorted(
                (r.order_id, r.line_no, r.sku, r.warehouse, r.qty, bool(r.covered))
                for r in conn.execute(select(reservations))
            ),
        }


def events_after(store: Store, start: int, kind: EventType) -> list[dict[str, Any]]:
    return [e for e in event_rows(store, str(kind)) if e["id"] > start]


def run(store: Store, case: tuple[Any, ...], bulk: bool) -> tuple[dict[str, Any], ...]:
    stock, placed, policy, sets = case
    svc = build(store, stock, placed, policy)
    before, start = state(store)["statuses"], last_event(store)
    rows = [(s, w, q) for (s, w), q in sets.items()]
    if bulk:
        svc.import_inventory(rows)
    else:
        for s, w, q in rows:
            svc.change_stock(s, w, q, "set")
    assert violations(store) == []
    after = state(store)
    stock_events = [e["payload"] for e in events_after(store, start, EventType.INVENTORY_CHANGED)]
    steps = events_after(store, start, EventType.ALLOCATION_CHANGED)
    return before, after, {"stock": stock_events, "steps": steps}


def net(steps: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Compose each order's allocation.changed steps into (first before, last after)."""
    out: dict[str, tuple[str, str]] = {}
    for e in steps:
        first = out.get(e["order_id"], (e["payload"]["before"], ""))[0]
        out[e["order_id"]] = (first, e["payload"]["after"])
    return {oid: change for oid, change in out.items() if change[0] != change[1]}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stock=STOCK,
    placed=ORDERS,
    policy=st.sampled_from([Policy.LINES, Policy.UNITS, Policy.ALL_OR_NOTHING]),
    sets=SETS,
)
def test_import_is_the_same_as_one_set_at_a_time(
    store: Store,
    stock: dict[tuple[str, str], int],
    placed: list[tuple[list[tuple[str, int]], str]],
    policy: Policy,
    sets: dict[tuple[str, str], int],
) -> None:
    case = (stock, placed, policy, sets)
    before, bulk_after, bulk_events = run(store, case, bulk=True)
    before_one, one_after, one_events = run(store, case, bulk=False)
    assert before == before_one
    assert bulk_after == one_after
    assert bulk_events["stock"] == one_events["stock"]
    # One event per order whose status changed over the whole import, from its status before.
    told = {
        e["order_id"]: (e["payload"]["before"], e["payload"]["after"]) for e in bulk_events["steps"]
    }
    assert len(told) == len(bulk_events["steps"])
    assert told == {
        oid: (before[oid], status)
        for oid, status in bulk_after["statuses"].items()
        if status != before[oid]
    }
    assert told == net(one_events["steps"])
    assert {e["payload"]["cause"] for e in bulk_events["steps"]} <= {"inventory.set"}


def test_a_large_import_crosses_the_chunks(store: Store) -> None:
    """5,200 SKUs in two warehouses (more than one IN list of SKUs) and 3,467 reserved keys,
    every third, so the last SKU of each IN list is among them (more than one chunk of orders):
    they fall below their allocation, and back."""
    svc = Service(store, FakeClock())
    keys = [(f"S{i:05d}", wh) for i in range(5200) for wh in WAREHOUSES]
    svc.import_inventory([(s, w, 10) for s, w in keys])
    reserved = keys[::3]
    svc.add_orders(
        [
            Order(
                id=f"O{n:05d}",
                channel="web",
                placed_at=T0 + timedelta(seconds=n),
                lines=(Line(s, 6),),
                warehouse=w,
            )
            for n, (s, w) in enumerate(reserved)
        ]
    )
    svc.allocate()
    dropped = set(reserved)
    start = last_event(store)
    svc.import_inventory([(s, w, 3 if (s, w) in dropped else 11) for s, w in keys])
    assert violations(store) == []
    statuses = state(store)["statuses"]
    over = {oid for oid, status in statuses.items() if status == "overallocated"}
    assert len(over) == len(dropped) == 3467
    changed = events_after(store, start, EventType.ALLOCATION_CHANGED)
    assert sorted(e["order_id"] for e in changed) == sorted(over)
    assert len(events_after(store, start, EventType.INVENTORY_CHANGED)) == len(keys)
    start = last_event(store)
    svc.import_inventory([(s, w, 10) for s, w in keys])
    assert violations(store) == []
    assert set(state(store)["statuses"].values()) == {"allocated"}
    assert len(events_after(store, start, EventType.ALLOCATION_CHANGED)) == 3467


def test_a_refused_row_anywhere_in_a_large_import_changes_nothing(store: Store) -> None:
    svc = Service(store, FakeClock())
    svc.set_kits({"KIT": [("P1", 1)]})
    svc.import_inventory([(f"S{i:05d}", "main", 5) for i in range(100)])
    before = dump(store)
    rows = [(f"S{i:05d}", "main", 7) for i in range(6000)]
    with pytest.raises(BadInput, match="KIT"):
        svc.import_inventory([*rows[:3000], ("KIT", "main", 1), *rows[3000:]])
    assert dump(store) == before


def test_the_newest_reservations_lose_cover_first_and_get_it_back_last(store: Store) -> None:
    svc = Service(store, FakeClock())
    svc.import_inventory([("A", "main", 6), ("B", "main", 4)])
    svc.add_orders(
        [
            Order(
                id=f"O{n}",
                channel="web",
                placed_at=T0 + timedelta(minutes=n),
                lines=(Line("A", 2), Line("B", 1)),
            )
            for n in range(3)
        ]
    )
    svc.allocate()
    svc.import_inventory([("B", "main", 4), ("A", "main", 3)])
    assert state(store)["statuses"] == {
        "O0": "allocated",
        "O1": "overallocated",
        "O2": "overallocated",
    }
    svc.import_inventory([("A", "main", 5), ("B", "main", 2)])
    assert state(store)["statuses"] == {
        "O0": "allocated",
        "O1": "allocated",
        "O2": "overallocated",
    }
    assert violations(store) == []
