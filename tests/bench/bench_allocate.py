"""Benchmark: `dibs allocate --all` as a user runs it, against the lean floor (issue #15).

    PYTHONPATH=$PWD .venv/bin/python tests/bench/bench_allocate.py [--orders 100000]
        [--skus 10000] [--rounds 2] [--copies 10] [--postgres URL] [--no-sqlite]
        [--no-schema-copy] [--compare CHECKOUT] [--instructions]

Seeds dibs' database (an import through the service), builds the lean copy of the same rows
(tests/bench/lean_floor.py: inventory by SKU, orders by id, lines by id with an index on
order, one ledger row per reservation and no secondary index), then per round, on fresh
copies: the lean floor script as its own process, `dibs allocate --all` as its own process
(start-up included; its peak RSS from wait4), and the hand-written sqlite3 script of before on
dibs' own schema (in process: what the schema alone costs). Prints the times, the ratio dibs /
lean floor (target <= 2.0), and whether dibs, the floor and the schema copy made the same
reservations (every (order, line, qty)) and the same order statuses.
`--copies 10` repeats the seeded orders ten times in SQL: the 1M-order memory run (peak RSS
target < 300 MB). `--postgres URL` runs the same on PostgreSQL (databases bench_allocate_*).
`--compare /work/main` also runs that checkout's `dibs allocate --all` in each round (before).
`--instructions` then counts the instructions of one floor and one dibs process under valgrind
(tests/bench/instructions.py): a ratio a busy machine does not move, though it leaves out the
kernel's share and cache misses (use `--orders 20000`: valgrind is ~30 times slower).
Not a test: figures depend on the machine; the ratio measured side by side is what to watch.

    .venv/bin/python tests/bench/bench_allocate.py --kits [--orders 100000] [--skus 10000]

SPEC §12 mode: the same orders with 10% of their lines turned into kit lines (200 kits of 2-3
components), stock spread over three warehouses, `allocate --all --from main,east,west`, against
the plain run (one warehouse, no kits). Prints both times and their ratio (target <= 1.3).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor_data import (  # noqa: E402
    Run,
    build_lean_sqlite,
    copy_sqlite,
    dibs_argv,
    floor_argv,
    load_postgres,
    multiply,
    pg_admin,
    pg_digest,
    pg_url,
    run_process,
    sqlite_digest,
)
from instructions import available, count_instructions  # noqa: E402


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


def _seed_plain(folder: Path, n_orders: int, n_skus: int) -> tuple[Path, int]:
    """dibs' database with the bench's orders and stock (through the service, as an import)."""
    orders_path, inventory_path = write_data(folder, n_orders, n_skus)
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
    print(
        f"import (in process): parse {n_orders / (t1 - t0):,.0f} orders/s, write "
        f"{n_orders / (t2 - t1):,.0f} orders/s, end to end {n_orders / (t2 - t0):,.0f} orders/s"
    )
    return seeded, n_lines


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _sqlite_rounds(
    folder: Path, seeded: Path, lean: Path, rounds: int, schema_copy: bool, compare: Path | None
) -> None:
    floor_runs, dibs_runs, schema_runs, other_runs = [], [], [], []
    other = folder / "other.db"
    same = True
    for _ in range(rounds):
        theirs, ours, schema = folder / "lean-run.db", folder / "dibs-run.db", folder / "schema.db"
        copy_sqlite(lean, theirs)
        copy_sqlite(seeded, ours)
        floor_runs.append(run_process(floor_argv(f"sqlite:///{theirs}")))
        dibs_runs.append(run_process(dibs_argv(f"sqlite:///{ours}")))
        mine, lean_d = sqlite_digest(ours, False), sqlite_digest(theirs, True)
        same = same and mine == lean_d
        if compare is not None:
            copy_sqlite(seeded, other)
            other_runs.append(run_process(dibs_argv(f"sqlite:///{other}"), compare))
            same = same and sqlite_digest(other, False) == mine
        if schema_copy:
            copy_sqlite(seeded, schema)
            t0 = time.perf_counter()
            baseline_allocate(schema)
            schema_runs.append(time.perf_counter() - t0)
            same = same and mine[:3] == sqlite_digest(schema, False)[:3]
        print(f"  round: dibs {mine}, lean {lean_d}; {_load()}")
    _print_figures(floor_runs, dibs_runs, same, schema_runs)
    if other_runs:
        best = min(r.cpu for r in other_runs)
        print(
            f"`dibs allocate --all` of {compare} (whole process): best "
            f"{min(r.wall for r in other_runs):.2f} s wall, {best:.2f} s CPU, peak "
            f"{max(r.peak for r in other_runs):.0f} MiB; CPU ratio to the lean floor "
            f"{best / min(r.cpu for r in floor_runs):.2f}"
        )


def _instruction_counts(folder: Path, seeded: Path, lean: Path, compare: Path | None) -> None:
    """One floor and one dibs process (and `compare`'s dibs) under valgrind, on fresh copies,
    after the timed rounds (so the bytecode is cached): the ratio of their instructions."""
    if not available():
        raise SystemExit("--instructions needs valgrind (apt-get install -y valgrind)")
    theirs, ours = folder / "lean-count.db", folder / "dibs-count.db"
    copy_sqlite(lean, theirs)
    copy_sqlite(seeded, ours)
    floor = count_instructions(floor_argv(f"sqlite:///{theirs}"))
    dibs = count_instructions(dibs_argv(f"sqlite:///{ours}"))
    print(
        f"instructions (valgrind): lean floor {floor / 1e9:.2f} G, `dibs allocate --all` "
        f"{dibs / 1e9:.2f} G: ratio {dibs / floor:.2f}"
    )
    if compare is not None:
        other = folder / "other-count.db"
        copy_sqlite(seeded, other)
        theirs_dibs = count_instructions(dibs_argv(f"sqlite:///{other}"), compare)
        print(f"  {compare}: {theirs_dibs / 1e9:.2f} G: ratio {theirs_dibs / floor:.2f}")


def _print_figures(
    floor_runs: list[Run], dibs_runs: list[Run], same: bool, schema_runs: list[float] | None = None
) -> None:
    floor, dibs = min(r.wall for r in floor_runs), min(r.wall for r in dibs_runs)
    floor_cpu, dibs_cpu = min(r.cpu for r in floor_runs), min(r.cpu for r in dibs_runs)
    for name, runs in (("lean floor", floor_runs), ("`dibs allocate --all`", dibs_runs)):
        print(
            f"{name} (whole process): best {min(r.wall for r in runs):.2f} s wall, "
            f"{min(r.cpu for r in runs):.2f} s CPU, peak {max(r.peak for r in runs):.0f} MiB; "
            f"runs (wall/CPU) {[(round(r.wall, 2), round(r.cpu, 2)) for r in runs]}"
        )
    if schema_runs:
        best = min(schema_runs)
        print(
            f"hand-written sqlite3 on dibs' schema (in process, no start-up): {best:.2f} s wall, "
            f"{best / floor:.2f}x the lean floor's wall"
        )
    print(
        f"ratio dibs / lean floor: wall {dibs / floor:.2f}, CPU {dibs_cpu / floor_cpu:.2f} "
        f"(target <= 2.0); same reservations and statuses: {same}"
    )
    # The machine's speed drifts between rounds; each round's two processes run back to back,
    # so the ratio within a round is the figure drift moves least.
    per_round = sorted(d.cpu / f.cpu for f, d in zip(floor_runs, dibs_runs, strict=True))
    print(
        f"  per round (CPU): median {statistics.median(per_round):.2f}, "
        f"{[round(r, 2) for r in per_round]}"
    )
    print(f"  dibs said: {dibs_runs[-1].err.strip().splitlines()[-1:]}; {_load()}")


def _postgres_rounds(url: str, seeded: Path, rounds: int) -> None:
    base = "bench_allocate_seed"
    admin = pg_admin(url)
    admin.execute(f"DROP DATABASE IF EXISTS {base}")
    admin.execute(f"CREATE DATABASE {base}")
    load_postgres(seeded, pg_url(url, base))
    floor_runs, dibs_runs = [], []
    same = True
    for _ in range(rounds):
        for name in ("bench_allocate_lean", "bench_allocate_dibs"):
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {base}")
        lean_url = pg_url(url, "bench_allocate_lean") + "?options=-csearch_path%3Dlean"
        floor_runs.append(run_process(floor_argv(lean_url.replace("+psycopg", ""))))
        dibs_url = pg_url(url, "bench_allocate_dibs")
        dibs_runs.append(run_process(dibs_argv(dibs_url)))
        mine = pg_digest(dibs_url, False)
        lean_d = pg_digest(pg_url(url, "bench_allocate_lean"), True)
        same = same and mine == lean_d
        print(f"  round: dibs {mine}, lean {lean_d}; {_load()}")
    print("PostgreSQL:")
    _print_figures(floor_runs, dibs_runs, same)
    for name in ("bench_allocate_lean", "bench_allocate_dibs", base):
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="allocation runs to take the best of")
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="then repeat the orders this many times in SQL (ids suffixed, stock multiplied): "
        "--orders 100000 --copies 10 is the 1M-order memory run",
    )
    parser.add_argument("--postgres", metavar="URL", help="also on PostgreSQL (its own database)")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="CHECKOUT",
        help="also run another checkout's dibs side by side on SQLite (e.g. /work/main: before)",
    )
    parser.add_argument(
        "--no-schema-copy",
        action="store_true",
        help="skip the in-process script on dibs' schema (it holds every row: not for 1M)",
    )
    parser.add_argument("--kits", action="store_true", help="SPEC §12: warehouses and kits")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="after the timed rounds, count the instructions of one floor and one dibs process "
        "under valgrind (deterministic; ~30x slower: use --orders 20000)",
    )
    args = parser.parse_args()
    if args.kits:
        kits_main(args)
        return
    with tempfile.TemporaryDirectory(prefix="dibs-bench-") as tmp:
        folder = Path(tmp)
        seeded, n_lines = _seed_plain(folder, args.orders, args.skus)
        multiply(seeded, args.copies)
        lean = folder / "lean.db"
        build_lean_sqlite(seeded, lean)
        total = args.orders * args.copies
        print(f"data: {total} orders, {n_lines * args.copies} lines, {args.skus} SKUs; {_load()}")
        if not args.no_sqlite:
            print("SQLite:")
            _sqlite_rounds(folder, seeded, lean, args.rounds, not args.no_schema_copy, args.compare)
            if args.instructions:
                _instruction_counts(folder, seeded, lean, args.compare)
        if args.postgres:
            _postgres_rounds(args.postgres, seeded, args.rounds)


if __name__ == "__main__":
    main()
