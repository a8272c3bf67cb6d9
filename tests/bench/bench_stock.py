"""Benchmark: `dibs inventory import` end to end, against a hand-written floor run beside it.

    PYTHONPATH=$PWD .venv/bin/python tests/bench/bench_stock.py [--rows 20000,100000] [--rounds 3]
        [--below 0.2] [--compare CHECKOUT]

For each size N (a CSV of N `(sku, on_hand, warehouse)` rows, half `main`, half `east`), prints,
as a user runs it (a whole process, start-up included): rows/s, wall and CPU seconds:
- `new`: importing into an empty database (every row is inserted);
- `update`: importing again with other quantities (every row is updated, no reservations);
- the floor: a script (also a whole process) that reads the same CSV with `csv.reader` and
  inserts the same rows and one `inventory.changed` event each with sqlite3 `executemany` in one
  transaction, on an identical empty dibs database; and the ratio dibs `new` / floor;
- `below`: a database where a fraction `--below` of the keys has one order reserving 6 of its 10
  units; the file drops those keys to 3 (their orders become overallocated) and changes the
  rest; then `back`: the file that raises them to 10 again (covered again). How many orders
  changed status is printed, as a check.
Best of `--rounds` each (dibs and floor alternately). How it grows: the rows between two sizes
divided by the time between them (what an extra row costs); linear when that stays at the
`update` figure (a fixed start-up makes small files look slower).
With `--postgres URL`, `new` and `update` also on PostgreSQL. With `--compare CHECKOUT`, the
`update` and `below` imports also run with that checkout's code (e.g. /work/main), side by side.
Not a test: figures depend on the machine (the load average is printed); the ratio is what to
watch. The target is >= 20,000 rows/s end to end for 100k rows without reservations on SQLite.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_import import fresh_copy, load, run_child  # noqa: E402
from tests.bench.procs import child_env  # noqa: E402

PYTHON = sys.executable

FLOOR = textwrap.dedent(
    """
    import csv, json, sqlite3, sys
    path, db = sys.argv[1], sys.argv[2]
    now = "2026-12-01 12:00:00.000000"
    stock, events = [], []
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        for sku, on_hand, wh in rows:
            qty = int(on_hand)
            stock.append((sku, wh, qty, 0))
            payload = {"kind": "set", "sku": sku, "warehouse": wh, "delta": qty, "on_hand": qty}
            events.append((now, "inventory.changed", None, json.dumps(payload), 0))
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute("PRAGMA " + pragma)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO inventory (sku, warehouse, on_hand, allocated) VALUES (?, ?, ?, ?)", stock
    )
    conn.executemany("INSERT INTO events (at, type, order_id, payload, processed)"
                     " VALUES (?, ?, ?, ?, ?)", events)
    conn.execute("COMMIT")
    """
)


def env_for(checkout: Path) -> dict[str, str]:
    return child_env(checkout)


def dibs_import(checkout: Path, db: Path | str, csv_path: Path) -> tuple[float, float]:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    cmd = [PYTHON, "-m", "engine.cli", "--db", url, "inventory", "import"]
    # python -m puts the working directory first on sys.path: run from the checkout.
    here = os.getcwd()
    os.chdir(checkout)
    try:
        wall, cpu, _, _ = run_child([*cmd, str(csv_path)], env_for(checkout))
    finally:
        os.chdir(here)
    return wall, cpu


def write_csv(path: Path, rows: int, qty: object) -> Path:
    with path.open("w") as handle:
        handle.write("sku,on_hand,warehouse\n")
        for i in range(rows):
            handle.write(f"STOCK-{i:07d},{qty(i)},{('main', 'east')[i % 2]}\n")  # type: ignore[operator]
    return path


def checkpoint(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def empty_template(folder: Path) -> Path:
    from engine.store import Store

    template = folder / "empty.db"
    Store.open(f"sqlite:///{template}").dispose()
    checkpoint(template)
    return template


def reserved_template(folder: Path, rows: int, below: float) -> tuple[Path, int]:
    """Every key at 10 on hand; one key in 1/below holds an order reserving 6 of them."""
    from engine.model import Line, Order
    from engine.service import Service
    from engine.store import Store

    template = folder / f"reserved-{rows}.db"
    store = Store.open(f"sqlite:///{template}")
    svc = Service(store)
    svc.import_inventory([(f"STOCK-{i:07d}", ("main", "east")[i % 2], 10) for i in range(rows)])
    every = round(1 / below)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    orders = [
        Order(
            id=f"O{i:07d}",
            channel="web",
            placed_at=start + timedelta(seconds=i),
            lines=(Line(f"STOCK-{i:07d}", 6),),
            warehouse=("main", "east")[i % 2],
        )
        for i in range(0, rows, every)
    ]
    svc.add_orders(orders)
    svc.allocate(detail=False)
    store.dispose()
    checkpoint(template)
    return template, len(orders)


def statuses(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    found = dict(
        conn.execute("SELECT allocation_status, count(*) FROM orders GROUP BY 1").fetchall()
    )
    conn.close()
    return found


def best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(runs)


def line(what: str, rows: int, figure: tuple[float, float], extra: str = "") -> None:
    wall, cpu = figure
    print(f"  {what}: {rows / wall:,.0f} rows/s, {wall:.2f} s wall, {cpu:.2f} s CPU{extra}")


def no_reservations(args: argparse.Namespace, folder: Path, rows: int, empty: Path) -> float:
    """The figures without reservations; returns the best `update` wall time."""
    first = write_csv(folder / f"new-{rows}.csv", rows, lambda i: i % 500)
    again = write_csv(folder / f"again-{rows}.csv", rows, lambda i: i % 500 + 1)
    work, floor_db = folder / "work.db", folder / "floor.db"
    floor_script = folder / "floor.py"
    floor_script.write_text(FLOOR)
    new, update, floor = [], [], []
    for _ in range(args.rounds):
        new.append(dibs_import(ROOT, fresh_copy(empty, work), first))
        update.append(dibs_import(ROOT, work, again))
        target = fresh_copy(empty, floor_db)
        wall, cpu, _, _ = run_child(
            [PYTHON, str(floor_script), str(first), str(target)], dict(os.environ)
        )
        floor.append((wall, cpu))
    line("new (empty database)", rows, best(new))
    line("update (every row changes)", rows, best(update))
    line("floor (csv + sqlite3 executemany, whole process)", rows, best(floor))
    print(
        f"  ratio dibs new / floor: wall {best(new)[0] / best(floor)[0]:.2f}, "
        f"CPU {best(new)[1] / best(floor)[1]:.2f}"
    )
    if args.compare:
        old = [dibs_import(args.compare, work, again if n % 2 else first) for n in range(2)]
        line(f"update with {args.compare}", rows, best(old))
    return best(update)[0]


def postgres(args: argparse.Namespace, folder: Path, rows: int) -> None:
    """`new` and `update` on PostgreSQL (its public schema is emptied before each round)."""
    from sqlalchemy import create_engine, text

    from engine.store import Store

    engine = create_engine(args.postgres)
    new, update = [], []
    for _ in range(args.rounds):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        Store.open(args.postgres).dispose()  # the migrations, outside the figures
        new.append(dibs_import(ROOT, args.postgres, folder / f"new-{rows}.csv"))
        update.append(dibs_import(ROOT, args.postgres, folder / f"again-{rows}.csv"))
    line("PostgreSQL new", rows, best(new))
    line("PostgreSQL update", rows, best(update))
    if args.compare:
        old = [dibs_import(args.compare, args.postgres, folder / f"new-{rows}.csv")]
        line(f"PostgreSQL update with {args.compare}", rows, best(old))
    engine.dispose()


def with_reservations(args: argparse.Namespace, folder: Path, rows: int) -> None:
    work = folder / "work.db"
    reserved, n_orders = reserved_template(folder, rows, args.below)
    every = round(1 / args.below)
    drop = write_csv(
        folder / f"drop-{rows}.csv", rows, lambda i: 3 if i % every == 0 else 11 + i % 7
    )
    rise = write_csv(folder / f"rise-{rows}.csv", rows, lambda i: 10)
    below, back = [], []
    for _ in range(args.rounds):
        below.append(dibs_import(ROOT, fresh_copy(reserved, work), drop))
        after_drop = statuses(work)
        back.append(dibs_import(ROOT, work, rise))
    after_rise = statuses(work)
    line(
        f"below ({n_orders:,} keys of {rows:,} fall below their allocation)",
        rows,
        best(below),
        f"; statuses after {after_drop}",
    )
    line("back (the same keys covered again)", rows, best(back), f"; statuses after {after_rise}")
    if args.compare:
        old = [dibs_import(args.compare, fresh_copy(reserved, work), drop)]
        line(f"below with {args.compare}", rows, best(old), f"; statuses after {statuses(work)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="20000,100000", help="sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="runs to take the best of")
    parser.add_argument("--below", type=float, default=0.2, help="fraction of keys reserved")
    parser.add_argument("--compare", type=Path, help="another checkout, run side by side")
    parser.add_argument("--postgres", help="also on this PostgreSQL URL (its schema is emptied)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dibs-bench-stock-") as tmp:
        folder = Path(tmp)
        empty = empty_template(folder)
        for rows in sizes:
            print(f"{rows:,} rows ({load()}):")
            walls.append(no_reservations(args, folder, rows, empty))
            with_reservations(args, folder, rows)
            if args.postgres:
                postgres(args, folder, rows)
    for (small, t_small), (big, t_big) in zip(
        zip(sizes, walls, strict=True), zip(sizes[1:], walls[1:], strict=True), strict=False
    ):
        print(
            f"growth, update {small:,} -> {big:,} rows: the extra rows at "
            f"{(big - small) / (t_big - t_small):,.0f} rows/s (linear: about the 'update' figure "
            f"of {big:,}; start-up ~{t_small - small * (t_big - t_small) / (big - small):.2f} s)"
        )
    print(load())


if __name__ == "__main__":
    main()
