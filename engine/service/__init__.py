"""The allocation core's operations (SPEC §4), one module per use case.

`stock`, `orders` (create, tags, edit, split), `allocation` (allocate, deallocate, reallocate;
the batch hot path in `batch`), `release` (release and close: ship, cancel, dropship), `cover`
(coverage and statuses after any change) and `read` (listings, with the JSON shapes in
`shapes`). Each use case is a function of a `Tx`, the open transaction; `Service` is the thin
facade the command line calls, which opens that transaction (and retries it whole after a
deadlock). The rule runner opens one `Tx` for a whole tick and calls the use cases inside it.

`allocation` (the batch engine and the tick's rule plans) and `sync`/`importing` (the channel
readers) are imported by the methods that use them: every command opens a `Service`, and
`dibs orders show` should not load the batch engine and every file reader to read one order
(docs/cli.md, "Start-up"; tests/unit/cli/test_startup.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Connection

from engine.model import Actor, Order, Policy
from engine.service import edits, kits, read, release, splits, stock
from engine.service import orders as order_ops
from engine.service.records import AllocationReport, Clock, Progress, QueueEntry, utcnow
from engine.service.shapes import iso, order_json
from engine.service.tx import Tx
from engine.store import Store
from engine.store.ordering import parse_order_by
from engine.store.rows import load_orders

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from engine.io.incoming import IncomingOrder, IncomingSource
    from engine.service.sync import SyncReport

T = TypeVar("T")


class Service:
    """The operations over one store, each one transaction (SPEC §4)."""

    def __init__(self, store: Store, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock

    # ------------------------------------------------------------------------- transactions

    def run(self, work: Callable[[Tx], T], dry_run: bool = False) -> T:
        """Run `work` in one write transaction (rolled back when `dry_run`); the status changes
        it noted are written as `allocation.changed` events in the same transaction."""

        def whole(conn: Connection) -> T:
            tx = self.tx(conn)
            result = work(tx)
            tx.finish()
            return result

        return self.store.transaction(whole, dry_run=dry_run)

    def tx(self, conn: Connection) -> Tx:
        """The transaction object for a connection the caller already holds."""
        return Tx(conn, self.store, self.clock)

    # ---------------------------------------------------------------------------- stock

    def change_stock(
        self, sku: str, warehouse: str, qty: int, kind: str, actor: Actor = Actor()
    ) -> dict[str, Any]:
        """`kind` is `set` (absolute), `adjusted` (signed delta) or `received` (positive).

        The SKU and warehouse are trimmed, as an inventory file's cells are: `" MUG "` would be
        stock that no order line (trimmed too) ever names."""
        sku, warehouse = sku.strip(), warehouse.strip()
        stock.check_change(sku, warehouse, qty, kind)
        return self.run(lambda tx: stock.change(tx, sku, warehouse, qty, kind))

    def import_inventory(
        self, rows: Sequence[tuple[str, str, int]], places: Mapping[str, str] | None = None
    ) -> int:
        """Set on hand for many (sku, warehouse) at once; one transaction. `places` (sku ->
        `file:line`) names a refused row (a kit SKU) in its file."""
        return self.run(lambda tx: stock.import_rows(tx, rows, places))

    def list_inventory(self, sku: str | None = None) -> list[dict[str, Any]]:
        """Stock rows, of one SKU if given (trimmed, as every stored SKU is)."""
        sku = sku.strip() if sku is not None else None
        with self.store.read() as conn:
            return read.list_inventory(conn, sku)

    # ----------------------------------------------------------------------------- kits

    def set_kits(
        self,
        definitions: Mapping[str, Sequence[tuple[str, int]]],
        places: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Define or redefine kits, all or none (SPEC §12); returns them as `kits list` rows."""
        return self.run(lambda tx: kits.set_kits(tx, definitions, places))

    def remove_kit(self, kit: str) -> None:
        """Remove a kit (refused while open orders hold reservations for it)."""
        self.run(lambda tx: kits.remove_kit(tx, kit))

    def list_kits(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return kits.list_kits(conn)

    # --------------------------------------------------------------------------- orders

    def add_orders(self, new: Sequence[Order], progress: Progress | None = None) -> int:
        """Create new orders (import / add). Any existing id refuses the whole batch."""
        order_ops.check_new(new)
        added = self.run(lambda tx: order_ops.add(tx, new, progress))
        self._analyse_after(added)
        return added

    def get_order(self, order_id: str, conn: Connection | None = None) -> Order:
        """The order with its lines (and how much of each is reserved); exit 1 if unknown."""
        if conn is not None:
            return order_ops.get(self.tx(conn), order_id)
        with self.store.read() as own:
            return order_ops.get(self.tx(own), order_id)

    def order_document(self, order_id: str) -> dict[str, Any]:
        """`orders show --json` (SPEC §8, §12): the order and where its reserved units are."""
        with self.store.read() as conn:
            return read.order_document(conn, order_ops.get(self.tx(conn), order_id))

    def load_orders(self, conn: Connection, ids: Sequence[str]) -> dict[str, Order]:
        """Whole orders by id (missing ids are simply absent)."""
        return load_orders(conn, ids)

    def list_orders(self, query: read.OrderQuery = read.OrderQuery()) -> list[dict[str, Any]]:
        """Summary rows (the `orders list` table) of the orders `query` selects."""
        with self.store.read() as conn:
            return read.list_orders(conn, query)

    def order_documents(self, query: read.OrderQuery = read.OrderQuery()) -> list[dict[str, Any]]:
        """The orders `query` selects as `orders show --json` objects."""
        with self.store.read() as conn:
            return read.order_documents(conn, query)

    def known_values(self, kind: str) -> list[str]:
        """Every channel, tag, warehouse or SKU in the database (for did-you-mean hints)."""
        with self.store.read() as conn:
            return read.known_values(conn, kind)

    def edit(
        self, order_id: str, new_lines: Sequence[tuple[str, int]], actor: Actor = Actor()
    ) -> Order:
        """Replace an order's lines (SPEC §4 edit); reservations trimmed or released."""
        order_ops.check_lines(new_lines)
        return self.run(lambda tx: order_ops.edit(tx, order_id, new_lines, actor))

    def update_order(
        self, order_id: str, change: Callable[[Order], Order], actor: Actor = Actor()
    ) -> tuple[Order, bool]:
        """Edit an open order's fields and/or lines by hand (SPEC §9): `change` gives the order
        as it should be; one transaction, one `order.updated` (none if nothing changed)."""
        return self.run(lambda tx: edits.update_fields(tx, order_id, change, actor))

    def tag(
        self, ids: Sequence[str], label: str, add: bool = True, actor: Actor = Actor()
    ) -> list[str]:
        """Add (`add`) or remove a tag on several orders; the ids whose tags changed."""
        return self.run(lambda tx: edits.tag(tx, ids, label, add, actor))

    def import_orders(
        self, incoming: Sequence[IncomingOrder], progress: Progress | None = None
    ) -> list[str]:
        """Create every incoming order, or none when any id exists (import without --sync)."""
        from engine.service import sync

        sync.check_incoming(incoming)
        created = self.run(lambda tx: sync.import_new(tx, incoming, progress))
        self._analyse_after(len(created))
        return created

    def import_file(self, source: IncomingSource, progress: Progress | None = None) -> list[str]:
        """Create every order of an order file, streamed chunk by chunk in one transaction, or
        none when the file has any problem or any id exists (`engine.service.importing`). The
        first chunk is read and checked before the write transaction begins."""
        from engine.service import importing

        source.read_ahead(importing.CHUNK)
        sqlite = not self.store.is_postgres
        expected = importing.expected_orders(source, progress is not None, sqlite)
        created = self.run(lambda tx: importing.import_source(tx, source, expected, progress))
        self._analyse_after(len(created))
        return created

    def _analyse_after(self, orders: int) -> None:
        """PostgreSQL: the tables a big write filled, analysed once it has committed."""
        from engine.store import statistics

        statistics.analyse_after(self.store, orders)

    def sync_orders(
        self,
        incoming: Sequence[IncomingOrder],
        actor: Actor = Actor("sync"),
        progress: Progress | None = None,
    ) -> SyncReport:
        """Sync orders from a channel (SPEC §9) in one transaction."""
        from engine.service import sync

        sync.check_incoming(incoming)
        report = self.run(lambda tx: sync.sync_orders(tx, incoming, actor, progress))
        self._analyse_after(len(report.created) + len(report.updated))
        return report

    def split(self, order_id: str, actor: Actor = Actor()) -> tuple[Order, Order]:
        """Move the unreserved units into a new order `<id>-N`; the original keeps the rest."""

        def work(tx: Tx) -> tuple[Order, Order]:
            kept, child = splits.split(tx, order_id, actor)
            return order_ops.get(tx, kept), order_ops.get(tx, child)

        return self.run(work)

    # ------------------------------------------------------------------------ allocation

    def allocate(
        self,
        ids: Sequence[str] | None = None,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[tuple[str, bool]] = (),
        policy: Policy = Policy.LINES,
        actor: Actor = Actor(),
        dry_run: bool = False,
        progress: Progress | None = None,
        warehouses: Sequence[str] | None = None,
        detail: bool = True,
    ) -> AllocationReport:
        """Allocate the named orders, or every open order matching `where` (SPEC §4); with
        `warehouses`, from those warehouses in that order of preference (SPEC §12). Without
        `detail` the report is a summary (`AllocationReport.detail`)."""
        from engine.service import allocation

        return self.run(
            lambda tx: allocation.allocate(
                tx, ids, where, order_by, policy, actor, progress, warehouses, detail
            ),
            dry_run=dry_run,
        )

    def deallocate(
        self,
        ids: Sequence[str] | None = None,
        where: ColumnElement[bool] | None = None,
        actor: Actor = Actor(),
        dry_run: bool = False,
    ) -> AllocationReport:
        """Release every reservation of the named orders (or of the open orders `where` picks)."""
        from engine.service import allocation

        return self.run(lambda tx: allocation.deallocate(tx, ids, where, actor), dry_run=dry_run)

    def reallocate(
        self,
        ids: Sequence[str],
        policy: Policy = Policy.LINES,
        actor: Actor = Actor(),
        warehouses: Sequence[str] | None = None,
    ) -> AllocationReport:
        """Deallocate then allocate, in one transaction: the orders go to the back of the queue."""
        from engine.service import allocation

        return self.run(lambda tx: allocation.reallocate(tx, ids, policy, actor, warehouses))

    def finish(self, ids: Sequence[str], how: str, actor: Actor = Actor()) -> list[str]:
        """Ship, cancel or dropship orders; all of them or none (unknown/closed -> exit 1)."""
        return self.run(lambda tx: release.finish(tx, ids, how, actor))

    def cover_lost_by_shipping(self, ids: Sequence[str]) -> list[str]:
        """Other orders that shipping `ids` would make overallocated (a dry run; writes nothing)."""
        return self.run(lambda tx: release.cover_lost_by_shipping(tx, ids), dry_run=True)

    # -------------------------------------------------------------------------- history

    def history(self, order_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            self.get_order(order_id, conn)
            return read.history(conn, order_id)

    def reservations_of(self, order_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return read.reservations_of(conn, order_id)


__all__ = [
    "Actor",
    "AllocationReport",
    "QueueEntry",
    "Service",
    "Tx",
    "iso",
    "order_json",
    "parse_order_by",
    "utcnow",
]
