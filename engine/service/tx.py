"""The transaction object every use case receives: one connection, its store, one clock.

The facade (`engine.service.Service`) opens it; the rule runner and previews open it once for a
whole tick and hand the same object to every use case, so "inside the caller's transaction" is
the only way an operation runs. A dry run is the same transaction rolled back
(`Store.transaction(dry_run=True)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from engine.service.records import Clock
from engine.store import Store


@dataclass(frozen=True)
class Tx:
    """One open write transaction."""

    conn: Connection
    store: Store
    clock: Clock

    def now(self) -> datetime:
        return self.clock()

    def lock_stock(self, keys: list[tuple[str, str]] | set[tuple[str, str]]) -> None:
        self.store.lock_stock(self.conn, sorted(set(keys)))
