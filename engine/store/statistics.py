"""Planner statistics: SQLite has none until ANALYZE runs; PostgreSQL's autovacuum keeps its own.

Without statistics SQLite assumes `status = 'awaiting_fulfillment'` picks a handful of rows and
reads them through `ix_orders_open`, then sorts them all for `ORDER BY placed_at, id`: at 100k
open orders that is a sort of 100k rows for a page of 50. With statistics it walks
`ix_orders_placed_id` in order and stops after the page. `refresh` analyses the tables the
listings filter on, in full: a sampled ANALYZE (`analysis_limit`) caps its row estimates at the
sample size, which is exactly the wrong answer for a column with five values. It costs about
0.2 s per 100,000 orders, so callers run it now and then, not per request.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

#: The tables whose statistics decide the listings' plans.
TABLES = ("orders", "order_tags")


def refresh(conn: Connection) -> bool:
    """Bring the planner's statistics up to date where the database does not do it itself;
    True when something ran. The caller commits."""
    if conn.dialect.name != "sqlite":
        return False
    conn.exec_driver_sql("PRAGMA analysis_limit=0")
    for table in TABLES:
        conn.exec_driver_sql(f"ANALYZE {table}")
    return True


__all__ = ["TABLES", "refresh"]
