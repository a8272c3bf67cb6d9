"""Benchmark: `dibs rules preview` vs the real tick on the same 100k pending orders.

    .venv/bin/python tests/bench/bench_preview.py [--orders 100000]

Seeds a SQLite file with N new orders (their order.created events pending) and stock, copies it,
then times a preview (the tick, rolled back, plus the before/after reads it reports) on one copy
and the real tick (`dibs run --once`'s code path) on the other, in the same process. Prints both
and the ratio (target <= 1.5).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from bench_allocate import write_data  # noqa: E402

from engine.io.imports import read_inventory, read_orders  # noqa: E402
from engine.run.preview import preview  # noqa: E402
from engine.run.runner import Runner  # noqa: E402
from engine.service import Service  # noqa: E402
from engine.store import Store  # noqa: E402
from rules.loader import load_ruleset  # noqa: E402

RULES = """version: 1
rules:
  - name: express-first
    priority: 100
    rule: when new order if shipping_method in ["overnight", "two_day"] then allocate
  - name: marketplaces
    priority: 20
    rule: when new order from channel ["amazon", "ebay"] if ship_to.country == "US" then allocate
  - name: everyone-else
    rule: when new order then allocate
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dibs-bench-") as tmp:
        folder = Path(tmp)
        orders_path, inventory_path = write_data(folder, args.orders, args.skus)
        rules_path = folder / "rules.yaml"
        rules_path.write_text(RULES)
        ruleset = load_ruleset(rules_path)
        seeded = folder / "seeded.db"
        store = Store.open(f"sqlite:///{seeded}")
        service = Service(store)
        service.import_inventory(read_inventory(inventory_path))
        service.add_orders(read_orders(orders_path))
        store.dispose()
        times: dict[str, list[float]] = {"preview": [], "tick": []}
        for round_no in range(args.rounds):  # alternate, best of N: no warm-up bias
            for name in ("preview", "tick"):
                copy = folder / f"{name}-{round_no}.db"
                shutil.copy(seeded, copy)
                s = Store.open(f"sqlite:///{copy}")
                t0 = time.perf_counter()
                if name == "preview":
                    result = preview(Service(s), ruleset)
                else:
                    Runner(Service(s), ruleset).tick()
                times[name].append(time.perf_counter() - t0)
                s.dispose()
                if name == "tick":
                    with sqlite3.connect(copy) as con:
                        after = dict(con.execute("SELECT id, allocation_status FROM orders"))
        t_preview, t_tick = min(times["preview"]), min(times["tick"])
        same = all(after[o.id] == o.after for o in result.orders.values())
        print(f"{args.orders} pending new orders, {len(ruleset.active)} rules")
        print(
            f"real tick: {t_tick:.2f} s ({args.orders / t_tick:,.0f} orders/s); "
            f"preview: {t_preview:.2f} s; ratio {t_preview / t_tick:.2f} (target <= 1.5); "
            f"prediction identical to the real tick: {same}"
        )


if __name__ == "__main__":
    main()
