"""Benchmark: import and `allocate --all` at scale, against a hand-written sqlite3 baseline.

    .venv/bin/python tests/bench/bench_allocate.py [--orders 100000] [--skus 10000]

Prints: import speed (orders/s, file parse and database write), the time of dibs' batch
allocation and of a hand-written sqlite3 script that does the same reads, decisions and writes
(reservations, statuses, line counters, one ledger row per reservation) on an identical copy of
the database, their ratio (target <= 1.5), that both produced the same reservations, and the
peak memory (max RSS) of `dibs allocate --all` run as a user would run it.
Not a test: figures depend on the machine; the ratio is what to watch.

    .venv/bin/python tests/bench/bench_allocate.py --kits [--orders 100000] [--skus 10000]

SPEC §12 mode: the same orders with 10% of their lines turned into kit lines (200 kits of 2-3
components), stock spread over three warehouses, `allocate --all --from main,east,west`, against
the plain run (one warehouse, no kits). Prints both times and their ratio (target <= 1.3).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.io.imports import read_orders  # noqa: E402
from engine.service import Service  # noqa: E402
from engine.store import Store  # noqa: E402


def write_data(folder: Path, n_orders: int, n_skus: int, seed: int = 7) -> tuple[Path, Path]:
    """A JSONL order file (~2.5 lines per order) and an inventory covering ~65% of demand."""
    rng = random.Random(seed)
    skus = [f"SKU-{i:05d}" for i in range(n_skus)]
    demand = dict.fromkeys(skus, 0)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    orders_path = folder / "orders.jsonl"
    with orders_path.open("w") as fh:
        for n in range(n_orders):
            lines = []
            for sku in rng.sample(skus, rng.choice((1, 2, 2, 3, 3, 4))):
                qty = rng.choice((1, 1, 1, 2, 3))
                demand[sku] += qty
                lines.append({"sku": sku, "qty": qty})
            placed = start + timedelta(seconds=n * 7 + rng.randint(0, 600))
            fh.write(
                json.dumps(
                    {
                        "id": f"O{n:07d}",
                        "channel": rng.choice(("shopify", "amazon", "ebay")),
                        "placed_at": placed.isoformat(),
                        "shipping_method": rng.choice(("ground", "two_day", "overnight")),
                        "ship_to": {"country": rng.choice(("US", "CA", "GB"))},
                        "total": f"{rng.randint(5, 500)}.{rng.randint(0, 99):02d}",
                        "lines": lines,
                    }
                )
                + "\n"
            )
    inventory_path = folder / "inventory.csv"
    with inventory_path.open("w") as fh:
        fh.write("sku,on_hand\n")
        for sku in skus:
            fh.write(f"{sku},{int(demand[sku] * rng.uniform(0.4, 0.9))}\n")
    return orders_path, inventory_path


def baseline_allocate(path: Path) -> int:
    """The hand-written comparison: plain sqlite3, one ordered read, decisions, bulk writes."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    stock = {
        (s, w): [h, a]
        for s, w, h, a in con.execute("SELECT sku, warehouse, on_hand, allocated FROM inventory")
    }
    rows = con.execute(
        "SELECT o.id, o.allocation_status, o.warehouse, l.line_no, l.sku, l.qty, l.reserved "
        "FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "WHERE o.status = 'awaiting_fulfillment' "
        "AND o.allocation_status NOT IN ('allocated', 'overallocated') "
        "ORDER BY o.placed_at, o.id, l.line_no"
    )
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    res, led, line_upd, status_upd = [], [], [], []
    touched = set()

    def settle(oid: str, before: str, wh: str, lines: list[tuple[int, str, int, int]]) -> None:
        grants = []
        for _, sku, qty, reserved in lines:  # policy "lines": all missing units or none
            missing = qty - reserved
            entry = stock.get((sku, wh))
            left = entry[0] - entry[1] if entry else 0
            grant = missing if 0 < missing <= left else 0
            if grant:
                entry[1] += grant  # type: ignore[index]
            grants.append(grant)
        for (line_no, sku, _qty, reserved), grant in zip(lines, grants, strict=True):
            if grant:
                res.append((oid, line_no, sku, wh, grant, 1, now))
                led.append((now, oid, line_no, sku, wh, grant, "allocate", "cli"))
                line_upd.append((reserved + grant, oid, line_no))
                touched.add((sku, wh))
        full = all(r + g >= q for (_, _, q, r), g in zip(lines, grants, strict=True))
        after = (
            "allocated"
            if full
            else (
                "partially_allocated"
                if any(r + g for (_, _, _, r), g in zip(lines, grants, strict=True))
                else "could_not_allocate"
            )
        )
        if after != before:
            status_upd.append((after, now, oid))

    current: tuple[str, str, str] | None = None
    lines: list[tuple[int, str, int, int]] = []
    for oid, before, wh, line_no, sku, qty, reserved in rows:
        if current and current[0] != oid:
            settle(*current, lines)
            lines = []
        current = (oid, before, wh)
        lines.append((line_no, sku, qty, reserved))
    if current:
        settle(*current, lines)
    con.executemany(
        "INSERT INTO reservations (order_id, line_no, sku, warehouse, qty, covered,"
        " reserved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        res,
    )
    con.executemany(
        "INSERT INTO ledger (at, order_id, line_no, sku, warehouse, delta, operation,"
        " actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        led,
    )
    con.executemany(
        "UPDATE order_lines SET reserved = ? WHERE order_id = ? AND line_no = ?", line_upd
    )
    con.executemany(
        "UPDATE orders SET allocation_status = ?, updated_at = ? WHERE id = ?", status_upd
    )
    con.executemany(
        "UPDATE inventory SET allocated = ? WHERE sku = ? AND warehouse = ?",
        [(stock[k][1], *k) for k in touched],
    )
    con.execute("COMMIT")
    con.close()
    return len(res)


def reservation_digest(path: Path) -> tuple[int, int, int]:
    con = sqlite3.connect(path)
    row = con.execute(
        "SELECT count(*), sum(qty), (SELECT sum(allocated) FROM inventory) FROM reservations"
    ).fetchone()
    con.close()
    return tuple(row)  # type: ignore[return-value]


WAREHOUSES = ("main", "east", "west")


def write_kit_data(
    folder: Path, n_orders: int, n_skus: int, seed: int = 7
) -> tuple[Path, Path, dict[str, list[tuple[str, int]]]]:
    """The orders of `write_data` with 10% of lines made kit lines, and stock (the same ~65%
    of demand, components included) spread 50/30/20 over three warehouses."""
    rng = random.Random(seed)
    skus = [f"SKU-{i:05d}" for i in range(n_skus)]
    kits = {
        f"KIT-{k:03d}": [
            (sku, rng.choice((1, 1, 2))) for sku in rng.sample(skus, rng.choice((2, 3)))
        ]
        for k in range(200)
    }
    names = list(kits)
    plain, _ = write_data(folder, n_orders, n_skus, seed)
    demand = dict.fromkeys(skus, 0)
    orders_path = folder / "orders-kits.jsonl"
    with plain.open() as src, orders_path.open("w") as out:
        for text in src:
            record = json.loads(text)
            for line in record["lines"]:
                if rng.random() < 0.10:
                    line["sku"] = rng.choice(names)
                for sku, per in kits.get(line["sku"], [(line["sku"], 1)]):
                    demand[sku] += line["qty"] * per
            out.write(json.dumps(record) + "\n")
    inventory_path = folder / "inventory-kits.csv"
    with inventory_path.open("w") as fh:
        fh.write("sku,on_hand,warehouse\n")
        for sku in skus:
            total = int(demand[sku] * rng.uniform(0.4, 0.9))
            first, second = int(total * 0.5), int(total * 0.3)
            for wh, qty in zip(WAREHOUSES, (first, second, total - first - second), strict=True):
                fh.write(f"{sku},{qty},{wh}\n")
    return orders_path, inventory_path, kits


def _seed(path: Path, orders_path: Path, inventory_path: Path, kits: Any) -> None:
    from engine.io.imports import read_inventory

    store = Store.open(f"sqlite:///{path}")
    service = Service(store)
    service.import_inventory(read_inventory(inventory_path))
    if kits:
        service.set_kits(kits)
    service.add_orders(read_orders(orders_path))
    store.dispose()


def _timed_allocate(
    seeded: Path, copy: Path, warehouses: list[str] | None
) -> tuple[float, float, int]:
    shutil.copy(seeded, copy)
    for suffix in ("-wal", "-shm"):
        if Path(f"{seeded}{suffix}").exists():
            shutil.copy(f"{seeded}{suffix}", f"{copy}{suffix}")
    store = Store.open(f"sqlite:///{copy}")
    wall, cpu = time.perf_counter(), time.process_time()
    report = Service(store).allocate(warehouses=warehouses)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.dispose()
    return wall, cpu, report.reserved_units


def kits_main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="dibs-bench-kits-") as tmp:
        folder = Path(tmp)
        kit_orders, kit_stock, kits = write_kit_data(folder, args.orders, args.skus)
        plain_db, kits_db = folder / "plain.db", folder / "kits.db"
        _seed(plain_db, folder / "orders.jsonl", folder / "inventory.csv", None)
        _seed(kits_db, kit_orders, kit_stock, kits)
        plain, routed, own = [], [], []
        for _ in range(args.rounds):
            plain.append(_timed_allocate(plain_db, folder / "p.db", None))
            routed.append(_timed_allocate(kits_db, folder / "k.db", list(WAREHOUSES)))
            own.append(_timed_allocate(kits_db, folder / "o.db", None))
        best = {
            name: min(runs) for name, runs in (("plain", plain), ("from", routed), ("own", own))
        }
        print(f"data: {args.orders} orders, {args.skus} SKUs, 200 kits, 10% kit lines")
        for name, label in (
            ("plain", "one warehouse, no kits"),
            ("from", "3 warehouses + kits, --from main,east,west"),
            ("own", "3 warehouses + kits, each order's own warehouse"),
        ):
            wall, cpu, units = best[name]
            print(f"  {label}: {wall:.2f} s wall, {cpu:.2f} s CPU, {units:,} units reserved")
        for name in ("from", "own"):
            print(
                f"ratio {name} / plain: wall {best[name][0] / best['plain'][0]:.2f}, "
                f"CPU {best[name][1] / best['plain'][1]:.2f} (target <= 1.3)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="allocation runs to take the best of")
    parser.add_argument("--kits", action="store_true", help="SPEC §12: warehouses and kits")
    args = parser.parse_args()
    if args.kits:
        kits_main(args)
        return
    with tempfile.TemporaryDirectory(prefix="dibs-bench-") as tmp:
        folder = Path(tmp)
        orders_path, inventory_path = write_data(folder, args.orders, args.skus)
        seeded = folder / "seeded.db"
        store = Store.open(f"sqlite:///{seeded}")
        service = Service(store)
        from engine.io.imports import read_inventory

        service.import_inventory(read_inventory(inventory_path))
        t0 = time.perf_counter()
        parsed = read_orders(orders_path)
        t1 = time.perf_counter()
        service.add_orders(parsed)
        t2 = time.perf_counter()
        n_lines = sum(len(o.lines) for o in parsed)
        store.dispose()
        del parsed
        print(f"data: {args.orders} orders, {n_lines} lines, {args.skus} SKUs")
        print(
            f"import: parse {args.orders / (t1 - t0):,.0f} orders/s, write "
            f"{args.orders / (t2 - t1):,.0f} orders/s, end to end "
            f"{args.orders / (t2 - t0):,.0f} orders/s ({t2 - t0:.2f} s)"
        )

        dibs_times, base_times = [], []
        for _ in range(args.rounds):
            ours, theirs = folder / "ours.db", folder / "theirs.db"
            for copy in (ours, theirs):
                shutil.copy(seeded, copy)
                for suffix in ("-wal", "-shm"):
                    if Path(f"{seeded}{suffix}").exists():
                        shutil.copy(f"{seeded}{suffix}", f"{copy}{suffix}")
            t0 = time.perf_counter()
            base_count = baseline_allocate(theirs)
            base_times.append(time.perf_counter() - t0)
            s = Store.open(f"sqlite:///{ours}")
            t0 = time.perf_counter()
            report = Service(s).allocate()
            dibs_times.append(time.perf_counter() - t0)
            s.dispose()
            same = reservation_digest(ours) == reservation_digest(theirs)
        best_dibs, best_base = min(dibs_times), min(base_times)
        print(
            f"allocate --all: dibs {best_dibs:.2f} s, hand-written sqlite3 {best_base:.2f} s, "
            f"ratio {best_dibs / best_base:.2f} (target <= 1.5); "
            f"{len(report.results)} orders, {base_count} reservations; "
            f"same reservations as the baseline: {same}"
        )
        print(
            f"  {args.orders / best_dibs:,.0f} orders/s; all runs dibs "
            f"{[round(t, 2) for t in dibs_times]}, baseline {[round(t, 2) for t in base_times]}"
        )

        cli_db = folder / "cli.db"
        shutil.copy(seeded, cli_db)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "dibs"),
                "--db",
                f"sqlite:///{cli_db}",
                "allocate",
                "--all",
            ],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(
            f"`dibs allocate --all` as a command: {wall:.2f} s wall, peak memory "
            f"{max(peak, before) / 1024:.0f} MiB (max RSS)"
        )


if __name__ == "__main__":
    main()
