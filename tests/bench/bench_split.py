"""Benchmark: the splits of a `when new order then allocate, split` tick.

    .venv/bin/python tests/bench/bench_split.py [--orders 5000] [--rounds 3] [--compare CHECKOUT]

Seeds a SQLite database with N new orders (default 5,000) of 2–4 lines, their `order.created`
events pending, and stock for only some of their SKUs (the others have none), so that most of
them end up partially allocated. Then, on identical copies and as a user runs it (`dibs run
FILE --once`, a whole process), a tick of `when new order then allocate` and one of `when new
order then allocate, split`: the difference of the two is what the splits cost, printed in
total and per split (best of `--rounds` each, run alternately). With `--compare CHECKOUT`
(another checkout of dibs, e.g. main) that checkout's two ticks run in the same rounds, and
the script checks that both produced the same database (every order, line, tag, reservation,
stock counter, ledger and event row, timestamps left out). Prints the load average. Not a
test: figures depend on the machine; compare side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.procs import child_env  # noqa: E402

PYTHON = sys.executable
RULES = {
    "allocate": "version: 1\nrules:\n  - name: take\n    rule: when new order then allocate\n",
    "split": "version: 1\nrules:\n  - name: take\n    rule: when new order then allocate, split\n",
}
#: What "the same database" compares: no timestamps (each run has its own clock).
_DIGEST_SQL = (
    "SELECT id, channel, status, allocation_status, line_count, unit_count, warehouse, "
    "attributes, total FROM orders ORDER BY id",
    "SELECT order_id, line_no, sku, qty, reserved FROM order_lines ORDER BY order_id, line_no",
    "SELECT order_id, tag FROM order_tags ORDER BY order_id, tag",
    "SELECT seq, order_id, line_no, sku, warehouse, qty, covered FROM reservations ORDER BY seq",
    "SELECT sku, warehouse, on_hand, allocated FROM inventory ORDER BY sku, warehouse",
    "SELECT id, order_id, line_no, sku, warehouse, delta, operation, rule, actor FROM ledger "
    "ORDER BY id",
    "SELECT id, type, order_id, payload, processed FROM events ORDER BY id",
)


def write_data(folder: Path, n_orders: int, seed: int = 11) -> tuple[Path, Path]:
    """Orders of 2–4 distinct SKUs; 60% of the SKUs are stocked for all their demand, the
    rest have none: ~70% of the orders end partially allocated, the rest whole or not at all."""
    rng = random.Random(seed)
    skus = [f"SKU-{i:04d}" for i in range(400)]
    stocked = set(rng.sample(skus, int(len(skus) * 0.6)))
    demand = dict.fromkeys(skus, 0)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    orders_path = folder / "orders.jsonl"
    with orders_path.open("w") as fh:
        for n in range(n_orders):
            lines = []
            for sku in rng.sample(skus, rng.choice((2, 3, 4))):
                qty = rng.choice((1, 1, 2, 3))
                demand[sku] += qty
                lines.append({"sku": sku, "qty": qty})
            order = {
                "id": f"S{n:06d}",
                "channel": rng.choice(("shopify", "amazon")),
                "placed_at": (start + timedelta(seconds=n * 7)).isoformat(),
                "shipping_method": rng.choice(("ground", "two_day")),
                "ship_to": {"country": rng.choice(("US", "CA"))},
                "tags": rng.sample(["gift", "vip", "wholesale"], rng.choice((0, 1, 2))),
                "lines": lines,
            }
            fh.write(json.dumps(order) + "\n")
    inventory_path = folder / "inventory.csv"
    with inventory_path.open("w") as fh:
        fh.write("sku,on_hand\n")
        for sku in skus:
            fh.write(f"{sku},{demand[sku] if sku in stocked else 0}\n")
    return orders_path, inventory_path


def dibs(root: Path, db: Path, *args: str) -> float:
    """Run one `dibs` process of the checkout at `root`; its wall time in seconds."""
    started = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "-m", "engine.cli", "--db", f"sqlite:///{db}", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=child_env(root),
        cwd=root,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        failed = f"dibs {' '.join(args)} failed ({proc.returncode})"
        raise SystemExit(f"{failed}:\n{proc.stderr.decode()}")
    return wall


def copy_db(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{target}{suffix}").exists():
            Path(f"{target}{suffix}").unlink()
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


def digest(db: Path) -> tuple[str, dict[str, int]]:
    """A hash of the database's content without timestamps, and a few counts."""
    con = sqlite3.connect(db)
    h = hashlib.sha256()
    for sql in _DIGEST_SQL:
        for row in con.execute(sql):
            h.update(repr(tuple(row)).encode())
    counts = dict(
        con.execute("SELECT allocation_status, count(*) FROM orders GROUP BY allocation_status")
    )
    con.close()
    return h.hexdigest(), counts


def split_count(db: Path) -> int:
    con = sqlite3.connect(db)
    (n,) = con.execute("SELECT count(*) FROM orders WHERE id LIKE '%-_'").fetchone()
    con.close()
    return int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout, run side by side")
    args = parser.parse_args()
    sides = {"this": ROOT} | ({str(args.compare): args.compare.resolve()} if args.compare else {})
    with tempfile.TemporaryDirectory(prefix="dibs-bench-split-") as tmp:
        folder = Path(tmp)
        orders_path, inventory_path = write_data(folder, args.orders)
        for name, text in RULES.items():
            (folder / f"{name}.yaml").write_text(text)
        seeded = folder / "seeded.db"
        dibs(ROOT, seeded, "inventory", "import", str(inventory_path))
        dibs(ROOT, seeded, "orders", "import", str(orders_path))
        print(f"SQLite: {args.orders} new orders of 2-4 lines; load {os.getloadavg()[0]:.2f}")
        best: dict[tuple[str, str], float] = {}
        digests: dict[str, tuple[str, dict[str, int]]] = {}
        splits = 0
        for _ in range(args.rounds):  # alternate, best of N: no warm-up bias
            for side, root in sides.items():
                for rules in RULES:
                    db = copy_db(seeded, folder / "run.db")
                    wall = dibs(root, db, "run", str(folder / f"{rules}.yaml"), "--once")
                    best[side, rules] = min(best.get((side, rules), wall), wall)
                    if rules == "split":
                        digests[side] = digest(db)
                        splits = split_count(db)
        for side in sides:
            total = best[side, "split"] - best[side, "allocate"]
            print(
                f"  {side}: tick allocate {best[side, 'allocate']:.2f} s, allocate + split "
                f"{best[side, 'split']:.2f} s: {splits} splits in {total:.2f} s, "
                f"{total * 1000 / max(splits, 1):.2f} ms per split; "
                f"statuses {digests[side][1]}"
            )
        if args.compare:
            same = len({d for d, _ in digests.values()}) == 1
            ours, theirs = (best[s, "split"] - best[s, "allocate"] for s in sides)
            print(f"  splits {theirs / ours:.1f}x as fast as {args.compare}; same database: {same}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
