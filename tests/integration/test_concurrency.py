"""Several OS processes allocate, release and ship at once: stock is never promised twice.

Four worker processes hammer one hot SKU (50 on hand, 200 one-unit orders) with overlapping
allocate / deallocate / reallocate batches, and all race to ship the same orders of a second
SKU. Then processes run every kind of operation on orders spanning several hot SKUs (the soak
of tests/bench/soak_postgres.py, shorter), and deterministic reproducers hold a transaction open
at the moment the old code went wrong. After each, the database must still tell one consistent
story: the invariant checker (tests/integration/invariants.py) runs after every test here.
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
from tests.bench.soak_postgres import run_soak
from tests.integration.helpers import wipe
from tests.integration.invariants import assert_consistent
from tests.integration.workers import run_allocation_workers

WORKERS = 4
HOT_ON_HAND = 50
HOT_ORDERS = 200
SHIP_ORDERS = 20
SHIP_ON_HAND = 100


def seed_data(store: Store) -> None:
    wipe(store)
    svc = Service(store)
    svc.change_stock("HOT", "main", HOT_ON_HAND, "set")
    svc.change_stock("COLD", "main", SHIP_ON_HAND, "set")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    svc.add_orders(
        [
            Order(
                id=f"H{i:03d}",
                channel="web",
                placed_at=t0 + timedelta(seconds=i % 17),
                lines=(Line("HOT", 1),),
            )
            for i in range(HOT_ORDERS)
        ]
        + [
            Order(id=f"S{i:02d}", channel="web", placed_at=t0, lines=(Line("COLD", 1 + i % 3),))
            for i in range(SHIP_ORDERS)
        ]
    )


def run_workers(url: str, rounds: int) -> list[list[str]]:
    return run_allocation_workers(
        url,
        workers=WORKERS,
        prefix="H",
        orders=HOT_ORDERS,
        ship=SHIP_ORDERS,
        rounds=rounds,
        routes=[None],
        timeout=120,
    )


def check_consistent(store: Store, shipped: list[list[str]]) -> None:
    with store.read() as conn:
        stock = {r.sku: r for r in conn.execute(select(inventory))}
        held = {
            sku: total
            for sku, total in conn.execute(
                select(reservations.c.sku, func.sum(reservations.c.qty)).group_by(
                    reservations.c.sku
                )
            )
        }
        per_line: dict[tuple[str, int], int] = defaultdict(int)
        for r in conn.execute(select(reservations)):
            per_line[(r.order_id, r.line_no)] += r.qty
        lines = conn.execute(select(order_lines)).all()
        ship_status = {
            oid: state
            for oid, state in conn.execute(
                select(orders.c.id, orders.c.status).where(orders.c.id.like("S%"))
            )
        }
        ship_ledger = conn.execute(
            select(func.count()).select_from(ledger).where(ledger.c.sku == "COLD")
        ).scalar_one()

    hot = stock["HOT"]
    assert hot.on_hand == HOT_ON_HAND  # allocation never changes on hand
    assert hot.allocated == held.get("HOT", 0)  # allocated == Σ live reservations
    assert hot.allocated <= hot.on_hand  # never promised twice
    assert held.get("HOT", 0) > 0  # the workers really did allocate
    for line in lines:
        assert line.reserved == per_line.get((line.order_id, line.line_no), 0)
        assert 0 <= line.reserved <= line.qty

    # Every shipment happened exactly once, and took its units off the shelf once.
    flat = [oid for worker in shipped for oid in worker]
    assert sorted(flat) == sorted(ship_status) == [f"S{i:02d}" for i in range(SHIP_ORDERS)]
    assert set(ship_status.values()) == {"shipped"}
    units = sum(1 + i % 3 for i in range(SHIP_ORDERS))
    assert stock["COLD"].on_hand == SHIP_ON_HAND - units
    assert stock["COLD"].allocated == 0
    assert ship_ledger == 0  # nothing was reserved, so nothing was released


@pytest.mark.slow
def test_concurrent_workers_sqlite(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'dibs.db'}")
    seed_data(store)
    shipped = run_workers(f"sqlite:///{tmp_path / 'dibs.db'}", rounds=4)
    check_consistent(store, shipped)
    assert_consistent(store)
    store.dispose()


@pytest.mark.slow
def test_concurrent_workers_postgres(pg_url: str) -> None:
    store = Store.open(pg_url)
    seed_data(store)
    shipped = run_workers(pg_url, rounds=4)
    check_consistent(store, shipped)
    assert_consistent(store)
    wipe(store)
    store.dispose()


def _check_soak(figures: dict[str, object]) -> None:
    assert figures["tracebacks"] == 0, figures["examples"]
    assert figures["deadlocks escaping"] == 0, figures["examples"]
    assert figures["snapshots with violations"] == 0, figures["examples"]
    assert figures["operations"], figures  # the workers really worked


@pytest.mark.slow
def test_orders_spanning_several_hot_skus_postgres(pg_url: str) -> None:
    """Allocate, edit, split, ship, deallocate and stock changes on orders of 1-3 of six hot
    SKUs, from four processes: no traceback, no deadlock escaping, every snapshot consistent."""
    _check_soak(run_soak(pg_url, processes=4, seconds=12, seed_value=7))
    assert_consistent(Store.open(pg_url, migrate=False))


@pytest.mark.slow
def test_orders_spanning_several_hot_skus_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dibs.db'}"
    _check_soak(run_soak(url, processes=3, seconds=6, seed_value=7))
    assert_consistent(Store.open(url, migrate=False))
