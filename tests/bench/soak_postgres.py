"""Soak: N processes run random operations against one PostgreSQL database for a while.

    python tests/bench/soak_postgres.py postgresql+psycopg://postgres@127.0.0.1/dibs_soak \
        [--processes 8] [--seconds 120] [--seed 1]

The database is wiped first. Orders span several hot SKUs, so allocation, edits, splits, ships,
deallocations and stock changes all meet on the same rows. While the workers run, the invariant
checker (tests/integration/invariants.py) looks at a consistent snapshot every few seconds, and
once more at the end. Printed figures: operations done, refused as expected (exit 1/2 outcomes),
conflicts retried, deadlocks escaping (a transaction that still conflicted after its retries),
tracebacks (any other exception), invariant violations. Exit 0 only when the last three are 0.
Also used, smaller, by tests/integration/test_concurrency.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402

from engine.errors import BadInput, OperationFailed  # noqa: E402
from engine.model import Line, Order, Policy  # noqa: E402
from engine.service import Service  # noqa: E402
from engine.store import Store, metadata  # noqa: E402
from engine.store.database import Contention  # noqa: E402
from tests.integration.invariants import violations  # noqa: E402

HOT = [f"HOT{i}" for i in range(6)]
SEED_ORDERS = 300


def _order(oid: str, rng: random.Random, at: datetime) -> Order:
    skus = rng.sample(HOT, rng.randint(1, 3))
    return Order(
        id=oid,
        channel="web",
        placed_at=at,
        lines=tuple(Line(s, rng.randint(1, 3)) for s in skus),
    )


def seed(url: str, rng: random.Random) -> None:
    store = Store.open(url)
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
    svc = Service(store)
    svc.import_inventory([(sku, "main", 40) for sku in HOT])
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    svc.add_orders(
        [_order(f"S{i:04d}", rng, t0 + timedelta(seconds=i)) for i in range(SEED_ORDERS)]
    )
    store.dispose()


def _operation(svc: Service, rng: random.Random, worker: int, made: list[int]) -> str:
    """One random operation; returns its name."""
    pick = rng.random()
    ids = [f"S{rng.randrange(SEED_ORDERS):04d}" for _ in range(rng.randint(1, 5))]
    if pick < 0.25:
        svc.allocate(ids, policy=rng.choice(list(Policy)))
        return "allocate"
    if pick < 0.30:
        svc.allocate(None)
        return "allocate --all"
    if pick < 0.38:
        svc.deallocate(ids[:2])
        return "deallocate"
    if pick < 0.44:
        svc.reallocate(ids[:2])
        return "reallocate"
    if pick < 0.58:
        svc.change_stock(rng.choice(HOT), "main", rng.randint(-4, 4) or 1, "adjusted")
        return "inventory adjust"
    if pick < 0.63:
        svc.change_stock(rng.choice(HOT), "main", rng.randint(0, 60), "set")
        return "inventory set"
    if pick < 0.75:
        lines = [(s, rng.randint(1, 3)) for s in rng.sample(HOT, rng.randint(1, 3))]
        svc.edit(ids[0], lines)
        return "edit"
    if pick < 0.80:
        svc.split(ids[0])
        return "split"
    if pick < 0.86:
        svc.finish(ids[:1], rng.choice(["ship", "ship", "cancel", "dropship"]))
        return "finish"
    made[0] += 1
    now = datetime(2026, 2, 1, tzinfo=UTC)
    svc.add_orders([_order(f"W{worker}-{made[0]}", rng, now)])
    return "add"


def work(url: str, worker: int, seconds: float, seed_value: int, out: Any) -> None:
    """One worker process: random operations until the time is up; figures to `out`."""
    rng = random.Random(seed_value * 1000 + worker)
    store = Store.open(url, migrate=False)
    svc = Service(store)
    tally: Counter[str] = Counter()
    problems: list[str] = []
    made = [0]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            name = _operation(svc, rng, worker, made)
            tally[f"ok {name}"] += 1
        except Contention as exc:
            tally["deadlocks escaping"] += 1
            problems.append(str(exc))
        except (OperationFailed, BadInput):
            tally["refused as expected"] += 1
        except Exception:
            tally["tracebacks"] += 1
            problems.append(traceback.format_exc()[-2000:])
    tally.update({f"retried {kind}": n for kind, n in store.conflicts.items()})
    store.dispose()
    out.put({"tally": dict(tally), "problems": problems[:5]})


def run_soak(url: str, processes: int, seconds: float, seed_value: int = 1) -> dict[str, Any]:
    """Seed, run the workers, check invariants along the way; the figures as a dict."""
    seed(url, random.Random(seed_value))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=work, args=(url, n, seconds, seed_value, queue))
        for n in range(processes)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    store = Store.open(url, migrate=False)
    snapshots, broken, examples = 0, 0, []
    while any(p.is_alive() for p in procs) and time.monotonic() - started < seconds + 60:
        time.sleep(min(5.0, max(seconds / 4, 0.5)))
        found = violations(store)
        snapshots += 1
        broken += bool(found)
        examples.extend(found[:3])
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    final = violations(store)
    store.dispose()
    tally: Counter[str] = Counter()
    problems: list[str] = []
    for result in results:
        tally.update(result["tally"])
        problems.extend(result["problems"])
    operations = sum(n for k, n in tally.items() if k.startswith("ok "))
    return {
        "processes": processes,
        "seconds": round(time.monotonic() - started, 1),
        "operations": operations,
        "refused as expected": tally["refused as expected"],
        "conflicts retried": {k[8:]: n for k, n in tally.items() if k.startswith("retried ")},
        "deadlocks escaping": tally["deadlocks escaping"],
        "tracebacks": tally["tracebacks"],
        "snapshots checked": snapshots + 1,
        "snapshots with violations": broken + bool(final),
        "invariant violations at the end": len(final),
        "by operation": {k[3:]: n for k, n in sorted(tally.items()) if k.startswith("ok ")},
        "examples": (problems + examples + final)[:10],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = run_soak(args.url, args.processes, args.seconds, args.seed)
    print(json.dumps(figures, indent=2))
    bad = (
        figures["deadlocks escaping"] + figures["tracebacks"] + figures["snapshots with violations"]
    )
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
