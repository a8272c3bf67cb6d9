"""The operations of SPEC §4, each one database transaction that writes its ledger and events.

The decisions come from `engine.model`; this module reads the rows the model needs, applies
what it decides and keeps the denormalised counters (inventory.allocated, order_lines.reserved,
reservations.covered) in step within the same transaction. Batch allocation lives in
`engine.batch`, bulk row access in `engine.rows`, the records it returns in `engine.records`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from engine import batch, model
from engine.bulk import Bulk, collector_paused
from engine.errors import BadInput, OperationFailed, OrdersExist
from engine.fields import MAX_QTY
from engine.model import AllocationStatus, Order, OrderStatus, Policy, StockKey
from engine.records import (
    Actor,
    AllocationReport,
    Clock,
    Progress,
    QueueEntry,
    iso,
    ledger_row,
    needs_python_sort,
    normal_decimal,
    order_by_clauses,
    order_json,
    parse_order_by,
    stock_row,
    utcnow,
)
from engine.rows import existing_ids, insert_orders, load_orders, load_stock
from engine.store import (
    Store,
    events,
    inventory,
    ledger,
    order_lines,
    order_tags,
    orders,
    reservations,
)
from rules.tick import sort_order_ids

CHUNK = batch.CHUNK


class Service:
    """The allocation core's operations over one store."""

    def __init__(self, store: Store, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock

    # ----------------------------------------------------------------------------------- stock

    def change_stock(
        self, sku: str, warehouse: str, qty: int, kind: str, actor: Actor = Actor()
    ) -> dict[str, Any]:
        """`kind` is `set` (absolute), `adjusted` (signed delta) or `received` (positive delta)."""
        if kind == "received" and qty <= 0:
            raise BadInput(f"receive: quantity must be a positive whole number, got {qty}")
        if kind == "set" and qty < 0:
            raise BadInput(f"set: on hand cannot be set below zero, got {qty}")
        if not sku.strip():
            raise BadInput("a SKU cannot be empty")
        if not warehouse.strip():
            raise BadInput("a warehouse name cannot be empty (the default is main)")
        if abs(qty) > MAX_QTY:
            raise BadInput(f"{kind}: quantity {qty} is out of range (at most {MAX_QTY:,})")

        def work(conn: Connection) -> dict[str, Any]:
            self.store.lock_stock(conn, [(sku, warehouse)])
            self._apply_stock(conn, [(sku, warehouse, qty)], kind)
            return self._stock_rows(conn, [(sku, warehouse)])[0]

        return self.store.transaction(work)

    def import_inventory(self, rows: Sequence[tuple[str, str, int]]) -> int:
        """Set on hand for many (sku, warehouse) at once; one transaction."""

        def work(conn: Connection) -> int:
            self.store.lock_stock(conn, [(s, w) for s, w, _ in rows])
            self._apply_stock(conn, rows, "set")
            return len(rows)

        return self.store.transaction(work)

    def _apply_stock(
        self, conn: Connection, rows: Sequence[tuple[str, str, int]], kind: str
    ) -> None:
        now = self.clock()
        keys = [(s, w) for s, w, _ in rows]
        current = load_stock(conn, keys)
        changed: list[StockKey] = []
        event_rows = []
        for sku, warehouse, qty in rows:
            on_hand, allocated = current.get((sku, warehouse), (0, 0))
            new = qty if kind == "set" else on_hand + qty
            if abs(new) > MAX_QTY:  # the column is a 32-bit integer on every backend
                raise BadInput(f"{sku} @ {warehouse}: on hand would become {new}, out of range "
                               f"(at most {MAX_QTY:,} either way); nothing changed")
            if (sku, warehouse) not in current:
                conn.execute(insert(inventory).values(sku=sku, warehouse=warehouse, on_hand=new,
                                                      allocated=0))
            elif new != on_hand:
                conn.execute(update(inventory).where(inventory.c.sku == sku,
                                                     inventory.c.warehouse == warehouse)
                             .values(on_hand=new))
            current[(sku, warehouse)] = (new, allocated)
            changed.append((sku, warehouse))
            event_rows.append({"at": now, "type": "inventory.changed", "order_id": None,
                               "payload": {"kind": kind, "sku": sku, "warehouse": warehouse,
                                           "delta": new - on_hand, "on_hand": new}})
        if event_rows:
            conn.execute(insert(events), event_rows)
        self._recover(conn, changed)


    def _stock_rows(self, conn: Connection, keys: Sequence[StockKey]) -> list[dict[str, Any]]:
        stock = load_stock(conn, keys)
        return [stock_row(sku, wh, *stock.get((sku, wh), (0, 0))) for sku, wh in keys]

    def list_inventory(self, sku: str | None = None) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            query = select(inventory).order_by(inventory.c.sku, inventory.c.warehouse)
            if sku:
                query = query.where(inventory.c.sku == sku)
            return [stock_row(r.sku, r.warehouse, r.on_hand, r.allocated)
                    for r in conn.execute(query)]

    # ---------------------------------------------------------------------------------- orders

    def add_orders(self, new: Sequence[Order], progress: Progress | None = None) -> int:
        """Create new orders (import / add). Any existing id refuses the whole batch."""
        ids = [o.id for o in new]
        if len(set(ids)) != len(ids):
            raise BadInput("the same order id appears twice in one import")
        # The importers validate files; this guards every other caller (and the database).
        bad = [o.id for o in new if not o.lines or any(x.qty <= 0 for x in o.lines)]
        if bad:
            raise BadInput(f"orders need at least one line and positive quantities: {bad[:10]}")

        def work(conn: Connection) -> int:
            taken = existing_ids(conn, ids)
            if taken:
                shown = ", ".join(sorted(taken)[:10])
                more = f" and {len(taken) - 10} more" if len(taken) > 10 else ""
                raise OrdersExist(f"order id already exists: {shown}{more}; nothing imported "
                                  "(dibs never overwrites an order on import)", sorted(taken))
            now = self.clock()
            with collector_paused():
                for start in range(0, len(new), CHUNK * 5):
                    insert_orders(conn, new[start:start + CHUNK * 5], now,
                                        "order.created")
                    if progress:
                        progress(min(start + CHUNK * 5, len(new)), len(new))
            return len(new)

        return self.store.transaction(work)



    def get_order(self, order_id: str, conn: Connection | None = None) -> Order:
        """The order with its lines (and how much of each is reserved); exit 1 if unknown."""
        if conn is None:
            with self.store.read() as own:
                return self.get_order(order_id, own)
        found = self.load_orders(conn, [order_id])
        if order_id not in found:
            raise OperationFailed(f"no order with id {order_id!r}")
        return found[order_id]


    def load_orders(self, conn: Connection, ids: Sequence[str]) -> dict[str, Order]:
        """Whole orders by id (missing ids are simply absent)."""
        return load_orders(conn, ids)

    def allocate_queue(
        self,
        conn: Connection,
        entries: Iterable[QueueEntry],
        total: int,
        report: AllocationReport,
        progress: Progress | None = None,
    ) -> None:
        """Allocate `entries` in queue order inside the caller's transaction (engine.batch)."""
        batch.allocate_queue(self.store, conn, entries, report, self.clock, progress)

    def list_orders(
        self, statuses: Sequence[str] = (), channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Orders matching either kind of status (order or allocation), FIFO order."""
        query = select(orders.c.id, orders.c.channel, orders.c.placed_at, orders.c.status,
                       orders.c.allocation_status, orders.c.shipping_method,
                       orders.c.ship_to_country, orders.c.line_count, orders.c.unit_count,
                       orders.c.total)
        if statuses:
            query = query.where((orders.c.status.in_(statuses))
                                | (orders.c.allocation_status.in_(statuses)))
        if channel:
            query = query.where(orders.c.channel == channel)
        query = query.order_by(orders.c.placed_at, orders.c.id)
        with self.store.read() as conn:
            return [
                {"id": r.id, "channel": r.channel, "placed_at": iso(r.placed_at),
                 "status": r.status, "allocation_status": r.allocation_status,
                 "shipping_method": r.shipping_method, "country": r.ship_to_country,
                 "lines": r.line_count, "units": r.unit_count,
                 "total": None if r.total is None else str(normal_decimal(r.total))}
                for r in conn.execute(query)
            ]

    # ------------------------------------------------------------------------------ allocation

    def allocate(
        self,
        ids: Sequence[str] | None = None,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[tuple[str, bool]] = (),
        policy: Policy = Policy.LINES,
        actor: Actor = Actor(),
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> AllocationReport:
        """Allocate the named orders (in `order_by` order), or every open order matching `where`.

        With `ids=None` the selection is every awaiting order that allocation can change
        (not allocated, not overallocated) and that satisfies `where`.
        """

        def work(conn: Connection) -> AllocationReport:
            report = AllocationReport()
            queue = self._select_for_allocation(conn, ids, where, order_by, report)
            entries = (QueueEntry(oid, policy, actor) for oid in queue)
            self.allocate_queue(conn, entries, len(queue), report, progress)
            if dry_run:
                conn.rollback()
            return report

        return self.store.transaction(work)

    def _select_for_allocation(
        self,
        conn: Connection,
        ids: Sequence[str] | None,
        where: ColumnElement[bool] | None,
        order_by: Sequence[tuple[str, bool]],
        report: AllocationReport,
    ) -> list[str]:
        query = select(orders.c.id)
        if ids is not None:
            query = query.where(orders.c.id.in_(self._resolve(conn, ids, None, report)))
        else:
            query = query.where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT,
                                orders.c.allocation_status.not_in(list(model.SETTLED)))
        if where is not None:
            query = query.where(where)
        if needs_python_sort(order_by):
            selected = list(conn.execute(query).scalars())
            return sort_order_ids(selected, load_orders(conn, selected), order_by, self.clock())
        return list(conn.execute(query.order_by(*order_by_clauses(order_by))).scalars())

    def deallocate(
        self,
        ids: Sequence[str] | None = None,
        where: ColumnElement[bool] | None = None,
        actor: Actor = Actor(),
    ) -> AllocationReport:
        """Release every reservation of the named orders (or of the open orders `where` picks)."""

        def work(conn: Connection) -> AllocationReport:
            report = AllocationReport()
            targets = self._resolve(conn, ids, where, report)
            self.release_orders(conn, targets, "deallocate", actor, report)
            return report

        return self.store.transaction(work)

    def reallocate(
        self, ids: Sequence[str], policy: Policy = Policy.LINES, actor: Actor = Actor()
    ) -> AllocationReport:
        """Deallocate then allocate, in one transaction: the orders go to the back of the queue."""

        def work(conn: Connection) -> AllocationReport:
            released = AllocationReport()
            targets = self._resolve(conn, ids, None, released)
            self.release_orders(conn, targets, "reallocate", actor, released)
            report = AllocationReport(skipped=released.skipped)
            self.allocate_queue(conn, (QueueEntry(t, policy, actor) for t in targets),
                                len(targets), report)
            before = {r["id"]: r["before"] for r in released.results}
            for row in report.results:
                row["before"] = before.get(row["id"], row["before"])
            return report

        return self.store.transaction(work)

    def _resolve(
        self,
        conn: Connection,
        ids: Sequence[str] | None,
        where: ColumnElement[bool] | None,
        report: AllocationReport,
    ) -> list[str]:
        """Named orders (unknown: exit 1; not awaiting: skipped), or the open ones `where` picks."""
        if ids is None:
            query = select(orders.c.id).where(
                orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
            if where is not None:
                query = query.where(where)
            return list(conn.execute(query.order_by(orders.c.placed_at, orders.c.id)).scalars())
        wanted = list(dict.fromkeys(ids))
        states: dict[str, str] = {}
        for start in range(0, len(wanted), CHUNK):
            states.update((oid, status) for oid, status in conn.execute(
                select(orders.c.id, orders.c.status)
                .where(orders.c.id.in_(wanted[start:start + CHUNK]))))
        unknown = [oid for oid in wanted if oid not in states]
        if unknown:
            raise OperationFailed(f"no order with id {', '.join(map(repr, unknown))}")
        out = []
        for oid in wanted:
            if states[oid] != OrderStatus.AWAITING_FULFILLMENT:
                report.skipped.append({"id": oid, "reason": f"order is {states[oid]}"})
            else:
                out.append(oid)
        return out

    def release_orders(
        self,
        conn: Connection,
        ids: Sequence[str],
        operation: str,
        actor: Actor,
        report: AllocationReport | None = None,
        new_status: str | None = None,
        also_recover: Iterable[StockKey] = (),
    ) -> None:
        """Release every reservation of `ids`, write the ledger, recompute cover for the stock.

        `new_status` sets the order status too (ship, cancel, dropship); `also_recover` names
        stock the caller changed too (shipping), so cover is recomputed once for all of it.
        """
        if len(ids) > CHUNK:  # bounded IN lists (PostgreSQL takes at most 65,535 parameters)
            for start in range(0, len(ids), CHUNK):
                self.release_orders(conn, ids[start:start + CHUNK], operation, actor, report,
                                    new_status, also_recover)
            return
        if not ids:
            return
        now = self.clock()
        held_query = (
            select(reservations.c.seq, reservations.c.order_id, reservations.c.line_no,
                   reservations.c.sku, reservations.c.warehouse, reservations.c.qty)
            .where(reservations.c.order_id.in_(ids))
        )
        held = conn.execute(held_query).all()
        keys = sorted({(r.sku, r.warehouse) for r in held})
        if self.store.is_postgres:
            # A concurrent allocate may reserve for these orders until we hold the stock of
            # every line (it needs those locks too): lock them all, then read what is held again.
            keys = sorted({*keys, *((r.sku, r.warehouse) for r in conn.execute(
                select(order_lines.c.sku, orders.c.warehouse)
                .join(orders, orders.c.id == order_lines.c.order_id)
                .where(order_lines.c.order_id.in_(ids))))})
            self.store.lock_stock(conn, keys)
            held = conn.execute(held_query).all()
        else:
            self.store.lock_stock(conn, keys)
        released: dict[StockKey, int] = defaultdict(int)
        for r in held:
            released[(r.sku, r.warehouse)] += r.qty
        if held:
            conn.execute(ledger.insert(), [
                ledger_row(now, r.order_id, r.line_no, r.sku, r.warehouse, -r.qty, operation,
                            actor) for r in held])
            conn.execute(delete(reservations).where(reservations.c.order_id.in_(ids)))
            conn.execute(update(order_lines).where(order_lines.c.order_id.in_(ids))
                         .values(reserved=0))
            for (sku, wh), qty in released.items():
                conn.execute(update(inventory).where(inventory.c.sku == sku,
                                                     inventory.c.warehouse == wh)
                             .values(allocated=inventory.c.allocated - qty))
        before = dict(conn.execute(select(orders.c.id, orders.c.allocation_status)
                                   .where(orders.c.id.in_(ids))).all())
        values: dict[str, Any] = {"allocation_status": AllocationStatus.UNALLOCATED,
                                  "updated_at": now}
        if new_status:
            values["status"] = new_status
        conn.execute(update(orders).where(orders.c.id.in_(ids)).values(**values))
        if report is not None:
            report.results.extend({"id": oid, "before": before[oid],
                                   "after": str(AllocationStatus.UNALLOCATED)} for oid in ids)
        self._recover(conn, {*keys, *also_recover})

    # ---------------------------------------------------------------- ship, cancel, dropship

    def finish(self, ids: Sequence[str], how: str, actor: Actor = Actor()) -> list[str]:
        """Ship, cancel or dropship orders; all of them or none (unknown/closed → exit 1)."""
        status = {"ship": OrderStatus.SHIPPED, "cancel": OrderStatus.CANCELLED,
                  "dropship": OrderStatus.DROPSHIPPED}[how]

        def work(conn: Connection) -> list[str]:
            wanted = list(dict.fromkeys(ids))
            if self.store.is_postgres:
                # Lock the orders before reading their status, or two concurrent ships of one
                # order both see it awaiting and take its units off the shelf twice.
                conn.execute(select(orders.c.id).where(orders.c.id.in_(wanted))
                             .order_by(orders.c.id).with_for_update())
            found = self.load_orders(conn, wanted)
            for oid in wanted:
                if oid not in found:
                    raise OperationFailed(f"no order with id {oid!r}")
                if found[oid].status != OrderStatus.AWAITING_FULFILLMENT:
                    raise OperationFailed(f"cannot {how} order {oid!r}: it is {found[oid].status}")
            now = self.clock()
            consumed: dict[StockKey, int] = defaultdict(int)
            if how == "ship":
                for oid in wanted:
                    for line in found[oid].lines:
                        consumed[(line.sku, found[oid].warehouse)] += line.qty
                self.store.lock_stock(conn, list(consumed))
                self._consume(conn, consumed)
            self.release_orders(conn, wanted, how, actor, new_status=status,
                                also_recover=consumed)
            conn.execute(insert(events), [
                {"at": now, "type": f"order.{status}", "order_id": oid, "payload": {}}
                for oid in wanted])
            return wanted

        return self.store.transaction(work)

    def _consume(self, conn: Connection, consumed: Mapping[StockKey, int]) -> None:
        """Take shipped units off the shelf; a SKU nobody stocked goes negative."""
        existing = load_stock(conn, consumed.keys())
        for (sku, wh), qty in sorted(consumed.items()):
            if (sku, wh) in existing:
                conn.execute(update(inventory).where(inventory.c.sku == sku,
                                                     inventory.c.warehouse == wh)
                             .values(on_hand=inventory.c.on_hand - qty))
            else:
                conn.execute(insert(inventory).values(sku=sku, warehouse=wh, on_hand=-qty,
                                                      allocated=0))

    # ------------------------------------------------------------------------- edit and split

    def edit(self, order_id: str, new_lines: Sequence[tuple[str, int]],
             actor: Actor = Actor()) -> Order:
        """Replace an order's lines (SPEC §4 edit); reservations trimmed or released."""
        if not new_lines:
            raise BadInput("an order needs at least one line")
        for sku, qty in new_lines:
            if qty <= 0:
                raise BadInput(f"line {sku}:{qty}: quantity must be a positive whole number")

        def work(conn: Connection) -> Order:
            order = self._open_order(conn, order_id, "edit")
            plan = model.plan_edit(order.lines, new_lines)
            keys = {(line.sku, order.warehouse) for line in (*order.lines, *plan.lines)}
            self.store.lock_stock(conn, sorted(keys))
            now = self.clock()
            for index, give_back in enumerate(plan.release):
                if give_back:
                    self._trim_line(conn, order, index + 1, give_back, "edit", actor, now)
            # Renumber: kept lines take their new position; reservations follow their line.
            conn.execute(update(reservations).where(reservations.c.order_id == order_id)
                         .values(line_no=-reservations.c.line_no))
            for new_no, old_index in enumerate(plan.kept_from, start=1):
                if old_index is not None:
                    conn.execute(update(reservations).where(
                        reservations.c.order_id == order_id,
                        reservations.c.line_no == -(old_index + 1)).values(line_no=new_no))
            conn.execute(delete(order_lines).where(order_lines.c.order_id == order_id))
            conn.execute(insert(order_lines), [
                {"order_id": order_id, "line_no": n, "sku": line.sku, "qty": line.qty,
                 "reserved": line.reserved} for n, line in enumerate(plan.lines, start=1)])
            # An edit starts the order's allocation story afresh (SPEC §3): its status now
            # follows from what stays reserved, `unallocated` when nothing does.
            conn.execute(update(orders).where(orders.c.id == order_id).values(
                line_count=len(plan.lines), unit_count=sum(x.qty for x in plan.lines),
                allocation_status=AllocationStatus.UNALLOCATED, updated_at=now))
            self._recover(conn, sorted(keys), also=[order_id])
            conn.execute(insert(events).values(at=now, type="order.updated", order_id=order_id,
                                               payload={}))
            return self.get_order(order_id, conn)

        return self.store.transaction(work)

    def _trim_line(self, conn: Connection, order: Order, line_no: int, qty: int, operation: str,
                   actor: Actor, now: datetime) -> None:
        """Give back `qty` reserved units of a line, newest reservation first."""
        held = conn.execute(
            select(reservations.c.seq, reservations.c.qty)
            .where(reservations.c.order_id == order.id, reservations.c.line_no == line_no)
            .order_by(reservations.c.seq.desc())).all()
        left = qty
        for seq, rqty in held:
            if left <= 0:
                break
            take = min(left, rqty)
            if take == rqty:
                conn.execute(delete(reservations).where(reservations.c.seq == seq))
            else:
                conn.execute(update(reservations).where(reservations.c.seq == seq)
                             .values(qty=rqty - take))
            left -= take
        line = order.lines[line_no - 1]
        conn.execute(update(inventory).where(inventory.c.sku == line.sku,
                                             inventory.c.warehouse == order.warehouse)
                     .values(allocated=inventory.c.allocated - qty))
        conn.execute(ledger.insert().values(**ledger_row(
            now, order.id, line_no, line.sku, order.warehouse, -qty, operation, actor)))

    def split(self, order_id: str, actor: Actor = Actor()) -> tuple[Order, Order]:
        """Move the unreserved units into a new order `<id>-N`; the original keeps the rest."""
        return self.store.transaction(lambda conn: self.split_in(conn, order_id, actor))

    def split_in(self, conn: Connection, order_id: str, actor: Actor) -> tuple[Order, Order]:
        """`split` inside the caller's transaction (the rule runner splits within its tick)."""
        order = self._open_order(conn, order_id, "split")
        try:
            kept, moved = model.plan_split(order.lines)
        except ValueError as exc:
            raise OperationFailed(f"cannot split order {order_id!r}: {exc}") from exc
        taken = conn.execute(select(orders.c.id).where(
            orders.c.id.like(order_id.replace("%", r"\%").replace("_", r"\_") + "-%",
                             escape="\\"))).scalars()
        new_id = model.split_id(order_id, taken)
        now = self.clock()
        # Keep the reserved lines, renumbered in their original order.
        kept_numbers = [n for n, line in enumerate(order.lines, start=1) if line.reserved]
        conn.execute(delete(order_lines).where(order_lines.c.order_id == order_id,
                                               order_lines.c.line_no.not_in(kept_numbers)))
        for new_no, old_no in enumerate(kept_numbers, start=1):
            conn.execute(update(order_lines).where(order_lines.c.order_id == order_id,
                                                   order_lines.c.line_no == old_no)
                         .values(line_no=new_no, qty=kept[new_no - 1].qty))
            conn.execute(update(reservations).where(reservations.c.order_id == order_id,
                                                    reservations.c.line_no == old_no)
                         .values(line_no=new_no))
        conn.execute(update(orders).where(orders.c.id == order_id).values(
            line_count=len(kept), unit_count=sum(x.qty for x in kept), updated_at=now))
        child = Order(id=new_id, channel=order.channel, placed_at=order.placed_at,
                      lines=moved, ship_to=order.ship_to,
                      shipping_method=order.shipping_method, total=None, tags=order.tags,
                      warehouse=order.warehouse, attributes=order.attributes)
        insert_orders(conn, [child], now, "order.created")
        self._recover(conn, [(line.sku, order.warehouse) for line in kept], also=[order_id])
        conn.execute(insert(events).values(at=now, type="order.updated", order_id=order_id,
                                           payload={"split_into": new_id}))
        return self.get_order(order_id, conn), self.get_order(new_id, conn)

    def _open_order(self, conn: Connection, order_id: str, what: str) -> Order:
        if self.store.is_postgres:
            conn.execute(select(orders.c.id).where(orders.c.id == order_id).with_for_update())
        order = self.get_order(order_id, conn)
        if order.status != OrderStatus.AWAITING_FULFILLMENT:
            raise OperationFailed(f"cannot {what} order {order_id!r}: it is {order.status}")
        return order

    # --------------------------------------------------------------------------------- cover

    def _recover(self, conn: Connection, keys: Iterable[StockKey],
                 also: Sequence[str] = ()) -> None:
        """Recompute coverage for `keys` and the status of every order whose cover changed.

        Orders in `also` (edited, split) get their status recomputed whatever happened.
        """
        affected: set[str] = set(also)
        for sku, wh in sorted(set(keys)):
            row = conn.execute(select(inventory.c.on_hand, inventory.c.allocated).where(
                inventory.c.sku == sku, inventory.c.warehouse == wh)).first()
            on_hand = row.on_hand if row else 0
            held = conn.execute(
                select(reservations.c.seq, reservations.c.order_id, reservations.c.qty,
                       reservations.c.covered)
                .where(reservations.c.sku == sku, reservations.c.warehouse == wh)
                .order_by(reservations.c.seq)).all()
            flags = model.coverage(on_hand, (r.qty for r in held))
            flips = [(r.seq, flag, r.order_id) for r, flag in zip(held, flags, strict=True)
                     if r.covered != flag]
            for covered in (True, False):
                seqs = [seq for seq, flag, _ in flips if flag is covered]
                for start in range(0, len(seqs), CHUNK):
                    conn.execute(update(reservations)
                                 .where(reservations.c.seq.in_(seqs[start:start + CHUNK]))
                                 .values(covered=covered))
            affected.update(oid for _, _, oid in flips)
        if affected:
            self._refresh_status(conn, sorted(affected))

    def _refresh_status(self, conn: Connection, ids: Sequence[str]) -> None:
        """Set each order's allocation status from its reservations and their cover."""
        if len(ids) > CHUNK:
            for start in range(0, len(ids), CHUNK):
                self._refresh_status(conn, ids[start:start + CHUNK])
            return
        found = self.load_orders(conn, ids)
        uncovered = set(conn.execute(
            select(reservations.c.order_id).where(reservations.c.order_id.in_(ids),
                                                  reservations.c.covered.is_(False))
        ).scalars())
        now = self.clock()
        for oid, order in found.items():
            if order.status != OrderStatus.AWAITING_FULFILLMENT:
                continue
            status = model.status_from_reservations(order.lines, oid in uncovered,
                                                    order.allocation_status)
            if status != order.allocation_status:
                conn.execute(update(orders).where(orders.c.id == oid)
                             .values(allocation_status=status, updated_at=now))

    def retag(self, conn: Connection, changes: Mapping[str, tuple[Iterable[str], Iterable[str]]]
              ) -> None:
        """Add and remove tags (rule actions). No `order.updated` event: a rule's own tagging
        must not fire `order updated` rules again, or two rules could tag back and forth."""
        adds = [(oid, tag) for oid, (add, _) in changes.items() for tag in sorted(add)]
        removes = [(oid, tag) for oid, (_, remove) in changes.items() for tag in sorted(remove)]
        bulk = Bulk(conn)
        if removes:
            bulk.executemany(_DROP_TAG, ("t_order", "t_tag"), removes)
        if adds:
            existing: set[tuple[str, str]] = set()
            owners = sorted({oid for oid, _ in adds})
            for start in range(0, len(owners), CHUNK):
                existing.update((oid, tag) for oid, tag in conn.execute(
                    select(order_tags.c.order_id, order_tags.c.tag)
                    .where(order_tags.c.order_id.in_(owners[start:start + CHUNK]))))
            bulk.insert(order_tags, ("order_id", "tag"),
                        [row for row in adds if row not in existing])

    # ------------------------------------------------------------------------------- history

    def history(self, order_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            self.get_order(order_id, conn)
            return [
                {"at": iso(r.at), "order": r.order_id, "line": r.line_no, "sku": r.sku,
                 "warehouse": r.warehouse, "delta": r.delta, "operation": r.operation,
                 "rule": r.rule, "ruleset": r.ruleset, "actor": r.actor}
                for r in conn.execute(select(ledger).where(ledger.c.order_id == order_id)
                                      .order_by(ledger.c.id))
            ]

    def reservations_of(self, order_id: str) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return [
                {"seq": r.seq, "line": r.line_no, "sku": r.sku, "warehouse": r.warehouse,
                 "qty": r.qty, "covered": r.covered, "reserved_at": iso(r.reserved_at)}
                for r in conn.execute(select(reservations)
                                      .where(reservations.c.order_id == order_id)
                                      .order_by(reservations.c.seq))
            ]


# ------------------------------------------------------------------------------------ helpers


_DROP_TAG = delete(order_tags).where(order_tags.c.order_id == bindparam("t_order"),
                                    order_tags.c.tag == bindparam("t_tag"))


__all__ = ["Actor", "AllocationReport", "QueueEntry", "Service", "iso", "order_json",
           "parse_order_by", "utcnow"]
