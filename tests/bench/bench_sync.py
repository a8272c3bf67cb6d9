"""Benchmark: `orders import --sync` of a big Shopify JSON file that is 99% unchanged (SPEC §9).

    .venv/bin/python tests/bench/bench_sync.py [--orders 100000] [--changed 0.01] [--db URL]

Writes a JSON Lines file of Shopify order objects, syncs it once into an empty SQLite database
(all created), then syncs a second version in which `--changed` of the orders have a newer
`updated_at` and another quantity, the rest exactly as before. Prints orders/s of the second
sync for the sync itself (the use case in one transaction; target >= 20,000 orders/s on SQLite)
and for the whole command path (read + validate + sync), and checks the outcome counts.
Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.io.incoming import read_incoming  # noqa: E402
from engine.service import Service  # noqa: E402
from engine.store import Store  # noqa: E402

TARGET = 20_000


def shopify_order(n: int, rng: random.Random, bump: bool) -> dict[str, object]:
    qty = 1 + (n % 3) + (5 if bump else 0)
    return {
        "id": 450789469 + n,
        "name": f"#{1000 + n}",
        "created_at": "2026-03-02T09:15:00-05:00",
        "updated_at": "2026-03-03T10:00:00-05:00" if bump else "2026-03-02T11:40:12-05:00",
        "cancelled_at": None,
        "fulfillment_status": None,
        "total_price": f"{10 + n % 90}.50",
        "tags": "vip, Wholesale" if n % 7 == 0 else "",
        "shipping_address": {
            "name": "Bob Norman",
            "country_code": "US",
            "province_code": "MA",
            "city": "Boston",
            "zip": "02134",
        },
        "shipping_lines": [{"title": "Standard Shipping", "code": None}],
        "line_items": [
            {"sku": f"SKU-{rng.randrange(5000):05d}", "quantity": qty, "requires_shipping": True},
            {"sku": f"SKU-{n % 5000:05d}", "quantity": 1, "requires_shipping": True},
        ],
    }


def write_file(path: Path, n_orders: int, changed: set[int]) -> None:
    rng = random.Random(11)
    with path.open("w") as fh:
        for n in range(n_orders):
            fh.write(json.dumps(shopify_order(n, rng, n in changed)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dibs-bench-sync-"))
    n = args.orders
    changed = set(random.Random(3).sample(range(n), int(n * args.changed)))
    first, second = folder / "day1.jsonl", folder / "day2.jsonl"
    write_file(first, n, set())
    write_file(second, n, changed)
    svc = Service(Store.open(args.db or f"sqlite:///{folder / 'bench.db'}"))

    t0 = time.perf_counter()
    read = read_incoming(first)
    t1 = time.perf_counter()
    report = svc.sync_orders(read.orders)
    t2 = time.perf_counter()
    assert len(report.created) == n, report.counts()
    print(f"first sync, {n} new orders: read {n / (t1 - t0):,.0f}/s, sync {n / (t2 - t1):,.0f}/s")

    t0 = time.perf_counter()
    read = read_incoming(second)
    t1 = time.perf_counter()
    report = svc.sync_orders(read.orders)
    t2 = time.perf_counter()
    counts = report.counts()
    assert counts["unchanged"] == n - len(changed) and counts["updated"] == len(changed), counts
    sync_rate = n / (t2 - t1)
    whole_rate = n / (t2 - t0)
    print(
        f"second sync, {n} orders ({len(changed)} changed): read+validate {t1 - t0:.2f}s, "
        f"sync {t2 - t1:.2f}s"
    )
    ratio = sync_rate / TARGET
    print(f"sync alone:   {sync_rate:,.0f} orders/s (target >= {TARGET:,}; ratio {ratio:.2f})")
    print(f"whole import: {whole_rate:,.0f} orders/s (ratio {whole_rate / TARGET:.2f})")

    t0 = time.perf_counter()
    report = svc.sync_orders(read.orders)
    t1 = time.perf_counter()
    assert report.counts()["unchanged"] == n
    print(f"same file again (100% unchanged): sync {n / (t1 - t0):,.0f} orders/s")


if __name__ == "__main__":
    main()
