"""Benchmark: what telling every status change costs `allocate --all` (SPEC §13 target <= 1.15).

    .venv/bin/python tests/bench/bench_events.py [--orders 100000] [--skus 10000] [--rounds 3]

Builds the 100k-order database of bench_allocate.py once, then allocates copies of it with the
`allocation.changed` events (as shipped) and without them (the transaction's status-change
notes switched off in this process), alternating the two so that machine noise hits both, and
prints the best time of each and their ratio. Not a test: the ratio is what to watch.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.io.imports import read_inventory, read_orders  # noqa: E402
from engine.service import Service  # noqa: E402
from engine.service.changes import StatusChanges  # noqa: E402
from engine.store import Store  # noqa: E402
from tests.bench.bench_allocate import write_data  # noqa: E402


@contextmanager
def events_off() -> Iterator[None]:
    """The allocation with no `allocation.changed`: notes and their flush do nothing."""
    note, flush = StatusChanges.note, StatusChanges.flush

    def no_note(self: StatusChanges, *args: Any) -> None:
        return None

    def no_flush(self: StatusChanges, *args: Any) -> int:
        return 0

    StatusChanges.note = no_note  # type: ignore[method-assign]
    StatusChanges.flush = no_flush  # type: ignore[method-assign]
    try:
        yield
    finally:
        StatusChanges.note = note  # type: ignore[method-assign]
        StatusChanges.flush = flush  # type: ignore[method-assign]


def copy_db(seeded: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{seeded}{suffix}")
        if source.exists():
            shutil.copy(source, f"{target}{suffix}")


def allocate(db: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of one `allocate --all`, and how many orders it processed."""
    store = Store.open(f"sqlite:///{db}")
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        report = Service(store).allocate()
        return time.perf_counter() - t0, time.process_time() - c0, len(report.results)
    finally:
        store.dispose()


def count_events(db: Path) -> int:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return int(
            con.execute("SELECT count(*) FROM events WHERE type = 'allocation.changed'").fetchone()[
                0
            ]
        )
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dibs-bench-events-") as tmp:
        folder = Path(tmp)
        orders_path, inventory_path = write_data(folder, args.orders, args.skus)
        seeded = folder / "seeded.db"
        store = Store.open(f"sqlite:///{seeded}")
        service = Service(store)
        service.import_inventory(read_inventory(inventory_path))
        service.add_orders(read_orders(orders_path))
        store.dispose()
        with_events: list[tuple[float, float]] = []
        without: list[tuple[float, float]] = []
        told = 0
        for n in range(args.rounds):
            db = folder / f"round{n}.db"
            for mode in ("on", "off") if n % 2 == 0 else ("off", "on"):
                copy_db(seeded, db)
                if mode == "on":
                    wall, cpu, orders = allocate(db)
                    with_events.append((wall, cpu))
                    told = count_events(db)
                else:
                    with events_off():
                        wall, cpu, orders = allocate(db)
                    without.append((wall, cpu))
        print(f"allocate --all over {args.orders} orders ({orders} processed), SQLite:")
        for label, index in (("wall", 0), ("CPU", 1)):
            on = min(t[index] for t in with_events)
            off = min(t[index] for t in without)
            print(
                f"  {label}: with allocation.changed {on:.2f} s ({told} events), without "
                f"{off:.2f} s: ratio {on / off:.3f} (target <= 1.15)"
            )
        print(
            f"  all runs (wall, CPU) with {[(round(w, 2), round(c, 2)) for w, c in with_events]}"
            f", without {[(round(w, 2), round(c, 2)) for w, c in without]}"
        )
        print("  (best of each; CPU time is less disturbed by other processes on the machine)")


if __name__ == "__main__":
    main()
