"""The locks a sync takes on PostgreSQL before it reads anything (`Store.lock_sync`; the lock
order is in `engine.store.database`).

A sync of at most `SYNC_KEY_LOCKS` orders (a webhook delivery, a small file) takes the sync-wide
advisory key shared, then one exclusive advisory key per order id, in sorted order, in one
statement; a bigger sync takes the sync-wide key exclusively instead, since PostgreSQL keeps
advisory locks in a shared table of limited size. All are transaction-scoped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

#: The sync-wide advisory lock ("dibs" in ASCII, then "sync"): shared by every sync of a few
#: orders, exclusive for a bigger one.
SYNC_LOCK_KEY = 0x64696273_73796E63
#: A sync of at most this many orders locks each of them (plus the shared sync-wide key); a
#: bigger one takes the sync-wide key alone. Well under PostgreSQL's default
#: max_locks_per_transaction (64), which sizes the shared lock table.
SYNC_KEY_LOCKS = 32

#: The first key shared, the others exclusive, in the array's order (WITH ORDINALITY keeps it).
_LOCK_KEYS = text(
    "SELECT count(CASE WHEN n = 1 THEN pg_advisory_xact_lock_shared(k) "
    "ELSE pg_advisory_xact_lock(k) END) "
    "FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS t(k, n)"
)


def sync_key(order_id: str) -> int:
    """The advisory lock key of one order id (a signed 64-bit digest; never the sync-wide key).
    Two ids sharing a key only wait for each other."""
    digest = hashlib.blake2b(order_id.encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    return key ^ 1 if key == SYNC_LOCK_KEY else key


def lock_sync_ids(conn: Connection, ids: Sequence[str]) -> None:
    """Take a sync's advisory locks on a PostgreSQL connection (see the module docstring)."""
    keys = sorted({sync_key(i) for i in ids})
    if len(keys) > SYNC_KEY_LOCKS:
        conn.execute(select(func.pg_advisory_xact_lock(SYNC_LOCK_KEY)))
        return
    conn.execute(_LOCK_KEYS, {"keys": [SYNC_LOCK_KEY, *keys]})
