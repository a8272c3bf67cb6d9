"""Benchmark: load + lint (what `dibs rules check` does) of a generated 5,000-rule file.

Run: .venv/bin/python tests/bench/bench_rules_check.py [N] [--shape trivial|mixed]
Target: N=5000 in under 5 s and under 200 MB (issue item 5).

``trivial`` is the worst case for lint that the issue reports: N identical rules at one priority
(every pair overlaps). ``mixed`` is closer to a real file: several priorities, channel and country
conditions, tags, stops and schedules. Time is measured in a plain run, peak memory in a second run
under tracemalloc (which slows Python down); ru_maxrss is the process's peak resident size.
Not a pytest test (no test_ functions); timing belongs in benchmarks, not tests.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

# This checkout's rules/, not whatever copy of dibs the venv has installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rules.loader import check_ruleset_bytes


def trivial(n: int) -> str:
    lines = ["version: 1", "rules:"]
    lines += [f"  - {{name: r{i}, rule: when new order then allocate}}" for i in range(n)]
    return "\n".join(lines) + "\n"


def mixed(n: int) -> str:
    rnd = random.Random(5000)
    channels = ["shopify", "amazon", "web", "ebay", "pos", "wholesale"]
    templates = [
        'when new order if channel == "{ch}" and total > {num} then allocate',
        'when new order if ship_to.country in ["{cc}", "CA"] then tag "intl", allocate by unit',
        'when order updated if shipping_method != "ground" then reallocate',
        'when inventory received from channel "{ch}" then allocate all or nothing',
        "every {num} minutes then allocate order by total desc",
        'cron "{num} 2 * * 1" then allocate',
        'when new order if attributes.gift == true or tags contains "vip" then allocate, stop',
        'when new order if id matches "^A[0-9]+$" and not (age > 3 days) then tag "fresh"',
    ]
    lines = ["version: 1", "rules:"]
    for i in range(n):
        text = rnd.choice(templates).format(
            ch=rnd.choice(channels), num=rnd.randint(1, 59), cc=rnd.choice(["US", "DE", "FR"])
        )
        lines.append(f"  - name: r{i}\n    priority: {rnd.randint(0, 20)}\n    rule: '{text}'")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=5000)
    parser.add_argument("--shape", choices=["trivial", "mixed"], default="trivial")
    args = parser.parse_args()
    data = (trivial if args.shape == "trivial" else mixed)(args.n).encode()

    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    ruleset, diagnostics = check_ruleset_bytes(data, "bench.yaml")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    output = "\n".join(str(d) for d in diagnostics)

    del ruleset, diagnostics
    gc.collect()
    tracemalloc.start()
    check_ruleset_bytes(data, "bench.yaml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{args.n} rules ({args.shape}), file {len(data) / 1024:.0f} KB")
    # CPU time too: on a shared machine the wall-clock time includes waiting for a core.
    print(f"load + lint: {seconds:.2f} s ({cpu:.2f} s CPU)")
    print(f"peak traced memory: {peak / 2**20:.1f} MB (ru_maxrss {rss_mb:.0f} MB)")
    print(
        f"diagnostics: {output.count(': warning: ')} warning(s), {output.count(': error: ')} "
        f"error(s), {len(output) / 1024:.0f} KB of output"
    )


if __name__ == "__main__":
    main()
