"""Benchmark: how long `dibs` takes to start, against the interpreter's own floor (issue #15).

Run: PYTHONPATH=$PWD .venv/bin/python tests/bench/bench_startup.py [--runs 21] [--no-pyc]
     [--against OTHER_CHECKOUT]   (the same commands from another checkout, e.g. main: before)
Targets: `dibs --help`, group help, `--version` and `rules check FILE` (no database) < 0.2 s;
`dibs orders show ID` on SQLite < 0.35 s.

Every command is a whole process, started the way the console script starts dibs
(`from engine.cli import main; sys.exit(main())`) from this checkout. The floors are measured in
the same run, interleaved with the commands (one round runs every command once, so a burst of
load on the shared machine hits them all alike): `python -c pass` for every command, and the
libraries a command cannot do without: `python -c "import sqlalchemy"` for the ones that open
the database, `python -c "import yaml, jsonschema, lark"` for `rules check`. Printed per command:
the median and the fastest wall time, the median CPU time (user + system of the process, which
other work on a shared machine disturbs less than the wall time), and the medians over each
floor (ratios of wall and of CPU time) and above it (ms of wall time).

Bytecode: an installed dibs has its .pyc files, so by default the benchmark lets Python cache
them (in a temporary PYTHONPYCACHEPREFIX, never in the checkout) and warms them up first;
`--no-pyc` measures with PYTHONDONTWRITEBYTECODE=1, where every start compiles dibs's sources.
Not a pytest test (no test_ functions); timing belongs in benchmarks, not tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DIBS = "import sys; from engine.cli import main; sys.exit(main())"

SHOW = ["--db", "{db}", "orders", "show", "{order}"]
#: The floors: the bare interpreter, and the libraries a command cannot do without.
FLOOR = "python -c pass"
FLOORS = {
    FLOOR: [PYTHON, "-c", "pass"],
    "python -c 'import sqlalchemy'": [PYTHON, "-c", "import sqlalchemy"],
    "python -c 'import yaml, jsonschema, lark'": [PYTHON, "-c", "import yaml, jsonschema, lark"],
}
SQLALCHEMY, RULE_LIBRARIES = list(FLOORS)[1:]
#: (label, argv after `dibs`, target seconds, the libraries' floor it is also compared with)
COMMANDS: list[tuple[str, list[str], float, str | None]] = [
    ("dibs --help", ["--help"], 0.2, None),
    ("dibs orders --help", ["orders", "--help"], 0.2, None),
    ("dibs rules --help", ["rules", "--help"], 0.2, None),
    ("dibs --version", ["--version"], 0.2, None),
    ("dibs rules check FILE", ["rules", "check", "{rules}"], 0.2, RULE_LIBRARIES),
    ("dibs orders show ID", SHOW, 0.35, SQLALCHEMY),
    ("dibs orders show ID --json", [*SHOW, "--json"], 0.35, SQLALCHEMY),
]


def environment(pyc: bool, cache: Path, root: Path = ROOT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DIBS_DB", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    env["COLUMNS"] = "100"
    if pyc:
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def prepare(work: Path, env: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """A SQLite database with the example stock and orders (allocated), and the example rules."""
    work.mkdir(exist_ok=True)
    db = f"sqlite:///{work / 'shop.db'}"
    for argv in (
        ["inventory", "import", str(root / "examples" / "inventory.csv")],
        ["orders", "import", str(root / "examples" / "orders.json")],
        ["allocate", "--all"],
    ):
        run([PYTHON, "-c", DIBS, "--db", db, *argv], env, work)
    out = run([PYTHON, "-c", DIBS, "--db", db, "orders", "list", "--json"], env, work)
    order = out.split('"id": "', 1)[1].split('"', 1)[0]
    return {"db": db, "order": order, "rules": str(root / "examples" / "rules.yaml")}


def run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {result.returncode}\n{result.stderr}")
    return result.stdout


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """The wall and the CPU time (user + system) of running `argv` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(argv, env, cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds (default: %(default)s)")
    parser.add_argument("--no-pyc", action="store_true", help="no bytecode cache (see above)")
    parser.add_argument(
        "--against", metavar="CHECKOUT", help="also time another checkout, interleaved (before)"
    )
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        env = environment(not opts.no_pyc, work / "pycache")
        jobs = [(label, argv, env) for label, argv in FLOORS.items()]
        jobs += commands("", env, prepare(work / "this", env))
        if opts.against:
            other = Path(opts.against).resolve()
            env_other = environment(not opts.no_pyc, work / "pycache", other)
            jobs += commands(AGAINST, env_other, prepare(work / "other", env_other, other))
        for _, argv, job_env in jobs:  # warm-up: page cache, and the .pyc files when cached
            run(argv, job_env, work)
        print(f"start: {load()}; {opts.runs} rounds; bytecode {'off' if opts.no_pyc else 'cached'}")
        times: dict[str, list[float]] = {label: [] for label, _, _ in jobs}
        cpu: dict[str, list[float]] = {label: [] for label, _, _ in jobs}
        for _ in range(opts.runs):
            for label, argv, job_env in jobs:
                wall, used = timed(argv, job_env, work)
                times[label].append(wall)
                cpu[label].append(used)
        report(times, cpu)
        if opts.against:
            report_against(times, cpu, opts.against)
        print(f"end: {load()}")


AGAINST = "[against] "


def commands(
    prefix: str, env: dict[str, str], values: dict[str, str]
) -> list[tuple[str, list[str], dict[str, str]]]:
    return [
        (prefix + label, [PYTHON, "-c", DIBS, *(a.format(**values) for a in argv)], env)
        for label, argv, _, _ in COMMANDS
    ]


def report_against(times: dict[str, list[float]], cpu: dict[str, list[float]], other: str) -> None:
    print(f"against {other} (same rounds, interleaved; medians):")
    print(f"{'command':42} {'before':>8} {'after':>8} {'after/before':>12} {'cpu a/b':>8}")
    for label, *_ in COMMANDS:
        before, after = (statistics.median(times[x]) for x in (AGAINST + label, label))
        cpu_ratio = statistics.median(cpu[label]) / statistics.median(cpu[AGAINST + label])
        print(
            f"{label:42} {before * 1000:6.1f}ms {after * 1000:6.1f}ms {after / before:11.2f}x "
            f"{cpu_ratio:7.2f}x"
        )


def report(times: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    median = {label: statistics.median(t) for label, t in times.items()}
    cpus = {label: statistics.median(t) for label, t in cpu.items()}
    floor = median[FLOOR]
    print(
        f"{'command':42} {'median':>8} {'fastest':>8} {'cpu':>8} "
        f"{'x floor':>8} {'+floor':>8} {'cpu x':>6}  target"
    )
    for label in FLOORS:
        print(
            f"{label:42} {median[label] * 1000:6.1f}ms {min(times[label]) * 1000:6.1f}ms "
            f"{cpus[label] * 1000:6.1f}ms"
        )
    for label, _, target, libraries in COMMANDS:
        m = median[label]
        verdict = f"< {target:.2f} s {'ok' if m < target else 'MISSED'}"
        print(
            f"{label:42} {m * 1000:6.1f}ms {min(times[label]) * 1000:6.1f}ms "
            f"{cpus[label] * 1000:6.1f}ms {m / floor:7.2f}x {(m - floor) * 1000:6.1f}ms "
            f"{cpus[label] / cpus[FLOOR]:5.2f}x  {verdict}"
        )
        if libraries is not None:
            base = median[libraries]
            print(
                f"{'  vs ' + libraries.removeprefix('python -c '):42} {'':>8} {'':>8} {'':>8} "
                f"{m / base:7.2f}x {(m - base) * 1000:6.1f}ms {cpus[label] / cpus[libraries]:5.2f}x"
            )


if __name__ == "__main__":
    main()
