"""The lean floor of `dibs allocate --all` (issue #15): a hand-written script, run as its own
process, doing the same reads, FIFO line decisions and writes on a lean schema.

    python tests/bench/lean_floor.py sqlite:///PATH        (or a postgresql:// URL)

The lean schema (`LEAN_SCHEMA`, built by tests/bench/bench_allocate.py from dibs' own database
so both start from the same rows): inventory by SKU; orders by id; lines by id with an index on
their order; one ledger row per reservation, no secondary index. No events, no history beyond
that ledger row, no temp tables: what an allocation cannot do without.

It reads the stock, then the whole open queue in one ordered query (orders joined with their
lines, FIFO: placed_at, id), streamed in chunks, decides each order with the `lines` policy
(each line gets all its missing units or none), and writes per chunk with executemany: ledger
rows, line counters, order statuses; the stock counters once at the end. Prints nothing.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

LEAN_SCHEMA = (
    "CREATE TABLE inventory (sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL,"
    " allocated INTEGER NOT NULL)",
    "CREATE TABLE orders (id TEXT PRIMARY KEY, placed_at TEXT NOT NULL, status TEXT NOT NULL,"
    " allocation_status TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE lines (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, line_no INTEGER NOT NULL,"
    " sku TEXT NOT NULL, qty INTEGER NOT NULL, reserved INTEGER NOT NULL)",
    "CREATE INDEX lines_order ON lines (order_id)",
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, at TEXT NOT NULL, order_id TEXT NOT NULL,"
    " line_id INTEGER NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL, actor TEXT NOT NULL)",
)

QUEUE_SQL = (
    "SELECT o.id, o.allocation_status, l.id, l.sku, l.qty, l.reserved "
    "FROM orders o JOIN lines l ON l.order_id = o.id "
    "WHERE o.status = 'awaiting_fulfillment' "
    "AND o.allocation_status NOT IN ('allocated', 'overallocated') "
    "ORDER BY o.placed_at, o.id, l.id"
)
CHUNK_ROWS = 5000


def connect(url: str) -> tuple[Any, str]:
    """A DB-API connection and its placeholder mark."""
    if url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-65536")
        return con, "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")), "%s"


class Floor:
    """The decisions and the rows they write."""

    def __init__(self, stock: dict[str, list[int]], now: str) -> None:
        self.stock = stock
        self.now = now
        self.ledger: list[tuple[Any, ...]] = []
        self.lines: list[tuple[int, int]] = []
        self.status: list[tuple[str, str, str]] = []

    def settle(self, oid: str, before: str, lines: list[tuple[int, str, int, int]]) -> None:
        stock, any_reserved, complete = self.stock, False, True
        grants = []
        for _, sku, qty, reserved in lines:
            missing = qty - reserved
            entry = stock.get(sku)
            grant = missing if entry is not None and 0 < missing <= entry[0] - entry[1] else 0
            if grant:
                entry[1] += grant  # type: ignore[index]
            grants.append(grant)
        for (line_id, sku, qty, reserved), grant in zip(lines, grants, strict=True):
            if grant:
                self.ledger.append((self.now, oid, line_id, sku, grant, "cli"))
                self.lines.append((reserved + grant, line_id))
            complete = complete and reserved + grant >= qty
            any_reserved = any_reserved or bool(reserved + grant)
        after = (
            "allocated"
            if complete
            else ("partially_allocated" if any_reserved else "could_not_allocate")
        )
        if after != before:
            self.status.append((after, self.now, oid))

    def flush(self, cur: Any, mark: str) -> None:
        cur.executemany(
            "INSERT INTO ledger (at, order_id, line_id, sku, qty, actor) "
            f"VALUES ({', '.join([mark] * 6)})",
            self.ledger,
        )
        cur.executemany(f"UPDATE lines SET reserved = {mark} WHERE id = {mark}", self.lines)
        cur.executemany(
            f"UPDATE orders SET allocation_status = {mark}, updated_at = {mark} WHERE id = {mark}",
            self.status,
        )
        self.ledger, self.lines, self.status = [], [], []


def run(url: str) -> None:
    con, mark = connect(url)
    read, write = con.cursor(), con.cursor()
    if mark == "?":
        write.execute("BEGIN IMMEDIATE")
    write.execute("SELECT sku, on_hand, allocated FROM inventory")
    stock = {sku: [on_hand, allocated] for sku, on_hand, allocated in write.fetchall()}
    floor = Floor(stock, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
    # The queue is sorted and buffered before the first write (the writes touch its tables).
    read.execute(QUEUE_SQL)
    current: tuple[str, str] | None = None
    lines: list[tuple[int, str, int, int]] = []
    while rows := read.fetchmany(CHUNK_ROWS):
        for oid, before, line_id, sku, qty, reserved in rows:
            if current is not None and current[0] != oid:
                floor.settle(*current, lines)
                lines = []
            current = (oid, before)
            lines.append((line_id, sku, qty, reserved))
        floor.flush(write, mark)
    if current is not None:
        floor.settle(*current, lines)
    floor.flush(write, mark)
    write.executemany(
        f"UPDATE inventory SET allocated = {mark} WHERE sku = {mark}",
        [(allocated, sku) for sku, (_, allocated) in stock.items()],
    )
    if mark == "?":
        write.execute("COMMIT")
    else:
        con.commit()
    con.close()


if __name__ == "__main__":
    run(sys.argv[1])
