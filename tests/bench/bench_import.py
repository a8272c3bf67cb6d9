"""Benchmark: `dibs orders import` end to end, against a hand-written floor run beside it.

    .venv/bin/python tests/bench/bench_import.py [--orders 100000] [--skus 10000] [--rounds 3]
        [--stock-rows 20000] [--rss-orders 1000000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench]
        [--compare CHECKOUT]

Prints, for a JSONL file of N orders (~2.5 lines each, `gen_data.py`):
- `dibs orders import` as a user runs it (a whole process, start-up included): orders/s, wall
  and CPU seconds, peak RSS;
- the same import in process, split into its parse phase (reading and validating the file into
  orders, `IncomingSource.chunks`) and its write phase (the rest);
- the floor: a hand-written script (also a whole process) that `json.loads` each line and
  inserts the same rows (orders, lines, tags, one `order.created` event each) with sqlite3
  `executemany` in one transaction, on an identical empty dibs database (same tables, indexes
  and PRAGMAs); and the ratio dibs / floor (best of `--rounds` each, run alternately);
- the ceiling: the same script with every secondary index dropped and foreign keys off (what
  no schema that can answer dibs's queries beats), and the rate of its writes alone;
- CSV orders and `dibs inventory import` end to end (report; the inventory import against its
  own floor, per size and with reservations losing cover: `tests/bench/bench_stock.py`);
- with `--rss-orders`, the time and peak RSS of importing that many orders (report);
- with `--postgres`, the same end-to-end import on PostgreSQL (the database is emptied first);
- with `--compare CHECKOUT` (another checkout of dibs, e.g. main), that checkout's JSONL import
  run in the same rounds, alternately, for a before/after side by side.
Not a test: figures depend on the machine (the load average is printed); the ratio is what to
watch. The target (issue 15) is >= 40,000 orders/s end to end for JSONL on SQLite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.gen_data import generate  # noqa: E402
from tests.bench.procs import child_env  # noqa: E402

PYTHON = sys.executable

FLOOR = textwrap.dedent(
    """
    import json, sqlite3, sys, time
    started = time.perf_counter()
    path, db = sys.argv[1], sys.argv[2]
    now = "2026-12-01 12:00:00.000000"
    digest = "0" * 32
    orders, lines, tags, events = [], [], [], []
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            o = json.loads(raw)
            to = o.get("ship_to") or {}
            items = o["lines"]
            placed = o["placed_at"].replace("T", " ").replace("Z", ".000000")
            total = o.get("total")
            orders.append((
                o["id"], o["channel"], placed, "awaiting_fulfillment", "unallocated",
                to.get("name"), to.get("country"), to.get("state"), to.get("city"),
                to.get("postal_code"), o.get("shipping_method"),
                None if total is None else round(float(total) * 10000), "main", "{}",
                len(items), sum(x["qty"] for x in items), now, now, None, digest,
            ))
            for n, x in enumerate(items, 1):
                lines.append((o["id"], n, x["sku"], x["qty"], 0))
            for t in o.get("tags") or ():
                tags.append((o["id"], t))
            events.append((now, "order.created", o["id"], "{}", 0))
    parsed = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    bare = sys.argv[3:] == ["bare"]  # the ceiling: no secondary index, no foreign key check
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL",
                   "foreign_keys=" + ("OFF" if bare else "ON"), "cache_size=-65536"):
        conn.execute("PRAGMA " + pragma)
    if bare:
        for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall():
            conn.execute(f'DROP INDEX "{name}"')
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO orders (id, channel, placed_at, status, allocation_status, ship_to_name,"
        " ship_to_country, ship_to_state, ship_to_city, ship_to_postal_code, shipping_method,"
        " total, warehouse, attributes, line_count, unit_count, created_at, updated_at,"
        " channel_updated_at, sync_hash) VALUES (" + ", ".join("?" * 20) + ")", orders)
    conn.executemany("INSERT INTO order_lines (order_id, line_no, sku, qty, reserved)"
                     " VALUES (?, ?, ?, ?, ?)", lines)
    conn.executemany("INSERT INTO order_tags (order_id, tag) VALUES (?, ?)", tags)
    conn.executemany("INSERT INTO events (at, type, order_id, payload, processed)"
                     " VALUES (?, ?, ?, ?, ?)", events)
    conn.execute("COMMIT")
    done = time.perf_counter()
    print(f"{parsed - started:.3f} {done - parsed:.3f}")
    """
)


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run_child(
    cmd: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of one whole process, from its own rusage."""
    out_path = Path(tempfile.mkstemp(prefix="dibs-bench-out-")[1])
    try:
        with out_path.open("w") as out, open(os.devnull, "w") as null:
            started = time.perf_counter()
            child = subprocess.Popen(cmd, stdout=out, stderr=null, env=env, cwd=cwd)
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
            child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed with exit {child.returncode}")
        cpu = usage.ru_utime + usage.ru_stime
        return wall, cpu, usage.ru_maxrss // 1024, out_path.read_text()
    finally:
        out_path.unlink()


def dibs_env() -> dict[str, str]:
    return child_env(ROOT)


def dibs(db_url: str, *args: str) -> list[str]:
    return [PYTHON, "-m", "engine.cli", "--db", db_url, *args]


def fresh_copy(template: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, target)
    return target


def empty_database(folder: Path, inventory: Path) -> Path:
    """A dibs database with the schema and the inventory, checkpointed into one file."""
    template = folder / "template.db"
    env = dibs_env()
    subprocess.run(
        dibs(f"sqlite:///{template}", "inventory", "import", str(inventory)),
        check=True,
        env=env,
        capture_output=True,
    )
    import sqlite3

    conn = sqlite3.connect(template)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return template


def in_process(template: Path, work: Path, orders_path: Path) -> tuple[float, float]:
    """(parse s, whole import s) of the streamed import in this process."""
    from engine.io.incoming import IncomingSource
    from engine.memory import collector_paused
    from engine.service import Service, importing
    from engine.store import Store

    source = IncomingSource(orders_path)
    started = time.perf_counter()
    with collector_paused():
        count = sum(len(chunk) for chunk in source.chunks(importing.CHUNK))
    parse = time.perf_counter() - started
    source.refuse_if_problems()
    store = Store.open(f"sqlite:///{fresh_copy(template, work)}")
    started = time.perf_counter()
    created = Service(store).import_file(IncomingSource(orders_path))
    whole = time.perf_counter() - started
    store.dispose()
    assert len(created) == count
    return parse, whole


def sqlite_main(args: argparse.Namespace, folder: Path) -> None:
    data = generate(folder / "jsonl", args.orders, args.skus, "jsonl")
    csv_data = generate(folder / "csv", args.orders, args.skus, "csv")
    template = empty_database(folder, data.inventory_path)
    floor_script = folder / "floor.py"
    floor_script.write_text(FLOOR)
    env = dibs_env()
    print(f"data: {data.orders:,} orders, {data.lines:,} lines, {args.skus:,} SKUs; {load()}")
    ours: list[tuple[float, float, int]] = []
    floor: list[tuple[float, float, float, float]] = []
    ceiling: list[tuple[float, float, float, float]] = []
    theirs: list[tuple[float, float, int]] = []
    work = folder / "work.db"
    for _ in range(args.rounds):
        db = fresh_copy(template, work)
        wall, cpu, _, printed = run_child(
            [PYTHON, str(floor_script), str(data.orders_path), str(db)], env
        )
        parse_s, write_s = (float(x) for x in printed.split())
        floor.append((wall, cpu, parse_s, write_s))
        db = fresh_copy(template, work)
        wall, cpu, _, printed = run_child(
            [PYTHON, str(floor_script), str(data.orders_path), str(db), "bare"], env
        )
        parse_s, write_s = (float(x) for x in printed.split())
        ceiling.append((wall, cpu, parse_s, write_s))
        db = fresh_copy(template, work)
        wall, cpu, rss, _ = run_child(
            dibs(f"sqlite:///{db}", "orders", "import", str(data.orders_path)), env
        )
        ours.append((wall, cpu, rss))
        if args.compare:  # python -m puts the working directory first on sys.path
            db = fresh_copy(template, work)
            cmd = dibs(f"sqlite:///{db}", "orders", "import", str(data.orders_path))
            theirs.append(run_child(cmd, child_env(args.compare), args.compare)[:3])
    best = min(ours)
    base = min(floor)
    n = data.orders
    print(
        f"dibs orders import (JSONL, whole process): {n / best[0]:,.0f} orders/s, "
        f"{best[0]:.2f} s wall, {best[1]:.2f} s CPU, peak RSS {best[2]} MiB "
        f"(target >= 40,000 orders/s); all runs {[round(r[0], 2) for r in ours]}"
    )
    print(
        f"floor (json.loads + sqlite3 executemany, whole process): {n / base[0]:,.0f} orders/s, "
        f"{base[0]:.2f} s wall, {base[1]:.2f} s CPU (parse {base[2]:.2f} s, write {base[3]:.2f} s);"
        f" all runs {[round(r[0], 2) for r in floor]}"
    )
    print(f"ratio dibs / floor: wall {best[0] / base[0]:.2f}, CPU {best[1] / base[1]:.2f}")
    top = min(ceiling)
    print(
        f"ceiling (the floor into the same tables without their secondary indexes and foreign"
        f" keys): {n / top[0]:,.0f} orders/s, {top[0]:.2f} s wall (parse {top[2]:.2f} s, write"
        f" {top[3]:.2f} s); its writes alone: {n / top[3]:,.0f} orders/s"
    )
    if theirs:
        old = min(theirs)
        print(
            f"{args.compare} (JSONL, whole process): {n / old[0]:,.0f} orders/s, {old[0]:.2f} s "
            f"wall, {old[1]:.2f} s CPU; ratio to the floor: wall {old[0] / base[0]:.2f}, CPU "
            f"{old[1] / base[1]:.2f}; all runs {[round(r[0], 2) for r in theirs]}"
        )
    parse, whole = in_process(template, work, data.orders_path)
    print(
        f"in process: parse {n / parse:,.0f} orders/s ({parse:.2f} s), write "
        f"{n / (whole - parse):,.0f} orders/s ({whole - parse:.2f} s), together {whole:.2f} s"
    )
    db = fresh_copy(template, work)
    wall, cpu, rss, _ = run_child(
        dibs(f"sqlite:///{db}", "orders", "import", str(csv_data.orders_path)), env
    )
    print(
        f"dibs orders import (CSV, whole process): {n / wall:,.0f} orders/s, {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU, peak RSS {rss} MiB"
    )
    stock = folder / "stock.csv"
    rows = args.stock_rows
    with stock.open("w") as handle:
        handle.write("sku,on_hand,warehouse\n")
        for i in range(rows):
            handle.write(f"STOCK-{i:07d},{i % 500},{('main', 'east')[i % 2]}\n")
    db = fresh_copy(template, work)
    wall, cpu, rss, _ = run_child(dibs(f"sqlite:///{db}", "inventory", "import", str(stock)), env)
    print(
        f"dibs inventory import ({rows:,} rows, whole process): {rows / wall:,.0f} rows/s, "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss} MiB"
    )
    if args.rss_orders:
        big = generate(folder / "big", args.rss_orders, args.skus, "jsonl")
        db = fresh_copy(template, work)
        wall, cpu, rss, _ = run_child(
            dibs(f"sqlite:///{db}", "orders", "import", str(big.orders_path)), env
        )
        print(
            f"dibs orders import of {big.orders:,} orders (JSONL): {big.orders / wall:,.0f} "
            f"orders/s, {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss} MiB"
        )
    print(load())


def postgres_main(args: argparse.Namespace, folder: Path) -> None:
    from sqlalchemy import create_engine, text

    data = generate(folder / "pg", args.orders, args.skus, "jsonl")
    env = dibs_env()
    engine = create_engine(args.postgres)
    runs: list[tuple[float, float, int]] = []
    for _ in range(args.rounds):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        subprocess.run(
            dibs(args.postgres, "inventory", "import", str(data.inventory_path)),
            check=True,
            env=env,
            capture_output=True,
        )
        runs.append(
            run_child(dibs(args.postgres, "orders", "import", str(data.orders_path)), env)[:3]
        )
    engine.dispose()
    wall, cpu, rss = min(runs)
    print(
        f"PostgreSQL: dibs orders import (JSONL, whole process): {data.orders / wall:,.0f} "
        f"orders/s, {wall:.2f} s wall, {cpu:.2f} s CPU of dibs, peak RSS {rss} MiB; "
        f"all runs {[round(r[0], 2) for r in runs]}; {load()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs to take the best of")
    parser.add_argument("--stock-rows", type=int, default=20_000, help="inventory rows")
    parser.add_argument("--rss-orders", type=int, default=0, help="also import this many")
    parser.add_argument("--postgres", help="a PostgreSQL URL (its public schema is emptied)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--compare", type=Path, help="another checkout, run side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dibs-bench-import-") as tmp:
        if not args.skip_sqlite:
            sqlite_main(args, Path(tmp))
        if args.postgres:
            postgres_main(args, Path(tmp))


if __name__ == "__main__":
    main()
