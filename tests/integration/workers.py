"""Scaffolding for the multi-process concurrency tests: run N worker
processes of one script (each gets its JSON arguments as argv[1] and prints one JSON line at the
end), and collect what each printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_worker_processes(
    script: str, arguments: list[dict[str, Any]], timeout: float
) -> list[dict[str, Any]]:
    """Start one process per argument dict at once, wait for all, and return the JSON object
    each printed last. A worker that fails or times out fails the test with its stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, json.dumps(args)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arguments
    ]
    results: list[dict[str, Any]] = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


#: A worker of the allocation races: rounds of overlapping allocate (every policy, each time with
#: one of `routes`: a warehouse list, or null for the order's own), deallocate and reallocate
#: batches over the orders `prefix`000.., then its share of the S.. orders shipped (others race
#: for the same ones). Prints {"shipped": [...]}.
ALLOCATION_WORKER = r"""
import json, random, sys
from engine.errors import OperationFailed
from engine.model import Policy
from engine.service import Service
from engine.store import Store

args = json.loads(sys.argv[1])
store = Store.open(args["url"], migrate=False)
svc = Service(store)
rng = random.Random(args["seed"])
ids = [f"{args['prefix']}{i:03d}" for i in range(args["orders"])]
to_ship = [f"S{i:02d}" for i in range(args["ship"])]
rng.shuffle(to_ship)
shipped = []
for round_no in range(args["rounds"]):
    picked = rng.sample(ids, 40)
    for start in range(0, len(picked), 5):
        batch = picked[start:start + 5]
        what = rng.random()
        where = rng.choice(args["routes"])
        if what < 0.7:
            svc.allocate(batch, policy=rng.choice(list(Policy)), warehouses=where)
        elif what < 0.85:
            svc.deallocate(batch[:2])
        else:
            svc.reallocate(batch[:2], warehouses=where)
    for oid in to_ship[round_no::args["rounds"]]:
        try:
            svc.finish([oid], "ship")
            shipped.append(oid)
        except OperationFailed:
            pass
store.dispose()
print(json.dumps({"shipped": shipped}))
"""


def run_allocation_workers(
    url: str,
    *,
    workers: int,
    prefix: str,
    orders: int,
    ship: int,
    rounds: int,
    routes: list[list[str] | None],
    timeout: float,
) -> list[list[str]]:
    """`workers` ALLOCATION_WORKER processes at once (seeds 0..); what each shipped."""
    arguments = [
        {
            "url": url,
            "seed": seed,
            "prefix": prefix,
            "orders": orders,
            "ship": ship,
            "rounds": rounds,
            "routes": routes,
        }
        for seed in range(workers)
    ]
    return [r["shipped"] for r in run_worker_processes(ALLOCATION_WORKER, arguments, timeout)]
