"""The transaction object every use case receives: one connection, its store, one clock.

The facade (`engine.service.Service`) opens it; the rule runner and previews open it once for a
whole tick and hand the same object to every use case, so "inside the caller's transaction" is
the only way an operation runs. A dry run is the same transaction rolled back
(`Store.transaction(dry_run=True)`).

The Tx remembers which stock and order rows it has locked, so a use case called inside a bigger
transaction locks only what it does not hold yet, and can check that what it is about to touch
is locked (`require_stock`): the lock order is in `engine.store.database`. Status changes
are noted on `changes` and written as `allocation.changed` events by `finish`, which the
facade calls before the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from engine.memory import collector_paused
from engine.model import StockKey
from engine.service.changes import StatusChanges
from engine.service.records import Clock
from engine.store import Store
from engine.store.bulk import Bulk
from engine.store.database import RetryTransaction


@dataclass(frozen=True)
class Tx:
    """One open write transaction."""

    conn: Connection
    store: Store
    clock: Clock
    stock_locked: set[StockKey] = field(default_factory=set)
    orders_locked: set[str] = field(default_factory=set)
    changes: StatusChanges = field(default_factory=StatusChanges)

    def now(self) -> datetime:
        return self.clock()

    def lock_stock(self, keys: Iterable[StockKey]) -> None:
        """Lock the stock rows of `keys` (sorted; the ones this Tx holds already are skipped)."""
        new = set(keys) - self.stock_locked
        if new:
            self.store.lock_stock(self.conn, sorted(new))
            self.stock_locked.update(new)

    def lock_orders(self, ids: Iterable[str]) -> None:
        """Lock order rows by id (after their stock: see the lock order)."""
        new = set(ids) - self.orders_locked
        if new:
            self.store.lock_orders(self.conn, sorted(new))
            self.orders_locked.update(new)

    def require_stock(self, keys: Iterable[StockKey]) -> None:
        """Refuse to go on (the transaction is run again) if some of `keys` is not locked.

        Orders are read once without locks to learn which stock to lock; when their lines
        changed before the locks were held, locking more now would break the lock order.
        """
        if self.store.is_postgres and not set(keys) <= self.stock_locked:
            raise RetryTransaction("order lines changed while their stock was being locked")

    def finish(self) -> None:
        """Write what the transaction noted (its `allocation.changed` events): call once, last."""
        if not self.changes.empty:
            # Many rows, no cycles: a collection over the big heap a batch leaves is waste.
            with collector_paused():
                self.changes.flush(Bulk(self.conn), self.now())
