"""Benchmark: one `dibs run --once` tick against `dibs allocate --all` of the same new orders.

    .venv/bin/python tests/bench/bench_tick.py [--orders 100000] [--skus 10000] [--rounds 2]
        [--scenarios plain,condition,priorities] [--postgres postgresql+psycopg://…/bench_tick]

Seeds a database with N new orders (their `order.created` events pending) and stock covering
~65% of demand, then, on identical copies, runs as a user would (whole processes, start-up
included) the tick and the `allocate` command(s) that must reserve exactly the same:

* plain: `when new order then allocate` vs `allocate --all`;
* condition: `when new order if ship_to.country == "US" then allocate` vs
  `allocate --all --where 'ship_to.country == "US"'`;
* priorities: three rules of priorities 100, 20 and 0 vs three `allocate --all --where …`
  commands, one per rule, each excluding the orders a higher rule took (the tick's one
  priority queue across rules).

Prints per scenario the best wall time and the best CPU time (user + system, GNU time) of each
side, their ratios (target <= 1.5 for plain), the peak RSS of each process (GNU time), the load
average, and whether both produced the same reservations (every reservation row, stock counter
and allocation status compared). With --postgres the same runs on a
PostgreSQL database (dropped and refilled per run). Not a test: the ratio is what to watch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from bench_allocate import write_data  # noqa: E402
from procs import child_env  # noqa: E402

from engine.io.imports import order_from_mapping, read_inventory  # noqa: E402
from engine.service import Service  # noqa: E402
from engine.store import Store  # noqa: E402

EXPRESS = 'shipping_method in ["overnight", "two_day"]'
MARKET = 'channel in ["amazon", "ebay"] and ship_to.country == "US"'

SCENARIOS: dict[str, tuple[str, list[list[str]]]] = {
    "plain": (
        "version: 1\nrules:\n  - name: everyone\n    rule: when new order then allocate\n",
        [["allocate", "--all"]],
    ),
    "condition": (
        "version: 1\nrules:\n  - name: us\n"
        '    rule: when new order if ship_to.country == "US" then allocate\n',
        [["allocate", "--all", "--where", 'ship_to.country == "US"']],
    ),
    "priorities": (
        "version: 1\nrules:\n"
        "  - name: everyone-else\n    rule: when new order then allocate\n"
        "  - name: marketplaces\n    priority: 20\n"
        '    rule: when new order from channel ["amazon", "ebay"] if ship_to.country == "US"'
        " then allocate\n"
        "  - name: express-first\n    priority: 100\n"
        f"    rule: when new order if {EXPRESS} then allocate\n",
        [
            ["allocate", "--all", "--where", EXPRESS],
            ["allocate", "--all", "--where", f"({MARKET}) and not ({EXPRESS})"],
            ["allocate", "--all", "--where", f"not ({MARKET}) and not ({EXPRESS})"],
        ],
    ),
}

_DIGEST_SQL = (
    "SELECT order_id, line_no, sku, warehouse, qty FROM reservations "
    "ORDER BY order_id, line_no, sku, warehouse, qty",
    "SELECT sku, warehouse, allocated FROM inventory ORDER BY sku, warehouse",
    "SELECT id, allocation_status FROM orders ORDER BY id",
)


def _orders_in_chunks(path: Path, size: int) -> Iterator[list[object]]:
    now = datetime.now(UTC)
    chunk: list[object] = []
    with path.open() as fh:
        for n, text in enumerate(fh, start=1):
            chunk.append(order_from_mapping(json.loads(text), f"{path}:{n}", now))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def seed(url: str, orders_path: Path, inventory_path: Path) -> None:
    """Stock, then the orders in chunks (so a million orders never sit in memory at once)."""
    store = Store.open(url)
    service = Service(store)
    service.import_inventory(read_inventory(inventory_path))
    for chunk in _orders_in_chunks(orders_path, 50_000):
        service.add_orders(chunk)  # type: ignore[arg-type]
    store.dispose()


def run_dibs(url: str, args: Sequence[str]) -> tuple[float, int, float]:
    """One `dibs` process as a user starts it: (wall seconds, peak RSS in MiB, CPU seconds).

    The peak and the CPU time (user + system) come from GNU time, not from this process's
    wait4: Linux carries a parent's high-water mark over fork, and this process holds the
    generated orders."""
    env = child_env(ROOT)
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        command = ["/usr/bin/time", "-f", "%M %U %S", "-o", rss.name]
        t0 = time.perf_counter()
        proc = subprocess.run(
            [*command, sys.executable, "-m", "engine.cli", "--db", url, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(
                f"dibs {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr.decode()}"
            )
        peak_kib, user, system = rss.read().split()[-3:]
    return wall, int(peak_kib) // 1024, float(user) + float(system)


def digest(url: str) -> str:
    """A hash of every reservation, stock counter and allocation status."""
    store = Store.open(url)
    h = hashlib.sha256()
    with store.read() as conn:
        for sql in _DIGEST_SQL:
            for row in conn.exec_driver_sql(sql):
                h.update(repr(tuple(row)).encode())
    store.dispose()
    return h.hexdigest()


class Copies:
    """Fresh copies of the seeded database: a file copy on SQLite, a template on PostgreSQL."""

    def __init__(self, folder: Path, postgres: str | None) -> None:
        self.folder, self.postgres = folder, postgres
        self.seeded = folder / "seeded.db"

    def seed_url(self) -> str:
        return self._pg("bench_tick_seed") if self.postgres else f"sqlite:///{self.seeded}"

    def fresh(self, name: str) -> str:
        if self.postgres:
            self._admin(f"DROP DATABASE IF EXISTS {name}")
            self._admin(f"CREATE DATABASE {name} TEMPLATE bench_tick_seed")
            return self._pg(name)
        copy = self.folder / f"{name}.db"
        shutil.copy(self.seeded, copy)
        for suffix in ("-wal", "-shm"):
            if Path(f"{self.seeded}{suffix}").exists():
                shutil.copy(f"{self.seeded}{suffix}", f"{copy}{suffix}")
        return f"sqlite:///{copy}"

    def prepare(self) -> None:
        if self.postgres:
            self._admin("DROP DATABASE IF EXISTS bench_tick_seed")
            self._admin("CREATE DATABASE bench_tick_seed")
        else:
            sqlite3.connect(self.seeded).close()

    def _pg(self, name: str) -> str:
        assert self.postgres
        return self.postgres.rsplit("/", 1)[0] + "/" + name

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self._pg("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()


def scenario(copies: Copies, name: str, folder: Path, rounds: int) -> None:
    rules_text, commands = SCENARIOS[name]
    rules = folder / f"{name}.yaml"
    rules.write_text(rules_text)
    best: dict[str, tuple[float, int, float]] = {}
    cpu: dict[str, float] = {}
    same = True
    for _ in range(rounds):  # alternate, best of N: no warm-up bias
        tick_url = copies.fresh("bench_tick_a")
        tick = run_dibs(tick_url, ["run", str(rules), "--once"])
        tick_digest = digest(tick_url)
        alloc_url = copies.fresh("bench_tick_b")
        runs = [run_dibs(alloc_url, command) for command in commands]
        alloc = (sum(r[0] for r in runs), max(r[1] for r in runs), sum(r[2] for r in runs))
        same = same and tick_digest == digest(alloc_url)
        for side, figures in (("tick", tick), ("allocate", alloc)):
            if side not in best or figures[0] < best[side][0]:
                best[side] = figures
            cpu[side] = min(cpu.get(side, figures[2]), figures[2])
    (t_wall, t_rss, _), (a_wall, a_rss, _) = best["tick"], best["allocate"]
    what = " + ".join(" ".join(c[:2]) for c in commands)
    print(
        f"  {name}: tick {t_wall:.2f} s (CPU {cpu['tick']:.2f} s, peak RSS {t_rss} MiB); "
        f"{what} {a_wall:.2f} s (CPU {cpu['allocate']:.2f} s, peak RSS {a_rss} MiB); "
        f"ratio {t_wall / a_wall:.2f} wall, {cpu['tick'] / cpu['allocate']:.2f} CPU; "
        f"same reservations: {same}; load {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenarios", default="plain,condition,priorities")
    parser.add_argument("--postgres", help="a PostgreSQL URL whose server may hold bench_tick_*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dibs-bench-tick-") as tmp:
        folder = Path(tmp)
        orders_path, inventory_path = write_data(folder, args.orders, args.skus)
        copies = Copies(folder, args.postgres)
        copies.prepare()
        t0 = time.perf_counter()
        seed(copies.seed_url(), orders_path, inventory_path)
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"{backend}: {args.orders} new orders (order.created pending), {args.skus} SKUs; "
            f"seeded in {time.perf_counter() - t0:.1f} s; load {os.getloadavg()[0]:.2f}"
        )
        for name in args.scenarios.split(","):
            scenario(copies, name, folder, args.rounds)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
