"""Databases for tests/bench/bench_allocate.py: dibs' seeded database scaled up, its lean copy
(tests/bench/lean_floor.py), the same on PostgreSQL, and the digests that compare them."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from lean_floor import LEAN_SCHEMA
from procs import child_env

ROOT = Path(__file__).resolve().parents[2]

_COPY_COLUMNS = {
    "orders": "id, channel, placed_at, status, allocation_status, ship_to_name, ship_to_country,"
    " ship_to_state, ship_to_city, ship_to_postal_code, shipping_method, total, warehouse,"
    " attributes, line_count, unit_count, created_at, updated_at, channel_updated_at, sync_hash",
    "order_lines": "order_id, line_no, sku, qty, reserved",
    "order_tags": "order_id, tag",
    "inventory": "sku, warehouse, on_hand, allocated",
}


_KEYS = (("orders", "id"), ("order_lines", "order_id"), ("order_tags", "order_id"))


def multiply(path: Path, copies: int) -> None:
    """Make the seeded SQLite database `copies` times bigger: each order again with an id
    suffix `-k` (same placed_at: FIFO ties go by id), stock multiplied to match."""
    if copies <= 1:
        return
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    for k in range(1, copies):
        suffix = f"-{k}"
        for table, key in _KEYS:
            cols = _COPY_COLUMNS[table]
            picked = cols.replace(key, f"{key} || '{suffix}'", 1)
            con.execute(
                f"INSERT INTO {table} ({cols}) SELECT {picked} FROM {table} "
                f"WHERE {key} NOT LIKE '%-%'"
            )
    con.execute("UPDATE inventory SET on_hand = on_hand * ?", (copies,))
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


def build_lean_sqlite(seeded: Path, lean: Path) -> None:
    """The lean schema with the same rows (one warehouse: inventory by SKU)."""
    con = sqlite3.connect(lean, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    for statement in LEAN_SCHEMA:
        con.execute(statement)
    con.execute("ATTACH DATABASE ? AS d", (str(seeded),))
    con.execute("BEGIN")
    _fill_lean(con, "d.")
    con.execute("COMMIT")
    con.execute("DETACH DATABASE d")
    con.close()


def _fill_lean(con: Any, source: str) -> None:
    con.execute(
        "INSERT INTO inventory (sku, on_hand, allocated) SELECT sku, on_hand, allocated "
        f"FROM {source}inventory WHERE warehouse = 'main'"
    )
    con.execute(
        "INSERT INTO orders (id, placed_at, status, allocation_status, updated_at) "
        f"SELECT id, placed_at, status, allocation_status, updated_at FROM {source}orders"
    )
    con.execute(
        "INSERT INTO lines (order_id, line_no, sku, qty, reserved) "
        f"SELECT order_id, line_no, sku, qty, reserved FROM {source}order_lines "
        "ORDER BY order_id, line_no"
    )


def copy_sqlite(source: Path, target: Path) -> None:
    shutil.copy(source, target)
    for suffix in ("-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")


class Run(NamedTuple):
    """One whole process: wall time, CPU time (user + system), peak RSS (MiB), its stderr."""

    wall: float
    cpu: float
    peak: float
    err: str


def run_process(argv: Sequence[str], root: Path = ROOT) -> Run:
    """Run a whole process under /usr/bin/time: a child forked from this big process would
    count our pages in its own peak RSS. CPU time is the figure a busy machine moves least.
    `root`: the checkout whose dibs runs (PYTHONPATH)."""
    env = child_env(root)
    with tempfile.NamedTemporaryFile("r") as peak:
        started = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", peak.name, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=root,  # `python -m` puts the working directory first on sys.path
            check=False,
        )
        wall = time.perf_counter() - started
        kib, user, system = peak.read().split()[-3:]
    err = proc.stderr.decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err}")
    return Run(wall, float(user) + float(system), int(kib) / 1024, err)


def dibs_argv(url: str) -> list[str]:
    return [sys.executable, "-m", "engine.cli", "--db", url, "allocate", "--all"]


def floor_argv(url: str) -> list[str]:
    return [sys.executable, str(ROOT / "tests" / "bench" / "lean_floor.py"), url]


# ----------------------------------------------------------------------------------- digests

_DIBS_RESERVED = (
    "SELECT order_id, line_no, qty FROM reservations ORDER BY order_id, line_no",
    "SELECT id, allocation_status FROM orders ORDER BY id",
)
_LEAN_RESERVED = (
    "SELECT l.order_id, l.line_no, g.qty FROM ledger g JOIN lines l ON l.id = g.line_id "
    "ORDER BY l.order_id, l.line_no",
    "SELECT id, allocation_status FROM orders ORDER BY id",
)


def digest(cursor: Any, lean: bool) -> tuple[int, int, str, str]:
    """(reservations, units, hash of every (order, line, qty), hash of every order's status)."""
    hashes = []
    count = units = 0
    for n, sql in enumerate(_LEAN_RESERVED if lean else _DIBS_RESERVED):
        cursor.execute(sql)
        h = hashlib.sha256()
        while rows := cursor.fetchmany(10000):
            for row in rows:
                h.update(repr(tuple(row)).encode())
                if n == 0:
                    count += 1
                    units += row[2]
        hashes.append(h.hexdigest()[:12])
    return count, units, hashes[0], hashes[1]


def sqlite_digest(path: Path, lean: bool) -> tuple[int, int, str, str]:
    con = sqlite3.connect(path)
    try:
        return digest(con.cursor(), lean)
    finally:
        con.close()


# ------------------------------------------------------------------------------- PostgreSQL


def pg_admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(_plain(url), autocommit=True)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def pg_url(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def load_postgres(seeded: Path, url: str) -> None:
    """Copy the seeded SQLite rows into dibs' schema on PostgreSQL (a fresh database at `url`),
    and the lean copy into its schema `lean`."""
    sys.path.insert(0, str(ROOT))
    from engine.store import Store

    Store.open(url).dispose()  # dibs' migrations
    src = sqlite3.connect(seeded)
    import psycopg

    with psycopg.connect(_plain(url)) as con:
        con.execute("SET TIME ZONE 'UTC'")
        for table, cols in _COPY_COLUMNS.items():
            with con.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {cols} FROM {table}"):
                    copy.write_row(row)
        con.execute("CREATE SCHEMA lean")
        con.execute("SET search_path TO lean")
        for statement in LEAN_SCHEMA:
            con.execute(statement.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY", 1))
        _fill_lean(con, "public.")
        con.execute("ANALYZE")
    src.close()


def pg_digest(url: str, lean: bool) -> tuple[int, int, str, str]:
    import psycopg

    with psycopg.connect(_plain(url)) as con:
        if lean:
            con.execute("SET search_path TO lean")
        return digest(con.cursor(), lean)
