"""Planner statistics: SQLite has none until ANALYZE runs; PostgreSQL's autovacuum keeps its own.

PostgreSQL's autovacuum analyses a table a minute or so after it changed much. A tick run in
between, right after an import of 100k orders into an empty shop, planned its chunk reads on
the statistics of empty tables (it hashed every order for each chunk of 2,000): 2.85 s of its
chunk reads against 0.58 s once analysed. So a bulk write of `ANALYZE_AT` orders or more
analyses the tables it filled as soon as it commits (`analyse_bulk_tables`, about 0.3 s: ANALYZE
samples at most 30,000 rows of a table).

Without statistics SQLite assumes `status = 'awaiting_fulfillment'` picks a handful of rows and
reads them through `ix_orders_open`, then sorts them all for `ORDER BY placed_at, id`: at 100k
open orders that is a sort of 100k rows for a page of 50. With statistics it walks
`ix_orders_placed_id` in order and stops after the page. `refresh` analyses the tables the
listings filter on, in full: a sampled ANALYZE (`analysis_limit`) caps its row estimates at the
sample size, which is exactly the wrong answer for a column with five values. It costs about
0.2 s per 100,000 orders, so callers run it now and then, not per request.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

#: The tables whose statistics decide the listings' plans.
TABLES = ("orders", "order_tags")
#: PostgreSQL: orders created or changed by one write from which its tables are analysed.
ANALYZE_AT = 20_000
#: The tables an import or a sync fills.
BULK_TABLES = ("orders", "order_lines", "order_tags", "events")
#: How long that ANALYZE waits for a table another session holds (a VACUUM, an index build):
#: the write it follows has committed, and autovacuum analyses the tables later anyway.
ANALYZE_LOCK_TIMEOUT_MS = 5_000


def refresh(conn: Connection) -> bool:
    """Bring the planner's statistics up to date where the database does not do it itself;
    True when something ran. The caller commits."""
    if conn.dialect.name != "sqlite":
        return False
    conn.exec_driver_sql("PRAGMA analysis_limit=0")
    for table in TABLES:
        conn.exec_driver_sql(f"ANALYZE {table}")
    return True


def analyse_bulk_tables(conn: Connection) -> None:
    """PostgreSQL: analyse the tables an import or a sync fills (`BULK_TABLES`), after a big
    one has committed (the caller decides what is big: `ANALYZE_AT`). A table locked for longer
    than `ANALYZE_LOCK_TIMEOUT_MS` raises (lock_timeout) rather than keeping the caller waiting."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(ANALYZE_LOCK_TIMEOUT_MS)}")
        conn.exec_driver_sql(f"ANALYZE {', '.join(BULK_TABLES)}")


def analyse_after(store: Any, orders: int) -> None:
    """After an import, a sync or an add that wrote `orders` orders (committed): on PostgreSQL,
    when that is `ANALYZE_AT` or more, analyse the tables it filled (`analyse_bulk_tables`).
    Should that fail (a table locked too long), it is a warning, not the write's error:
    autovacuum analyses them later."""
    if not store.is_postgres or orders < ANALYZE_AT:
        return
    try:
        with store.write() as conn:
            analyse_bulk_tables(conn)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        log.warning("the tables it filled were not analysed (%s)", reason)


__all__ = [
    "ANALYZE_AT",
    "ANALYZE_LOCK_TIMEOUT_MS",
    "BULK_TABLES",
    "TABLES",
    "analyse_after",
    "analyse_bulk_tables",
    "refresh",
]
