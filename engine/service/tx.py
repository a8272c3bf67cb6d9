"""The transaction object every use case receives: one connection, its store, one clock.

The facade (`engine.service.Service`) opens it; the rule runner and previews open it once for a
whole tick and hand the same object to every use case, so "inside the caller's transaction" is
the only way an operation runs. A dry run is the same transaction rolled back
(`Store.transaction(dry_run=True)`). Status changes are noted on `changes` and written as
`allocation.changed` events by `finish`, which the facade calls before the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from engine.memory import collector_paused
from engine.service.changes import StatusChanges
from engine.service.records import Clock
from engine.store import Store
from engine.store.bulk import Bulk


@dataclass(frozen=True)
class Tx:
    """One open write transaction."""

    conn: Connection
    store: Store
    clock: Clock
    changes: StatusChanges = field(default_factory=StatusChanges)

    def now(self) -> datetime:
        return self.clock()

    def lock_stock(self, keys: list[tuple[str, str]] | set[tuple[str, str]]) -> None:
        self.store.lock_stock(self.conn, sorted(set(keys)))

    def finish(self) -> None:
        """Write what the transaction noted (its `allocation.changed` events): call once, last."""
        if not self.changes.empty:
            # Many rows, no cycles: a collection over the big heap a batch leaves is waste.
            with collector_paused():
                self.changes.flush(Bulk(self.conn), self.now())
