"""Engines for SQLite and PostgreSQL, transactions and locks (the schema is `engine.store.schema`).

Transactions: `Store.write()` opens a write transaction. On SQLite that is `BEGIN IMMEDIATE`
(Python's sqlite3 would otherwise start the transaction lazily and let read-then-write race);
on PostgreSQL the service locks the inventory rows it needs with `SELECT … ORDER BY sku,
warehouse FOR UPDATE`, sorted so that two transactions never wait on each other in a circle.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from engine.errors import BadInput
from engine.store.schema import inventory, metadata, orders

DEFAULT_URL = "sqlite:///dibs.db"
#: The newest shipped migration; a test checks it against Alembic's head.
SCHEMA_REVISION = "0006"

T = TypeVar("T")


def _regexp(pattern: str, value: str | None) -> bool:
    """SQLite's REGEXP operator; `re.search` semantics like the rule language's `matches`."""
    if value is None:
        return False
    return re.search(pattern, value) is not None


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {
        # isolation_level=None hands transaction control to us (the pysqlite recipe), so the
        # "begin" listener below decides between BEGIN and BEGIN IMMEDIATE.
        "connect_args": {"isolation_level": None, "timeout": 30, "check_same_thread": False},
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
        cur.execute("PRAGMA busy_timeout=30000")
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
            f"database URL {url!r} names no file; use sqlite:///path/to/dibs.db "
            "(or sqlite:// for a throwaway in-memory database)"
        )
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # bad URL, missing driver: a user's input problem
        raise BadInput(f"cannot use database URL {url!r}: {exc}") from exc


def _is_retryable(exc: DBAPIError) -> bool:
    """Deadlocks and serialization failures on PostgreSQL, a busy SQLite after its timeout."""
    code = getattr(exc.orig, "sqlstate", None)
    if code in ("40P01", "40001", "55P03"):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


class Store:
    """One database: its engine, its schema, and how dibs opens transactions on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._migrated = False

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Store:
        """Open (and on first use create) the database at `url`."""
        store = cls(make_engine(url))
        if migrate:
            store.migrate()
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest migration; cheap when it already is."""
        if self._migrated:
            return
        if self.engine.url.database in (None, "", ":memory:") and self.dialect == "sqlite":
            # A throwaway in-memory database (rule tests) has no history to migrate.
            metadata.create_all(self.engine)
        elif self.schema_revision() != SCHEMA_REVISION:
            from engine.store.migrate import upgrade

            upgrade(self.engine)
        self._migrated = True

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
        with self.engine.connect() as conn:
            conn = conn.execution_options(dibs_write=True)
            with conn.begin():
                yield conn

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
        self, work: Callable[[Connection], T], attempts: int = 5, dry_run: bool = False
    ) -> T:
        """Run `work` in one write transaction, retrying it after a deadlock or busy database.

        With `dry_run` the same transaction is rolled back instead of committed: what a dry run
        reports is exactly what the real run would do at that moment.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as conn:
                    result = work(conn)
                    if dry_run:
                        conn.rollback()
                    return result
            except DBAPIError as exc:
                if attempt == attempts or not _is_retryable(exc):
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def lock_stock(self, conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
        """Lock inventory rows on PostgreSQL, in sorted order; SQLite holds its write lock."""
        if not self.is_postgres or not keys:
            return
        # Missing rows are not created: a SKU without a row has nothing to reserve, and the
        # insert that later creates it only adds stock, which no reservation can race with.
        ordered = sorted(set(keys))
        skus = sorted({s for s, _ in ordered})
        conn.execute(
            select(inventory.c.sku)
            .where(inventory.c.sku.in_(skus))
            .order_by(inventory.c.sku, inventory.c.warehouse)
            .with_for_update()
        ).all()

    def lock_orders(self, conn: Connection, ids: Sequence[str]) -> None:
        """Lock order rows on PostgreSQL, in id order; SQLite holds its write lock."""
        if not self.is_postgres or not ids:
            return
        conn.execute(
            select(orders.c.id)
            .where(orders.c.id.in_(sorted(set(ids))))
            .order_by(orders.c.id)
            .with_for_update()
        ).all()

    def dispose(self) -> None:
        self.engine.dispose()
