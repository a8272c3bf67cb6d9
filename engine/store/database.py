"""Engines for SQLite and PostgreSQL, transactions and locks (the schema is `engine.store.schema`).

Transactions: `Store.write()` opens a write transaction. On SQLite that is `BEGIN IMMEDIATE`
(Python's sqlite3 would otherwise start the transaction lazily and let read-then-write race), so
SQLite runs one writer at a time and none of the locking below is needed there. PostgreSQL runs
writers side by side at READ COMMITTED, and the service takes row locks.

The lock order (PostgreSQL), the one every operation follows:

1. **Stock rows first**, `SELECT … ORDER BY sku, warehouse FOR UPDATE`, every `(sku, warehouse)`
   the operation will read or write, in one sorted statement (`Store.lock_stock`).
2. **Order rows second**, `SELECT … ORDER BY id FOR UPDATE` (`Store.lock_orders`), or the
   implicit lock of an `UPDATE orders`; never before the stock of their lines is held.

An operation that starts from an order (edit, split, ship, cancel, dropship) therefore reads the
order once without locks to learn which stock its lines use, locks that stock, then the order,
then reads the order again; if its lines moved to stock it does not hold (an edit committed in
between), it raises `RetryTransaction` instead of locking more out of order. Batch allocation
locks the stock of every order of its queue before it reads any order. So a transaction never
holds an order while waiting for stock, and two transactions cannot wait on each other in a
circle. The one exception is a rule tick, which chains operations in one transaction: it locks
the stock of every order its plan touches first, and whatever it still meets is retried.

Syncs (channel files and webhook deliveries, `engine.service.sync`) take one more lock, and
take it before all of the above (`Store.lock_sync`): a transaction-scoped advisory lock per
order id they sync, under a shared hold of one sync-wide key; a sync of more than
`sync_lock.SYNC_KEY_LOCKS` orders (a whole file) takes the sync-wide key exclusively instead, since
PostgreSQL keeps advisory locks in a shared table of limited size. Only syncs take these locks
and they take them first, sorted, so they add no cycle: two syncs of different orders run side
by side, two syncs of one order (a redelivery, two servers, an older copy arriving late) one
after the other, the second reading what the first committed.

Every deadlock, serialization failure, lock timeout, duplicate insert (two transactions creating
one row) or `RetryTransaction` rolls the whole transaction back and runs it again
(`Store.transaction`), whichever cursor raised it: SQLAlchemy's or the raw DB-API cursor of
`engine.store.bulk`, whose psycopg errors SQLAlchemy never wraps. After `ATTEMPTS` tries the
operation fails with a clear message (`Contention`, exit 1) and nothing is written.

Why allocation statuses cannot contradict cover (SPEC §3) is in `engine.service.cover`: cover
flags of a `(sku, warehouse)` change only under its stock lock, and an order's status is written
only under its order lock, from flags read after taking it.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from dsl.regex import regex_search
from engine.errors import BadInput, OperationFailed, quoted
from engine.store.files import foreign_tables_message, sqlite_file_problem
from engine.store.schema import inventory, metadata, orders
from engine.store.sync_lock import lock_sync_ids

#: The newest shipped migration; a test checks it against Alembic's head.
SCHEMA_REVISION = "0007"
#: PostgreSQL connections a process keeps open once it has used them, and how many more it may
#: open for a moment: `dibs serve` runs up to `engine.web.server.REQUEST_THREADS` transactions
#: at once plus its tick and notify threads; a command uses one. (SQLAlchemy's default of 5
#: made a busy server close and reopen connections, a PostgreSQL process each, all the time.)
POOL_SIZE = 20
POOL_OVERFLOW = 10
#: How long a SQLite write waits for the write lock (another process's, or this one's).
SQLITE_BUSY_SECONDS = 30
#: How many times `Store.transaction` runs a transaction that met a conflict.
ATTEMPTS = 8

#: PostgreSQL SQLSTATEs after which the whole transaction is simply run again: deadlock,
#: serialization failure, lock not available, unique violation (two transactions inserting the
#: same stock row or order id: the second run sees the first's row and acts on it).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03", "23505"})

T = TypeVar("T")


class RetryTransaction(Exception):
    """Raised by the service when rows changed between planning and locking: run it again."""


class Contention(OperationFailed):
    """A transaction still conflicted after `ATTEMPTS` tries (exit 1, nothing written)."""


def _regexp(pattern: str, value: str | None) -> bool:
    """SQLite's REGEXP operator: exactly the rule language's `matches` (`dsl.regex`), RE2 with
    `re.search` semantics in linear time, so no pattern can make a filter backtrack for minutes
    while the write lock is held, and SQL selects what the Python predicate does."""
    return regex_search(pattern, value)


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {
        # isolation_level=None hands transaction control to us (the pysqlite recipe), so the
        # "begin" listener below decides between BEGIN and BEGIN IMMEDIATE.
        "connect_args": {
            "isolation_level": None,
            "timeout": SQLITE_BUSY_SECONDS,
            "check_same_thread": False,
        },
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        # 64 MiB of page cache (the default is 2 MiB): batch runs write four tables and their
        # indexes chunk by chunk, and a small cache spent its time re-reading pages.
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()
        dbapi_conn.create_function("regexp", 2, _regexp, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("dibs_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    """An engine for `url`, tuned for dibs: WAL and immediate write transactions on SQLite."""
    if url in ("sqlite:///", "sqlite:"):
        raise BadInput(
            f"database URL {quoted(url)} names no file; use sqlite:///path/to/dibs.db "
            "(or sqlite:// for a throwaway in-memory database)"
        )
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return create_engine(
            url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
        )
    except Exception as exc:  # bad URL, missing driver: a user's input problem
        raise BadInput(f"cannot use database URL {quoted(url)}: {quoted(str(exc), 300)}") from exc


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, wrapped by SQLAlchemy or raised by a raw cursor."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str):
            return code
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            current = orig
            continue
        current = current.__cause__ or current.__context__
    return None


def is_retryable(exc: BaseException) -> bool:
    """A conflict that running the whole transaction again resolves (see the module docstring)."""
    if isinstance(exc, RetryTransaction):
        return True
    if _sqlstate(exc) in RETRYABLE_SQLSTATES:
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return isinstance(orig, sqlite3.OperationalError) and "database is locked" in str(orig)


class Store:
    """One database: its engine, its schema, and how dibs opens transactions on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._migrated = False
        #: Conflicts met and retried, by kind ("deadlock", …): for logs and the soak benchmark.
        self.conflicts: Counter[str] = Counter()
        #: SQLite writes one transaction at a time; this process's threads (`dibs serve`) queue
        #: for it here, in turn, instead of in SQLite's busy handler, which sleeps and polls
        #: (1, 2, 5 … 100 ms) and let a thread lose the lock again and again: the p99.
        self._writer = threading.RLock() if self.dialect == "sqlite" else None

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Store:
        """Open (and on first use create) the database at `url`.

        A URL that names a directory, a file that is not a SQLite database, or another
        application's database (tables but no dibs schema version) is refused (exit 2).
        """
        engine = make_engine(url)
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            problem = sqlite_file_problem(database)
            if problem:
                engine.dispose()
                raise BadInput(f"--db {quoted(database)} {problem}")
        store = cls(engine)
        if migrate:
            try:
                store.migrate()
            except Exception:
                store.dispose()
                raise
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest migration; cheap when it already is."""
        if self._migrated:
            return
        if self.engine.url.database in (None, "", ":memory:") and self.dialect == "sqlite":
            # A throwaway in-memory database (rule tests) has no history to migrate.
            metadata.create_all(self.engine)
        else:
            revision = self._checked_revision()
            if revision != SCHEMA_REVISION:
                from engine.store.migrate import upgrade

                upgrade(self.engine)
        self._migrated = True

    def _checked_revision(self) -> str | None:
        """The schema revision, refusing a database that dibs did not create (exit 2)."""
        with self.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" not in tables:
                if tables:
                    raise BadInput(
                        f"database {quoted(str(self.engine.url.database))} "
                        + foreign_tables_message(tables)
                    )
                return None
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        # The newest revision is ours without asking Alembic (importing it costs ~0.2 s of
        # every command's start).
        if revision not in (None, SCHEMA_REVISION) and revision not in _known_revisions():
            raise BadInput(
                f"database {quoted(str(self.engine.url.database))} is at schema revision "
                f"{quoted(revision)}, which this version of dibs does not know (another "
                "application's, or a newer dibs)"
            )
        return revision

    def schema_revision(self) -> str | None:
        """The migration the database is at (None for a new database)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that commits when the block ends and rolls back on any error."""
        with self._turn_to_write(), self.engine.connect() as conn:
            conn = conn.execution_options(dibs_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """SQLite: wait for this process's other writers, as long as SQLite's own busy timeout;
        then "database is locked", which `transaction` retries like SQLite's own."""
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=SQLITE_BUSY_SECONDS):
            raise sqlite3.OperationalError(
                "database is locked (by another write of this process, for "
                f"{SQLITE_BUSY_SECONDS} s)"
            )
        try:
            yield
        finally:
            self._writer.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (always rolled back)."""
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                yield conn
            finally:
                trans.rollback()

    def transaction(
        self, work: Callable[[Connection], T], attempts: int = ATTEMPTS, dry_run: bool = False
    ) -> T:
        """Run `work` in one write transaction, run whole again after a conflict (see above).

        With `dry_run` the same transaction is rolled back instead of committed: what a dry run
        reports is exactly what the real run would do at that moment. After `attempts` runs that
        all conflicted, `Contention` (exit 1); nothing of any run is kept.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as conn:
                    result = work(conn)
                    if dry_run:
                        conn.rollback()
                    return result
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                self.conflicts[_conflict_kind(exc)] += 1
                if attempt == attempts:
                    raise Contention(
                        f"database: the operation conflicted with concurrent ones {attempts} "
                        f"times in a row ({_conflict_kind(exc)}) and was given up; nothing was "
                        "changed, run it again"
                    ) from exc
                # Jittered backoff, so two transactions that met do not meet again in step.
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    def lock_stock(self, conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
        """Lock inventory rows on PostgreSQL, in sorted order; SQLite holds its write lock."""
        if not self.is_postgres or not keys:
            return
        # Missing rows are not created: a SKU without a row has nothing to reserve, and the
        # insert that later creates it only adds stock, which no reservation can race with.
        skus = sorted({s for s, _ in keys})
        for start in range(0, len(skus), 5000):
            conn.execute(
                select(inventory.c.sku)
                .where(inventory.c.sku.in_(skus[start : start + 5000]))
                .order_by(inventory.c.sku, inventory.c.warehouse)
                .with_for_update()
            ).all()

    def lock_orders(self, conn: Connection, ids: Sequence[str]) -> None:
        """Lock order rows on PostgreSQL, in id order; SQLite holds its write lock."""
        if not self.is_postgres or not ids:
            return
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 5000):
            conn.execute(
                select(orders.c.id)
                .where(orders.c.id.in_(wanted[start : start + 5000]))
                .order_by(orders.c.id)
                .with_for_update()
            ).all()

    def lock_sync(self, conn: Connection, ids: Sequence[str]) -> None:
        """Lock the orders a sync is about to read and write, by id, on PostgreSQL (see the
        lock order above), so two transactions syncing one order never both see it as new, or
        both judge it against the same stored copy; SQLite's write lock does it there.

        Which advisory locks, in what order: `engine.store.sync_lock`. Transaction-scoped:
        released by the commit or rollback.
        """
        if self.is_postgres:
            lock_sync_ids(conn, ids)

    def dispose(self) -> None:
        self.engine.dispose()


def _known_revisions() -> frozenset[str]:
    from engine.store.migrate import known_revisions

    return known_revisions()


def _conflict_kind(exc: BaseException) -> str:
    code = _sqlstate(exc)
    if code is None:
        return "rows changed while it ran" if isinstance(exc, RetryTransaction) else "busy"
    return {
        "40P01": "deadlock",
        "40001": "serialization failure",
        "55P03": "lock not available",
        "23505": "a concurrent insert of the same row",
    }.get(code, f"SQLSTATE {code}")
