"""Four processes allocate kits and plain orders over one hot component at once (SPEC §12).

One hot component (HOT, in two warehouses) is shared by two kits and by plain orders. Four
worker processes run overlapping allocate (with and without `--from`, every policy), deallocate
and reallocate batches, and race to ship the same kit orders of a cold component. Afterwards no
component may be promised twice in any warehouse, every kit line must hold all of its components
for exactly its reserved kit units, and every shipment must have happened once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.model import Line, Order
from engine.service import Service
from engine.store import Store, inventory, ledger, order_lines, orders, reservations
from tests.integration.helpers import wipe
from tests.integration.workers import run_allocation_workers

WORKERS = 4
HOT = {"main": 40, "east": 15}
KITS = {"KA": [("HOT", 1), ("A", 1)], "KB": [("HOT", 2), ("B", 1)], "KC": [("COLD", 2), ("C", 1)]}
ORDERS = 150
SHIP_ORDERS = 16


def _lines(i: int) -> tuple[Line, ...]:
    shapes = [
        (Line("KA", 1 + i % 2),),
        (Line("KB", 1 + i % 3),),
        (Line("HOT", 1 + i % 4),),
        (Line("KA", 1), Line("HOT", 2), Line("KB", 1)),
    ]
    return shapes[i % len(shapes)]


def seed_data(store: Store) -> None:
    wipe(store)
    svc = Service(store)
    rows = [("HOT", wh, qty) for wh, qty in HOT.items()]
    rows += [(sku, wh, 500) for sku in ("A", "B", "C") for wh in HOT]
    rows += [("COLD", "main", 100)]
    svc.import_inventory(rows)
    svc.set_kits(KITS)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    svc.add_orders(
        [
            Order(f"K{i:03d}", "web", t0 + timedelta(seconds=i % 13), _lines(i))
            for i in range(ORDERS)
        ]
        + [Order(f"S{i:02d}", "web", t0, (Line("KC", 1 + i % 3),)) for i in range(SHIP_ORDERS)]
    )


def run_workers(url: str, rounds: int) -> list[list[str]]:
    return run_allocation_workers(
        url,
        workers=WORKERS,
        prefix="K",
        orders=ORDERS,
        ship=SHIP_ORDERS,
        rounds=rounds,
        routes=[None, ["main", "east"], ["east", "main"]],
        timeout=180,
    )


def check_consistent(store: Store, shipped: list[list[str]]) -> None:
    with store.read() as conn:
        stock = {(r.sku, r.warehouse): r for r in conn.execute(select(inventory))}
        held: dict[tuple[str, str], int] = defaultdict(int)
        per_part: dict[tuple[str, int], dict[tuple[str, str], int]] = defaultdict(
            lambda: defaultdict(int)
        )
        for r in conn.execute(select(reservations)):
            held[(r.sku, r.warehouse)] += r.qty
            per_part[(r.order_id, r.line_no)][(r.sku, r.warehouse)] += r.qty
        lines = conn.execute(select(order_lines)).all()
        ledger_net = dict(
            conn.execute(
                select(ledger.c.sku, func.sum(ledger.c.delta)).group_by(ledger.c.sku)
            ).all()
        )
        ship_status = dict(
            conn.execute(select(orders.c.id, orders.c.status).where(orders.c.id.like("S%"))).all()
        )

    for (sku, wh), row in stock.items():
        assert row.allocated == held.get((sku, wh), 0), (sku, wh)  # allocated == Σ reservations
        if sku != "COLD":
            assert row.allocated <= row.on_hand, (sku, wh)  # never promised twice
    assert sum(held[("HOT", wh)] for wh in HOT) > 0  # the workers really did allocate
    assert stock[("HOT", "main")].on_hand == HOT["main"]  # allocation never changes on hand
    for sku in ("HOT", "A", "B"):
        assert ledger_net.get(sku, 0) == sum(q for (s, _), q in held.items() if s == sku)
    # Every kit line holds all of its components for exactly its reserved kit units, each
    # kit unit in one warehouse; a plain line holds its own SKU.
    kit_lines_held = 0
    for line in lines:
        parts = dict(KITS.get(line.sku, [(line.sku, 1)]))
        got = per_part.get((line.order_id, line.line_no), {})
        assert {s for s, _ in got} <= set(parts)
        units = 0
        for wh in {w for _, w in got}:
            per_wh = {(got.get((s, wh), 0) // q, got.get((s, wh), 0) % q) for s, q in parts.items()}
            assert len(per_wh) == 1, (line.order_id, got)  # no component without its siblings
            whole, rest = per_wh.pop()
            assert rest == 0 and whole > 0
            units += whole
        assert units == line.reserved <= line.qty
        kit_lines_held += bool(units and line.sku in KITS)
    assert kit_lines_held > 0 and held[("HOT", "east")] > 0  # kits and `from` were exercised
    # Every shipment happened exactly once and took its components once.
    flat = [oid for worker in shipped for oid in worker]
    assert sorted(flat) == sorted(ship_status) == [f"S{i:02d}" for i in range(SHIP_ORDERS)]
    assert set(ship_status.values()) == {"shipped"}
    kits_shipped = sum(1 + i % 3 for i in range(SHIP_ORDERS))
    assert stock[("COLD", "main")].on_hand == 100 - 2 * kits_shipped
    assert ("KC", "main") not in stock  # a kit never gets stock of its own


@pytest.mark.slow
def test_concurrent_kit_workers_sqlite(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'dibs.db'}")
    seed_data(store)
    shipped = run_workers(f"sqlite:///{tmp_path / 'dibs.db'}", rounds=4)
    check_consistent(store, shipped)
    store.dispose()


@pytest.mark.slow
def test_concurrent_kit_workers_postgres(pg_url: str) -> None:
    store = Store.open(pg_url)
    seed_data(store)
    shipped = run_workers(pg_url, rounds=4)
    check_consistent(store, shipped)
    wipe(store)
    store.dispose()
