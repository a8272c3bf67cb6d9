"""Benchmark `dibs serve`: webhook deliveries per second, and listing latency at 100k orders.

    .venv/bin/python tests/bench/bench_serve.py webhooks [--db URL] [--rate 200] [--seconds 15]
                                                [--burst 3000] [--clients 8]
    .venv/bin/python tests/bench/bench_serve.py list [--db URL] [--orders 100000] [--pages 300]

`webhooks`: a real `dibs serve` (SQLite file by default, or `--db` PostgreSQL) receives signed
Shopify `orders/create` deliveries, each a new order, over HTTP on loopback.
1. paced: `--rate` deliveries per second for `--seconds` (open loop: a delivery is sent on
   schedule whether or not the previous ones were answered); prints the achieved rate and the
   latency p50 / p99 / max of the answers;
2. burst: `--burst` deliveries as fast as `--clients` concurrent senders go; prints the
   sustained deliveries/s and latencies.
Targets (issue #11): >= 200 deliveries/s, p99 < 100 ms.

`list`: `--orders` orders are written straight through the service, then the server answers
`GET /api/v1/orders?limit=100`: the first page, `--pages` pages walked by cursor, and filtered
pages (allocation_status, channel, where). Prints p50 / p99 per kind. Target: p99 < 50 ms.
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.model import Line, Order
from engine.service import Service
from engine.store import Store, metadata
from tests.serving import SHOPIFY_SECRET, Server, shopify_order, sign


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU so far of every process named postgres on this machine (server, backends, helpers)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found[int(entry.name)] = cpu_seconds(int(entry.name))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU spent by the server, by this benchmark (the senders) and by PostgreSQL, per request:
    where the time of a delivery goes on a machine whose cores they share. PostgreSQL's figure
    counts the processes alive at the end (its backends of the server's pool), and the
    sessions are the connections the server opened meanwhile (a pool that churns opens many).
    """

    def __init__(self, server_pid: int, db: str | None) -> None:
        self.server_pid = server_pid
        self.db = db
        self.server, self.client = cpu_seconds(server_pid), time.process_time()
        self.postgres = postgres_cpu() if db else {}
        self.sessions = self._sessions()

    def _sessions(self) -> int:
        if not self.db:
            return 0
        store = Store.open(self.db, migrate=False)
        with store.engine.connect() as conn:
            count = conn.exec_driver_sql(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            ).scalar_one()
        store.dispose()
        return int(count) - 1  # not this one

    def report(self, requests: int) -> str:
        def ms(seconds: float) -> str:
            return f"{1000 * seconds / requests:.2f} ms"

        text = (
            f"  CPU per request: server {ms(cpu_seconds(self.server_pid) - self.server)}, "
            f"senders {ms(time.process_time() - self.client)}"
        )
        if self.db:
            spent = sum(t - self.postgres.get(pid, 0.0) for pid, t in postgres_cpu().items())
            text += f", postgres {ms(spent)}; sessions opened {self._sessions() - self.sessions}"
        return text + f"; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(label: str, latencies: list[float], seconds: float) -> None:
    ms = [x * 1000 for x in latencies]
    print(
        f"{label}: {len(ms)} requests in {seconds:.2f} s = {len(ms) / seconds:.0f}/s; "
        f"p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
        f"max {max(ms):.1f} ms"
    )


def timeline(latencies: list[float], rate: float) -> None:
    """The paced run second by second (by when each delivery was sent): is the tail spread
    evenly, or a few stalls that everything sent meanwhile waited through?"""
    per = max(1, int(rate))
    for second in range(0, len(latencies), per):
        ms = [x * 1000 for x in latencies[second : second + per]]
        print(
            f"  second {second // per:3d}: p50 {statistics.median(ms):6.1f} ms, "
            f"p99 {percentile(ms, 0.99):6.1f} ms, max {max(ms):6.1f} ms"
        )


def fresh_db(url: str | None, folder: Path) -> str:
    if url is None:
        return f"sqlite:///{folder / 'bench.db'}"
    store = Store.open(url)  # a PostgreSQL database for benchmarks: emptied first
    metadata.drop_all(store.engine)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    store.dispose()
    return url


class Sender:
    """Signed deliveries over one HTTP client shared by the sending threads (httpx's client is
    thread-safe; one client per thread cost each new thread an SSL context, which skewed the
    first second of a run)."""

    def __init__(self, server: Server) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.client = httpx.Client(base_url=server.url, timeout=30, limits=limits)
        self.counter = iter(range(10**9))
        self.lock = threading.Lock()

    def send(self, _: object = None) -> float:
        with self.lock:
            n = next(self.counter)
        client = self.client
        body = json.dumps(shopify_order(100_000 + n)).encode()
        headers = {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": f"bench-{n}",
            "X-Shopify-Hmac-Sha256": sign(SHOPIFY_SECRET, body),
            "Content-Type": "application/json",
        }
        started = time.perf_counter()
        answer = client.post("/webhooks/shopify", content=body, headers=headers)
        took = time.perf_counter() - started
        if answer.status_code != 200 or answer.json()["status"] != "applied":
            raise SystemExit(f"delivery {n} failed: {answer.status_code} {answer.text}")
        return took


def bench_webhooks(args: argparse.Namespace, folder: Path) -> None:
    db = fresh_db(args.db, folder)
    with Server(db) as server:
        sender = Sender(server)
        with ThreadPoolExecutor(32) as pool:  # warm up connections and caches
            list(pool.map(sender.send, range(300)))
        total = int(args.rate * args.seconds)
        latencies: list[float] = []
        meter = CpuMeter(server.process.pid, args.db)
        start = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            futures = []
            for i in range(total):
                due = start + i / args.rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                futures.append(pool.submit(sender.send))
            latencies = [f.result() for f in futures]
        show(f"paced at {args.rate}/s", latencies, time.perf_counter() - start)
        if args.timeline:
            timeline(latencies, args.rate)
        print(meter.report(len(latencies)))
        meter = CpuMeter(server.process.pid, args.db)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            latencies = list(pool.map(sender.send, range(args.burst)))
        show(f"burst, {args.clients} senders", latencies, time.perf_counter() - start)
        print(meter.report(len(latencies)))
        server.stop()


def seed(url: str, count: int) -> None:
    store = Store.open(url)
    service = Service(store)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    channels = ("shopify", "amazon", "ebay", "wholesale")
    batch = 20_000
    for start in range(0, count, batch):
        service.add_orders(
            [
                Order(
                    id=f"O{n:07d}",
                    channel=channels[n % 4],
                    placed_at=base + timedelta(seconds=n * 7 % count),
                    lines=(Line(f"SKU-{n % 500:04d}", 1 + n % 3), Line(f"SKU-{n % 97:04d}", 1)),
                    tags=frozenset({"vip"} if n % 10 == 0 else ()),
                )
                for n in range(start, min(start + batch, count))
            ]
        )
    service.import_inventory([(f"SKU-{i:04d}", "main", 150) for i in range(500)])
    service.allocate()
    store.dispose()


def bench_list(args: argparse.Namespace, folder: Path) -> None:
    db = fresh_db(args.db, folder)
    started = time.perf_counter()
    seed(db, args.orders)
    print(
        f"seeded {args.orders} orders (and allocated them) in {time.perf_counter() - started:.1f} s"
    )
    with Server(db) as server:

        def timed(path: str) -> tuple[float, dict[str, object]]:
            t = time.perf_counter()
            answer = server.get(path)
            took = time.perf_counter() - t
            assert answer.status_code == 200, answer.text
            doc: dict[str, object] = answer.json()
            return took, doc

        for _ in range(20):
            timed("/api/v1/orders?limit=100")
        first = [timed("/api/v1/orders?limit=100")[0] for _ in range(200)]
        show("first page, limit=100", first, sum(first))
        walked: list[float] = []
        path = "/api/v1/orders?limit=100"
        for _ in range(args.pages):
            took, doc = timed(path)
            walked.append(took)
            path = f"/api/v1/orders?limit=100&cursor={doc['next']}"
        show(f"{args.pages} pages by cursor", walked, sum(walked))
        deep: list[float] = []
        path = "/api/v1/orders?limit=100&order_by=total desc"
        for _ in range(50):
            took, doc = timed(path)
            deep.append(took)
            path = f"/api/v1/orders?limit=100&order_by=total desc&cursor={doc['next']}"
        show("order_by=total desc, 50 pages", deep, sum(deep))
        filters = [
            "allocation_status=could_not_allocate",
            "channel=amazon",
            "tag=vip",
            'where=channel == "ebay" and unit_count > 2',
        ]
        for query in filters:
            times = [timed(f"/api/v1/orders?limit=100&{query}")[0] for _ in range(50)]
            show(query, times, sum(times))
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("webhooks")
    p.add_argument("--db", help="a PostgreSQL URL (emptied first); default a SQLite file")
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--burst", type=int, default=3000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--timeline", action="store_true", help="the paced run second by second")
    p = sub.add_parser("list")
    p.add_argument("--db", help="a PostgreSQL URL (emptied first); default a SQLite file")
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.what == "webhooks":
            bench_webhooks(args, Path(folder))
        else:
            bench_list(args, Path(folder))


if __name__ == "__main__":
    main()
