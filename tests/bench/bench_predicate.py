"""Benchmark: compiled rule predicate vs the equivalent hand-written lambda, 1M orders.

Run: .venv/bin/python tests/bench/bench_predicate.py [N]
Target: the compiled predicate runs at >= 0.5x the lambda's speed (ratio printed below).
Not a pytest test (no test_ functions); timing belongs in benchmarks, not tests.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from dsl.compile import compile_condition
from dsl.parser import parse_rule
from rules.vocabulary import ORDER_VOCABULARY

CONDITION = 'channel == "amazon" and ship_to.country in ["US", "CA"] and total > 100'


class Address(NamedTuple):
    name: str | None
    country: str | None
    state: str | None
    city: str | None
    postal_code: str | None


class Line(NamedTuple):
    sku: str
    qty: int


class Order(NamedTuple):
    id: str
    channel: str
    status: str
    allocation_status: str
    placed_at: datetime
    shipping_method: str | None
    total: Decimal | None
    ship_to: Address
    warehouse: str
    tags: frozenset[str]
    attributes: dict[str, Any]
    lines: tuple[Line, ...]


def build_orders(n: int) -> list[Order]:
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    channels = ["amazon", "shopify", "ebay", "pos"]
    countries = ["US", "CA", "DE", "FR", None]
    return [
        Order(
            id=f"O{i}",
            channel=rng.choice(channels),
            status="awaiting_fulfillment",
            allocation_status="unallocated",
            placed_at=start + timedelta(minutes=i),
            shipping_method="ground",
            total=Decimal(rng.randint(1, 300)) if i % 50 else None,
            ship_to=Address(None, rng.choice(countries), None, None, None),
            warehouse="main",
            tags=frozenset(),
            attributes={},
            lines=(Line("WIDGET", 1),),
        )
        for i in range(n)
    ]


def timed(
    pred: Callable[[Any, datetime], Any], orders: list[Order], now: datetime
) -> tuple[float, int]:
    best = float("inf")
    hits = 0
    for _ in range(3):  # best of 3, to damp noise
        t0 = time.perf_counter()
        hits = sum(1 for o in orders if pred(o, now))
        best = min(best, time.perf_counter() - t0)
    return best, hits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "n", nargs="?", type=int, default=1_000_000, help="orders to build (default 1,000,000)"
    )
    n = parser.parse_args(argv).n
    if n < 1:
        parser.error("N must be at least 1")
    t0 = time.perf_counter()
    orders = build_orders(n)
    print(f"built {n:,} orders in {time.perf_counter() - t0:.2f}s")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    compiled = compile_condition(
        parse_rule(f"every 1 hour if {CONDITION} then allocate").condition, ORDER_VOCABULARY
    )
    countries = ("US", "CA")

    def hand(o: Any, now: datetime) -> bool:
        return (
            o.channel == "amazon"
            and o.ship_to.country in countries
            and o.total is not None
            and o.total > 100
        )

    t_compiled, hits_c = timed(compiled, orders, now)
    t_hand, hits_h = timed(hand, orders, now)
    assert hits_c == hits_h, (hits_c, hits_h)
    print(f"condition: {CONDITION}")
    print(f"compiled predicate: {t_compiled:.3f}s  ({hits_c:,} matches)")
    print(f"hand-written lambda: {t_hand:.3f}s  ({hits_h:,} matches)")
    print(f"compiled speed = {t_hand / t_compiled:.2f}x the lambda's (target >= 0.5x)")


if __name__ == "__main__":
    main()
