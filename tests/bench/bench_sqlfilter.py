"""Benchmark: selecting order ids with the SQL filter vs a hand-written query, 1M orders, SQLite.

Run: .venv/bin/python tests/bench/bench_sqlfilter.py [--orders N] [--db FILE] [--repeat R]
Target: the SQL filter's selection takes <= 2x the hand-written query's time (ratio printed).
The database file is kept and reused when it already holds N orders (building 1M takes a while).
Not a pytest test (no test_ functions); timing belongs in benchmarks, not tests.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from engine.model import Line, Order, ShipTo
from engine.service import Service
from engine.store import Store, orders
from engine.store.where import where_clause

CONDITION = 'channel == "amazon" and ship_to.country in ["US", "CA"] and total > 100'
HAND_WRITTEN = (
    "SELECT id FROM orders WHERE channel = 'amazon' "
    "AND ship_to_country IN ('US', 'CA') AND total > 100"
)
CHANNELS = ["amazon", "shopify", "ebay", "wholesale"]
COUNTRIES = ["US", "CA", "DE", "FR", "GB", None]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build(store: Store, count: int, batch: int = 50_000) -> None:
    rng = random.Random(7)
    service = Service(store)
    for start in range(0, count, batch):
        service.add_orders(
            [
                Order(
                    id=f"O{n:08d}",
                    channel=rng.choice(CHANNELS),
                    placed_at=T0 + timedelta(seconds=n),
                    lines=tuple(
                        Line(f"SKU{rng.randrange(500)}", rng.randint(1, 3))
                        for _ in range(rng.randint(1, 2))
                    ),
                    ship_to=ShipTo(country=rng.choice(COUNTRIES)),
                    total=None if n % 50 == 0 else Decimal(rng.randrange(0, 40_000)) / 100,
                    tags=frozenset({"vip"}) if n % 10 == 0 else frozenset(),
                )
                for n in range(start, min(start + batch, count))
            ]
        )
        print(f"  {min(start + batch, count):>9,} orders stored", end="\r", flush=True)
    print()


def best_of(repeat: int, run: Callable[[], list[str]]) -> tuple[float, list[str]]:
    best, ids = float("inf"), []
    for _ in range(repeat):
        started = time.perf_counter()
        ids = run()
        best = min(best, time.perf_counter() - started)
    return best, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/dibs_bench_sqlfilter.db"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    store = Store.open(f"sqlite:///{args.db}")
    with store.read() as conn:
        stored = conn.execute(select(func.count()).select_from(orders)).scalar_one()
    if stored != args.orders:
        store.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        store = Store.open(f"sqlite:///{args.db}")
        started = time.perf_counter()
        print(f"building {args.orders:,} orders in {args.db}")
        build(store, args.orders)
        print(f"built in {time.perf_counter() - started:.1f}s")

    query = select(orders.c.id).where(where_clause(CONDITION))

    def with_filter() -> list[str]:
        # Includes parsing, type checking and compiling the condition: what `--where` costs.
        clause = where_clause(CONDITION)
        with store.engine.connect() as conn:
            return list(conn.execute(select(orders.c.id).where(clause)).scalars())

    raw = sqlite3.connect(args.db)

    def by_hand() -> list[str]:
        return [row[0] for row in raw.execute(HAND_WRITTEN)]

    with_filter()  # warm the page cache and SQLAlchemy's statement cache for both
    by_hand()
    filter_time, filter_ids = best_of(args.repeat, with_filter)
    hand_time, hand_ids = best_of(args.repeat, by_hand)
    assert sorted(filter_ids) == sorted(hand_ids), "the two queries disagree"
    print(f"condition:    {CONDITION}")
    print(f"generated:    {' '.join(str(query).split())}")
    print(f"orders:       {args.orders:,}, selected {len(hand_ids):,}")
    print(f"SQL filter:   {filter_time * 1000:8.1f} ms (best of {args.repeat})")
    print(f"hand-written: {hand_time * 1000:8.1f} ms (best of {args.repeat})")
    print(f"ratio:        {filter_time / hand_time:.2f}x (target <= 2x)")
    raw.close()
    store.dispose()


if __name__ == "__main__":
    main()
