"""Benchmark: how long a new order waits for `dibs run` to allocate it, and one tick's capacity.

    .venv/bin/python tests/bench/bench_latency.py [--seconds 60] [--rate 200] [--tick 1]
                                                  [--capacity-orders 50000]

1. Latency: `dibs run rules.yaml --tick 1` runs on a SQLite file with a `when new order then
   allocate` rule and ample stock. This process inserts a steady `--rate` new orders per second
   for `--seconds` (through `Service.add_orders`, in small batches), noting when each batch
   committed. Latency per order = the `at` of its `allocate` ledger row minus that commit time.
   Prints p50 / p90 / p99 / max.
2. Capacity: `--capacity-orders` pending new orders, then one `dibs run --once`; prints how many
   orders that one tick allocated and at what rate (the tick's own time, from its JSON log, and
   the wall time of the whole command).
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from engine.model import Line, Order  # noqa: E402
from engine.service import Service  # noqa: E402
from engine.store import Store, events, ledger  # noqa: E402

DIBS = str(Path(sys.executable).parent / "dibs")
RULES = "version: 1\nrules:\n  - name: everyone\n    rule: when new order then allocate\n"
SKUS = 500


def make_orders(start: int, count: int) -> list[Order]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Order(
            id=f"O{n:07d}",
            channel="web",
            placed_at=base + timedelta(seconds=n),
            lines=(
                Line(f"SKU-{n % SKUS:04d}", 1 + n % 2),
                Line(f"SKU-{(n * 7 + 3) % SKUS:04d}", 1),
            ),
        )
        for n in range(start, start + count)
    ]


def fresh_store(folder: Path, name: str) -> tuple[str, Store, Service]:
    url = f"sqlite:///{folder / name}"
    store = Store.open(url)
    service = Service(store)
    service.import_inventory([(f"SKU-{i:04d}", "main", 10_000_000) for i in range(SKUS)])
    with store.write() as conn:  # the starting stock is state, not news for the rules
        conn.execute(update(events).values(processed=True))
    return url, store, service


def pending(store: Store) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(events).where(events.c.processed.is_(False))
            ).scalar_one()
        )


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def bench_latency(folder: Path, rules: Path, seconds: float, rate: int, tick: float) -> None:
    url, store, service = fresh_store(folder, "latency.db")
    env = {k: v for k, v in os.environ.items() if k not in ("DIBS_DB", "DIBS_CLOCK_FILE")}
    log_path = folder / "run.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                DIBS,
                "--db",
                url,
                "run",
                str(rules),
                "--tick",
                str(tick),
                "--log-format",
                "json",
            ],  # each tick's own timing
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 30
        while "dibs run:" not in log_path.read_text():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"dibs run did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        committed: dict[str, datetime] = {}
        made = 0
        step = 0.05  # a small batch every 50 ms: rate/20 orders each
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(rate * elapsed) - made
            if due > 0:
                batch = make_orders(made, due)
                service.add_orders(batch)
                at = datetime.now(UTC)
                for o in batch:
                    committed[o.id] = at
                made += due
            time.sleep(max(0.0, started + (made / rate) + step - time.monotonic()))
        feed_seconds = time.monotonic() - started
        wait_until = time.monotonic() + 60
        while pending(store) and time.monotonic() < wait_until:
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
    with store.read() as conn:
        rows = conn.execute(
            select(ledger.c.order_id, func.min(ledger.c.at))
            .where(ledger.c.operation == "allocate")
            .group_by(ledger.c.order_id)
        ).all()
    store.dispose()
    latencies = sorted(
        ((at if at.tzinfo else at.replace(tzinfo=UTC)) - committed[oid]).total_seconds()
        for oid, at in rows
        if oid in committed
    )
    print(
        f"latency: {made} orders fed in {feed_seconds:.1f} s ({made / feed_seconds:.0f}/s), "
        f"dibs run --tick {tick}, exit {code} after SIGTERM"
    )
    print(f"  allocated: {len(latencies)} of {made}")
    if latencies:
        print(
            f"  insert -> allocated: p50 {percentile(latencies, 0.50):.3f} s, "
            f"p90 {percentile(latencies, 0.90):.3f} s, p99 {percentile(latencies, 0.99):.3f} s,"
            f" max {latencies[-1]:.3f} s, mean {statistics.fmean(latencies):.3f} s"
        )
    ticks = [
        json.loads(line)["tick"]
        for line in log_path.read_text().splitlines()
        if line.startswith("{") and '"tick"' in line
    ]
    if ticks:
        secs = sorted(t["seconds"] for t in ticks)
        print(
            f"  ticks that did work: {len(ticks)}, tick time p50 {percentile(secs, 0.5):.3f} s,"
            f" max {secs[-1]:.3f} s"
        )


def bench_capacity(folder: Path, rules: Path, count: int) -> None:
    url, store, service = fresh_store(folder, "capacity.db")
    for start in range(0, count, 10_000):
        service.add_orders(make_orders(start, min(10_000, count - start)))
    before = pending(store)
    env = {k: v for k, v in os.environ.items() if k not in ("DIBS_DB", "DIBS_CLOCK_FILE")}
    started = time.perf_counter()
    result = subprocess.run(
        [DIBS, "--db", url, "run", str(rules), "--once", "--log-format", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    tick = json.loads(result.stderr.strip().splitlines()[-1])["tick"]
    after = pending(store)
    store.dispose()
    allocated = tick["allocation"].get("allocated", 0)
    print(
        f"capacity: {before} pending order.created events; one `dibs run --once` tick took "
        f"{tick['events']} of them ({after} still pending)"
    )
    print(
        f"  allocated {allocated} orders: tick {tick['seconds']:.2f} s "
        f"({allocated / tick['seconds']:.0f} orders/s), whole command {wall:.2f} s "
        f"({allocated / wall:.0f} orders/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=200, help="new orders per second")
    parser.add_argument("--tick", type=float, default=1.0)
    parser.add_argument("--capacity-orders", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dibs-latency-") as tmp:
        folder = Path(tmp)
        rules = folder / "rules.yaml"
        rules.write_text(RULES)
        bench_latency(folder, rules, args.seconds, args.rate, args.tick)
        if args.capacity_orders:
            bench_capacity(folder, rules, args.capacity_orders)


if __name__ == "__main__":
    main()
