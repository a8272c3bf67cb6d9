"""Where `dibs allocate --all`'s time goes, phase by phase, next to the lean floor's (issue #15:
"say what each remaining 0.1x is spent on").

    .venv/bin/python tests/bench/phases_allocate.py [--orders 100000] [--skus 10000] [--rounds 3]

Seeds the same data as tests/bench/bench_allocate.py, then per round runs, each as its own
process on a fresh copy, the lean floor (tests/bench/lean_floor.py) and `dibs allocate --all`,
both with the CPU time (`time.process_time`) of their phases recorded by wrappers around the
functions that do them. Prints the median of each phase over the rounds, in seconds and in
units of the floor's whole run (so the dibs column adds up to its ratio to the floor). The
wrappers cost a little of their own; the whole-process ratio is bench_allocate.py's figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
Spent = defaultdict[str, float]


def _timed(spent: Spent, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def inner(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    return inner


def _wrap(spent: Spent, owner: Any, name: str, label: str) -> None:
    setattr(owner, name, _timed(spent, label, getattr(owner, name)))


def dibs_child(db: str) -> Spent:
    """`dibs allocate --all` in this process, its phases timed."""
    spent: Spent = defaultdict(float)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy.engine import Connection

    import engine.cli.allocation  # noqa: F401  # what the command imports, before the stamp
    from engine.cli.main import main
    from engine.service import batch, batch_indexes, changes
    from engine.store import bulk

    spent["start-up: interpreter and imports"] = time.process_time()
    statements = {
        "INSERT INTO reservations": "write reservations",
        "INSERT INTO ledger": "write ledger rows",
        "UPDATE order_lines": "write line counters",
        "UPDATE orders": "write order statuses",
    }

    def by_statement(fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(self: Any, sql: str, *args: Any) -> Any:
            label = next((v for k, v in statements.items() if sql.startswith(k)), None)
            return (_timed(spent, label, fn) if label else fn)(self, sql, *args)

        return inner

    bulk.Bulk.query = by_statement(bulk.Bulk.query)  # type: ignore[method-assign]
    bulk.Bulk.run_many = by_statement(bulk.Bulk.run_many)  # type: ignore[method-assign]
    _wrap(spent, bulk.Bulk, "stage_select", "stage the queue (sorted, in SQL)")
    _wrap(spent, batch, "read_plain", "read the queue")
    _wrap(spent, batch, "decide_plain", "decide (Python)")
    _wrap(spent, changes.StatusChanges, "flush", "write allocation.changed events")
    _wrap(spent, batch_indexes, "_build", "build the deferred indexes")
    _wrap(spent, batch, "write_allocated", "write stock counters")
    _wrap(spent, Connection, "_commit_impl", "commit")
    sys.argv = ["dibs", "--db", db, "allocate", "--all"]
    try:
        main()
    except SystemExit as stop:
        if stop.code:
            raise
    spent["total"] = time.process_time()
    return spent


class _Cursor:
    """A floor cursor whose statements are timed by kind."""

    def __init__(self, cursor: Any, spent: Spent) -> None:
        self.cursor, self.spent = cursor, spent

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("SELECT o."):
            label = "read the queue"
        elif sql.startswith("COMMIT"):
            label = "commit"
        else:  # BEGIN, the stock
            return self.cursor.execute(sql, *args)
        return _timed(self.spent, label, self.cursor.execute)(sql, *args)

    def fetchmany(self, n: int) -> Any:
        return _timed(self.spent, "read the queue", self.cursor.fetchmany)(n)

    def fetchall(self) -> Any:
        return self.cursor.fetchall()

    def executemany(self, sql: str, rows: Any) -> Any:
        label = {
            "INSERT INTO ledger": "write ledger rows",
            "UPDATE lines SET": "write line counters",
            "UPDATE orders SET": "write order statuses",
            "UPDATE inventory SET": "write stock counters",
        }[" ".join(sql.split()[:3])]
        return _timed(self.spent, label, self.cursor.executemany)(sql, rows)


def floor_child(db: str) -> Spent:
    """The lean floor in this process, its phases timed."""
    spent: Spent = defaultdict(float)
    sys.path.insert(0, str(HERE))
    import lean_floor

    spent["start-up: interpreter and imports"] = time.process_time()
    connect = lean_floor.connect

    def timed_connect(url: str) -> Any:
        con, mark = connect(url)

        class Connection:
            def cursor(self) -> _Cursor:
                return _Cursor(con.cursor(), spent)

            def close(self) -> None:
                con.close()

        return Connection(), mark

    lean_floor.connect = timed_connect  # type: ignore[assignment]
    _wrap(spent, lean_floor.Floor, "settle", "decide (Python)")
    lean_floor.run(db)
    spent["total"] = time.process_time()
    return spent


def _child(kind: str, db: str) -> Spent:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, db],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, db = args.child
        print(json.dumps((dibs_child if kind == "dibs" else floor_child)(db)))
        return
    sys.path.insert(0, str(HERE))
    from bench_allocate import _seed_plain
    from floor_data import build_lean_sqlite, copy_sqlite

    runs: dict[str, list[Spent]] = {"floor": [], "dibs": []}
    with tempfile.TemporaryDirectory(prefix="dibs-phases-") as tmp:
        folder = Path(tmp)
        seeded, _ = _seed_plain(folder, args.orders, args.skus)
        lean = folder / "lean.db"
        build_lean_sqlite(seeded, lean)
        for _ in range(args.rounds):
            for kind, source in (("floor", lean), ("dibs", seeded)):
                copy_sqlite(source, folder / "run.db")
                runs[kind].append(_child(kind, f"sqlite:///{folder / 'run.db'}"))
    _report(runs)


def _report(runs: dict[str, list[Spent]]) -> None:
    median: dict[str, dict[str, float]] = {}
    for kind, spent in runs.items():
        labels = {label for run in spent for label in run}
        median[kind] = {k: statistics.median(run.get(k, 0.0) for run in spent) for k in labels}
        listed = sum(v for k, v in median[kind].items() if k != "total")
        median[kind]["other (total less phases; may be < 0)"] = median[kind]["total"] - listed
    unit = median["floor"]["total"]
    labels = sorted(
        {k for m in median.values() for k in m if k != "total"},
        key=lambda k: -median["dibs"].get(k, 0.0),
    )
    print(f"CPU seconds, median of {len(runs['dibs'])} rounds; x = units of the floor's total")
    print(f"{'phase':48} {'floor s':>8} {'dibs s':>8} {'dibs x':>7} {'+x':>6}")
    for label in [*labels, "total"]:
        ours, theirs = median["dibs"].get(label, 0.0), median["floor"].get(label, 0.0)
        print(
            f"{label:48} {theirs:8.3f} {ours:8.3f} {ours / unit:7.2f} "
            f"{(ours - theirs) / unit:+6.2f}"
        )


if __name__ == "__main__":
    main()
