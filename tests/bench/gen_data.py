"""Write a large synthetic data set for benchmarks: orders (CSV or JSONL) plus inventory.

    .venv/bin/python tests/bench/gen_data.py DIR [--orders 100000] [--skus 10000]
        [--format csv|jsonl] [--seed 7] [--time-parse]

N orders of 1-4 lines (2.5 on average) over K SKUs whose popularity is skewed (a few hot SKUs,
a long tail, as in real shops), and `inventory.csv` whose stock covers roughly 60-70% of the
demand, so allocation runs meet both success and shortage. The same arguments always write
the same bytes. `--time-parse` then times `engine.io.imports.read_orders` on the orders file.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CHANNELS = ("shopify", "amazon", "ebay", "wholesale")
CHANNEL_WEIGHTS = (45, 30, 15, 10)
COUNTRIES = ("US", "CA", "GB", "DE", "AU")
COUNTRY_WEIGHTS = (60, 12, 12, 8, 8)
METHODS = ("ground", "two_day", "overnight", "international")
METHOD_WEIGHTS = (55, 25, 10, 10)
START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
SPAN_SECONDS = 30 * 24 * 3600
CSV_HEADER = (
    "id",
    "channel",
    "placed_at",
    "sku",
    "qty",
    "country",
    "shipping_method",
    "total",
    "tags",
)


@dataclass(frozen=True)
class DataSet:
    """What `generate` wrote."""

    orders_path: Path
    inventory_path: Path
    orders: int
    lines: int
    units: int
    stock: int


def generate(
    directory: Path,
    orders: int = 100_000,
    skus: int = 10_000,
    fmt: str = "csv",
    seed: int = 7,
) -> DataSet:
    """Write `orders.<fmt>` and `inventory.csv` into `directory` (created if needed)."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"format must be csv or jsonl, got {fmt!r}")
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    sku_names = [f"SKU-{n:06d}" for n in range(skus)]
    # Zipf-like popularity via cumulative weights: one bisect per draw in random.choices.
    cum_weights = list(itertools.accumulate(1.0 / (rank + 1) ** 0.8 for rank in range(skus)))
    demand = [0] * skus
    orders_path = directory / f"orders.{fmt}"
    line_total = 0
    with orders_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n") if fmt == "csv" else None
        if writer is not None:
            writer.writerow(CSV_HEADER)
        # Draw order-level attributes in batches: random.choices with k= is much faster.
        channels = rng.choices(CHANNELS, CHANNEL_WEIGHTS, k=orders)
        countries = rng.choices(COUNTRIES, COUNTRY_WEIGHTS, k=orders)
        methods = rng.choices(METHODS, METHOD_WEIGHTS, k=orders)
        line_counts = rng.choices((1, 2, 3, 4), k=orders)  # uniform 1-4: mean 2.5
        for n in range(orders):
            picks = rng.choices(range(skus), cum_weights=cum_weights, k=line_counts[n])
            wholesale = channels[n] == "wholesale"
            lines: dict[int, int] = {}
            for pick in picks:  # a repeated SKU merges into one line, as a shop cart would
                lines[pick] = lines.get(pick, 0) + (
                    rng.randint(12, 48) if wholesale else rng.choice((1, 1, 1, 2, 3))
                )
            for pick, qty in lines.items():
                demand[pick] += qty
            line_total += len(lines)
            order_id = f"B{n + 1:07d}"
            placed = datetime.fromtimestamp(START + rng.randrange(SPAN_SECONDS), UTC)
            placed_at = placed.strftime("%Y-%m-%dT%H:%M:%SZ")
            total = f"{rng.randrange(500, 50000) / 100:.2f}"
            tags = "wholesale" if wholesale else ("vip" if rng.random() < 0.05 else "")
            if writer is not None:
                head = (order_id, channels[n], placed_at)
                tail = (countries[n], methods[n], total, tags)
                writer.writerows(
                    (*head, sku_names[pick], qty, *tail) for pick, qty in lines.items()
                )
            else:
                obj = {
                    "id": order_id,
                    "channel": channels[n],
                    "placed_at": placed_at,
                    "ship_to": {"country": countries[n]},
                    "shipping_method": methods[n],
                    "total": total,
                    "tags": [tags] if tags else [],
                    "lines": [{"sku": sku_names[p], "qty": q} for p, q in lines.items()],
                }
                handle.write(json.dumps(obj, separators=(",", ":")))
                handle.write("\n")
    inventory_path = directory / "inventory.csv"
    stock_total = 0
    with inventory_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("sku", "on_hand", "warehouse"))
        for index, sku in enumerate(sku_names):
            # Per-SKU cover between 30% and 100% of demand: 65% overall, some SKUs plentiful,
            # others badly short.
            on_hand = int(demand[index] * rng.uniform(0.3, 1.0))
            stock_total += on_hand
            writer.writerow((sku, on_hand, "main"))
    return DataSet(orders_path, inventory_path, orders, line_total, sum(demand), stock_total)


def time_parse(path: Path, repeat: int = 3) -> tuple[int, float]:
    """Best-of-`repeat` wall time of `read_orders(path)`; returns (orders, seconds)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from engine.io.imports import read_orders

    best = float("inf")
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = len(read_orders(path))
        best = min(best, time.perf_counter() - started)
    return count, best


def main(argv: Sequence[str] | None = None) -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description="Write a synthetic benchmark data set.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-parse", action="store_true", help="then time read_orders")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = generate(args.directory, args.orders, args.skus, args.format, args.seed)
    elapsed = time.perf_counter() - started
    print(
        f"wrote {data.orders_path} ({data.orders} orders, {data.lines} lines, {data.units} units)"
        f" and {data.inventory_path} (stock {data.stock} = {data.stock / data.units:.0%} of"
        f" demand) in {elapsed:.1f}s"
    )
    if args.time_parse:
        count, seconds = time_parse(data.orders_path)
        print(
            f"read_orders: {count} orders ({data.lines} lines) in {seconds:.2f}s"
            f" = {count / seconds:,.0f} orders/s"
        )


if __name__ == "__main__":
    main()
