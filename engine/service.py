"""The operations of SPEC §4, each one database transaction that writes its ledger and events.

The decisions come from `engine.model`; this module reads the rows the model needs, applies
what it decides and keeps the denormalised counters (inventory.allocated, order_lines.reserved,
reservations.covered) in step within the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from engine import model
from engine.bulk import Bulk, collector_paused
from engine.errors import BadInput, OperationFailed
from engine.model import AllocationStatus, Line, Order, OrderStatus, Policy, ShipTo, StockKey
from engine.store import (
    FIELD_COLUMNS,
    Store,
    events,
    inventory,
    ledger,
    order_lines,
    order_tags,
    orders,
    reservations,
)

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]  # (done, total)

CHUNK = 2000  # orders per read/write batch: bounded memory, few round trips


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who or what caused a change: a person at the CLI, or a rule of a rule set."""

    name: str = "cli"
    rule: str | None = None
    ruleset: str | None = None


@dataclass(frozen=True)
class QueueEntry:
    """One order to allocate, with the policy and the actor (rule) that put it there."""

    order_id: str
    policy: Policy = Policy.LINES
    actor: Actor = Actor()


@dataclass
class AllocationReport:
    """What an allocation run did: status changes in processing order, and what it skipped."""

    results: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reserved_units: int = 0

    def counts(self) -> dict[str, int]:
        tally: dict[str, int] = defaultdict(int)
        for row in self.results:
            tally[row["after"]] += 1
        return dict(tally)

    def as_json(self) -> dict[str, Any]:
        return {"results": self.results, "skipped": self.skipped}


def parse_order_by(text: str) -> list[tuple[str, bool]]:
    """`"total desc, placed_at"` -> [("total", True), ("placed_at", False)]; bad keys exit 2."""
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise BadInput(f"--order-by: cannot read {part.strip()!r}; use 'field [asc|desc]'")
        name = words[0]
        if name not in FIELD_COLUMNS and name != "age":
            import difflib

            close = difflib.get_close_matches(name, [*FIELD_COLUMNS, "age"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BadInput(f"--order-by: unknown field {name!r}{hint}")
        keys.append((name, len(words) == 2 and words[1] == "desc"))
    return keys


def order_by_clauses(keys: Sequence[tuple[str, bool]]) -> list[ColumnElement[Any]]:
    """SQL ORDER BY for order-by keys, missing values last, then id (FIFO's tie-break)."""
    clauses: list[ColumnElement[Any]] = []
    for name, desc in keys or [("placed_at", False)]:
        if name == "age":  # older first means larger age: age asc is placed_at desc
            column, desc = orders.c.placed_at, not desc
        else:
            column = FIELD_COLUMNS[name]
        clauses.append((column.desc() if desc else column.asc()).nulls_last())
    clauses.append(orders.c.id.asc())
    return clauses


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
        current = self._load_stock(conn, keys)
        changed: list[StockKey] = []
        event_rows = []
        for sku, warehouse, qty in rows:
            on_hand, allocated = current.get((sku, warehouse), (0, 0))
            new = qty if kind == "set" else on_hand + qty
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

    def _load_stock(
        self, conn: Connection, keys: Iterable[StockKey]
    ) -> dict[StockKey, tuple[int, int]]:
        wanted = set(keys)
        if not wanted:
            return {}
        skus = sorted({s for s, _ in wanted})
        out: dict[StockKey, tuple[int, int]] = {}
        for start in range(0, len(skus), 5000):
            rows = conn.execute(
                select(inventory.c.sku, inventory.c.warehouse, inventory.c.on_hand,
                       inventory.c.allocated).where(inventory.c.sku.in_(skus[start:start + 5000]))
            )
            for sku, wh, on_hand, allocated in rows:
                if (sku, wh) in wanted:
                    out[(sku, wh)] = (on_hand, allocated)
        return out

    def _stock_rows(self, conn: Connection, keys: Sequence[StockKey]) -> list[dict[str, Any]]:
        stock = self._load_stock(conn, keys)
        out = []
        for sku, wh in keys:
            on_hand, allocated = stock.get((sku, wh), (0, 0))
            out.append({"sku": sku, "warehouse": wh, "on_hand": on_hand, "allocated": allocated,
                        "available": on_hand - allocated})
        return out

    def list_inventory(self, sku: str | None = None) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            query = select(inventory).order_by(inventory.c.sku, inventory.c.warehouse)
            if sku:
                query = query.where(inventory.c.sku == sku)
            return [
                {"sku": r.sku, "warehouse": r.warehouse, "on_hand": r.on_hand,
                 "allocated": r.allocated, "available": r.on_hand - r.allocated}
                for r in conn.execute(query)
            ]

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
            taken = self._existing_ids(conn, ids)
            if taken:
                shown = ", ".join(sorted(taken)[:10])
                more = f" and {len(taken) - 10} more" if len(taken) > 10 else ""
                raise BadInput(f"order id already exists: {shown}{more}; nothing imported "
                               "(dibs never overwrites an order on import)")
            now = self.clock()
            with collector_paused():
                for start in range(0, len(new), CHUNK * 5):
                    self._insert_orders(conn, new[start:start + CHUNK * 5], now,
                                        "order.created")
                    if progress:
                        progress(min(start + CHUNK * 5, len(new)), len(new))
            return len(new)

        return self.store.transaction(work)

    def _existing_ids(self, conn: Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        bulk = Bulk(conn)
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            found.update(r[0] for r in bulk.fetch_in("SELECT id FROM orders WHERE id IN ({in})",
                                                     chunk))
        return found

    def _insert_orders(
        self, conn: Connection, batch: Sequence[Order], now: datetime, event: str | None
    ) -> None:
        bulk = Bulk(conn)
        stamp = bulk.value(orders.c.created_at, now)
        order_rows: list[tuple[Any, ...]] = []
        line_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[Any, ...]] = []
        event_rows: list[tuple[Any, ...]] = []
        to_time = bulk.processor(orders.c.placed_at)
        to_json = bulk.processor(orders.c.attributes)
        to_money = bulk.processor(orders.c.total)
        no_attributes = to_json({})
        empty = bulk.value(events.c.payload, {})
        for o in batch:
            order_rows.append((
                o.id, o.channel, to_time(o.placed_at), o.status, o.allocation_status,
                o.ship_to.name, o.ship_to.country, o.ship_to.state, o.ship_to.city,
                o.ship_to.postal_code, o.shipping_method,
                None if o.total is None else to_money(o.total), o.warehouse,
                to_json(dict(o.attributes)) if o.attributes else no_attributes,
                o.line_count, o.unit_count, stamp, stamp,
            ))
            for n, line in enumerate(o.lines, start=1):
                line_rows.append((o.id, n, line.sku, line.qty, line.reserved))
            tag_rows.extend((o.id, t) for t in sorted(o.tags))
            if event:
                event_rows.append((stamp, event, o.id, empty, False))
        bulk.insert(orders, _ORDER_COLUMNS, order_rows)
        bulk.insert(order_lines, ("order_id", "line_no", "sku", "qty", "reserved"), line_rows)
        bulk.insert(order_tags, ("order_id", "tag"), tag_rows)
        bulk.insert(events, ("at", "type", "order_id", "payload", "processed"), event_rows)

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
        out: dict[str, Order] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start:start + CHUNK])
            rows = conn.execute(select(orders).where(orders.c.id.in_(chunk))).all()
            lines: dict[str, list[Line]] = defaultdict(list)
            for oid, sku, qty, reserved in conn.execute(
                select(order_lines.c.order_id, order_lines.c.sku, order_lines.c.qty,
                       order_lines.c.reserved).where(order_lines.c.order_id.in_(chunk))
                .order_by(order_lines.c.order_id, order_lines.c.line_no)
            ).fetchall():
                lines[oid].append(Line(sku, qty, reserved))
            tags: dict[str, set[str]] = defaultdict(set)
            for oid, tag in conn.execute(
                select(order_tags.c.order_id, order_tags.c.tag)
                .where(order_tags.c.order_id.in_(chunk))
            ).fetchall():
                tags[oid].add(tag)
            for r in rows:
                out[r.id] = order_from_row(r, tuple(lines[r.id]), frozenset(tags[r.id]))
        return out

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
            wanted = list(dict.fromkeys(ids))
            states = {}
            for start in range(0, len(wanted), 5000):
                for oid, status in conn.execute(
                    select(orders.c.id, orders.c.status)
                    .where(orders.c.id.in_(wanted[start:start + 5000]))
                ):
                    states[oid] = status
            unknown = [oid for oid in wanted if oid not in states]
            if unknown:
                raise OperationFailed(f"no order with id {', '.join(map(repr, unknown))}")
            for oid in wanted:
                if states[oid] != OrderStatus.AWAITING_FULFILLMENT:
                    report.skipped.append({"id": oid, "reason": f"order is {states[oid]}"})
            open_ids = [oid for oid in wanted if states[oid] == OrderStatus.AWAITING_FULFILLMENT]
            query = query.where(orders.c.id.in_(open_ids))
        else:
            query = query.where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT,
                                orders.c.allocation_status.not_in(list(model.SETTLED)))
        if where is not None:
            query = query.where(where)
        return list(conn.execute(query.order_by(*order_by_clauses(order_by))).scalars())

    def allocate_queue(
        self,
        conn: Connection,
        entries: Iterable[QueueEntry],
        total: int,
        report: AllocationReport,
        progress: Progress | None = None,
    ) -> None:
        """Allocate orders one by one in the queue's order, inside the caller's transaction.

        Stock rows are locked (PostgreSQL) before the orders are read, so the order state we
        decide on is the committed one; a chunk that needs stock rows not yet locked locks them
        too (a deadlock that may cause is retried whole by `Store.transaction`).
        """
        with collector_paused():
            self._allocate_chunks(conn, entries, total, report, progress)

    def _allocate_chunks(
        self,
        conn: Connection,
        entries: Iterable[QueueEntry],
        total: int,
        report: AllocationReport,
        progress: Progress | None,
    ) -> None:
        now = self.clock()
        bulk = Bulk(conn)
        queue = list(entries)
        bulk.stage_queue([e.order_id for e in queue])
        done = 0
        stock: dict[StockKey, list[int]] = {}
        touched: set[StockKey] = set()
        for start in range(0, len(queue), CHUNK):
            chunk = queue[start:start + CHUNK]
            rows = self._lines_for(bulk, start, start + len(chunk) - 1)
            while missing := sorted(_stock_keys(rows) - stock.keys()):
                self.store.lock_stock(conn, missing)
                loaded = self._load_stock(conn, missing)
                for key in missing:
                    stock[key] = list(loaded.get(key, (0, 0)))
                if self.store.is_postgres:
                    # What we read before holding the locks may be stale: read it again.
                    rows = self._lines_for(bulk, start, start + len(chunk) - 1)
            writes = _Writes(bulk, now)
            results = report.results
            for entry in chunk:
                found = rows.get(entry.order_id)
                if found is None:
                    continue
                before, warehouse, line_rows = found
                if before in model.SETTLED:
                    results.append({"id": entry.order_id, "before": before, "after": before})
                    continue
                grants, after = model.attempt([(sku, qty, res) for _, sku, qty, res in line_rows],
                                              warehouse, stock, entry.policy)
                for (line_no, sku, _qty, reserved), grant in zip(line_rows, grants, strict=True):
                    if grant:
                        writes.reserve(entry, line_no, sku, warehouse, grant, reserved)
                        report.reserved_units += grant
                if after != before:
                    writes.status[entry.order_id] = after
                results.append({"id": entry.order_id, "before": before, "after": after})
            writes.flush()
            touched |= writes.stock_keys
            done += len(chunk)
            if progress:
                progress(done, total)
        # Counters last, once per (sku, warehouse): the transaction holds their locks anyway,
        # and writing them per chunk was 20 times the updates for a 100k-order run.
        bulk.executemany(_SET_ALLOCATED, ("k_alloc", "k_sku", "k_wh"),
                         [(stock[k][1], k[0], k[1]) for k in sorted(touched)])

    def _lines_for(
        self, bulk: Bulk, first: int, last: int
    ) -> dict[str, tuple[str, str, list[tuple[int, str, int, int]]]]:
        """Allocation status, warehouse and lines (line_no, sku, qty, reserved) of the awaiting
        orders at queue positions first..last (see `Bulk.stage_queue`): the hottest read of a
        batch, so it runs on the raw cursor."""
        out: dict[str, tuple[str, str, list[tuple[int, str, int, int]]]] = {}
        for oid, alloc, wh, line_no, sku, qty, reserved in bulk.query(_LINES_SQL, (first, last)):
            entry = out.get(oid)
            if entry is None:
                entry = out[oid] = (alloc, wh, [])
            entry[2].append((line_no, sku, qty, reserved))
        return out

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
        states = dict(conn.execute(select(orders.c.id, orders.c.status)
                                   .where(orders.c.id.in_(wanted))).all())
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
    ) -> None:
        """Release every reservation of `ids`, write the ledger, recompute cover for the stock.

        `new_status` sets the order status too (ship, cancel, dropship).
        """
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
                _ledger_row(now, r.order_id, r.line_no, r.sku, r.warehouse, -r.qty, operation,
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
        self._recover(conn, keys)

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
            if how == "ship":
                consumed: dict[StockKey, int] = defaultdict(int)
                for oid in wanted:
                    for line in found[oid].lines:
                        consumed[(line.sku, found[oid].warehouse)] += line.qty
                self.store.lock_stock(conn, list(consumed))
                self._consume(conn, consumed)
            self.release_orders(conn, wanted, how, actor, new_status=status)
            if how == "ship":
                self._recover(conn, list(consumed))
            conn.execute(insert(events), [
                {"at": now, "type": f"order.{status}", "order_id": oid, "payload": {}}
                for oid in wanted])
            return wanted

        return self.store.transaction(work)

    def _consume(self, conn: Connection, consumed: Mapping[StockKey, int]) -> None:
        """Take shipped units off the shelf; a SKU nobody stocked goes negative."""
        existing = self._load_stock(conn, consumed.keys())
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
        conn.execute(ledger.insert().values(**_ledger_row(
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
        self._insert_orders(conn, [child], now, "order.created")
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
                if seqs:
                    conn.execute(update(reservations).where(reservations.c.seq.in_(seqs))
                                 .values(covered=covered))
            affected.update(oid for _, _, oid in flips)
        if affected:
            self._refresh_status(conn, sorted(affected))

    def _refresh_status(self, conn: Connection, ids: Sequence[str]) -> None:
        """Set each order's allocation status from its reservations and their cover."""
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
            existing = set(conn.execute(select(order_tags.c.order_id, order_tags.c.tag).where(
                order_tags.c.order_id.in_(sorted({oid for oid, _ in adds})))))
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


_LINES_SQL = (
    "SELECT o.id, o.allocation_status, o.warehouse, l.line_no, l.sku, l.qty, l.reserved "
    "FROM dibs_queue q JOIN orders o ON o.id = q.order_id "
    "JOIN order_lines l ON l.order_id = o.id "
    "WHERE q.pos BETWEEN ? AND ? AND o.status = 'awaiting_fulfillment' "
    "ORDER BY q.pos, l.line_no"
)
_DROP_TAG = delete(order_tags).where(order_tags.c.order_id == bindparam("t_order"),
                                    order_tags.c.tag == bindparam("t_tag"))
_ORDER_COLUMNS = (
    "id", "channel", "placed_at", "status", "allocation_status", "ship_to_name",
    "ship_to_country", "ship_to_state", "ship_to_city", "ship_to_postal_code", "shipping_method",
    "total", "warehouse", "attributes", "line_count", "unit_count", "created_at", "updated_at",
)
_SET_RESERVED = (
    update(order_lines)
    .where(order_lines.c.order_id == bindparam("l_order"),
           order_lines.c.line_no == bindparam("l_no"))
    .values(reserved=bindparam("l_res"))
)
_SET_STATUS = (
    update(orders).where(orders.c.id == bindparam("s_id"))
    .values(allocation_status=bindparam("s_status"), updated_at=bindparam("s_at"))
)
_SET_ALLOCATED = (
    update(inventory)
    .where(inventory.c.sku == bindparam("k_sku"), inventory.c.warehouse == bindparam("k_wh"))
    .values(allocated=bindparam("k_alloc"))
)
_RESERVATION_COLUMNS = ("order_id", "line_no", "sku", "warehouse", "qty", "covered",
                        "reserved_at")
_LEDGER_COLUMNS = ("at", "order_id", "line_no", "sku", "warehouse", "delta", "operation", "rule",
                   "ruleset", "actor")


class _Writes:
    """The rows one allocation chunk writes, flushed with one executemany per table."""

    def __init__(self, bulk: Bulk, now: datetime) -> None:
        self.bulk = bulk
        self.stamp = bulk.value(reservations.c.reserved_at, now)
        self.covered = bulk.value(reservations.c.covered, True)
        self.reservations: list[tuple[Any, ...]] = []
        self.ledger: list[tuple[Any, ...]] = []
        self.lines: list[tuple[Any, ...]] = []
        self.status: dict[str, str] = {}
        self.stock_keys: set[StockKey] = set()

    def reserve(self, entry: QueueEntry, line_no: int, sku: str, warehouse: str, qty: int,
                reserved: int) -> None:
        oid, actor = entry.order_id, entry.actor
        self.reservations.append((oid, line_no, sku, warehouse, qty, self.covered, self.stamp))
        self.ledger.append((self.stamp, oid, line_no, sku, warehouse, qty, "allocate",
                            actor.rule, actor.ruleset, actor.name))
        self.lines.append((oid, line_no, reserved + qty))
        self.stock_keys.add((sku, warehouse))

    def flush(self) -> None:
        bulk = self.bulk
        bulk.insert(reservations, _RESERVATION_COLUMNS, self.reservations)
        bulk.insert(ledger, _LEDGER_COLUMNS, self.ledger)
        bulk.executemany(_SET_RESERVED, ("l_order", "l_no", "l_res"), self.lines)
        bulk.executemany(_SET_STATUS, ("s_status", "s_at", "s_id"),
                         [(status, self.stamp, oid) for oid, status in self.status.items()])


def _stock_keys(rows: Mapping[str, tuple[str, str, list[tuple[int, str, int, int]]]]
                ) -> set[StockKey]:
    return {(line[1], wh) for _, wh, lines in rows.values() for line in lines}


def _ledger_row(at: datetime, order_id: str, line_no: int, sku: str, warehouse: str, delta: int,
                operation: str, actor: Actor) -> dict[str, Any]:
    return {"at": at, "order_id": order_id, "line_no": line_no, "sku": sku,
            "warehouse": warehouse, "delta": delta, "operation": operation,
            "rule": actor.rule, "ruleset": actor.ruleset, "actor": actor.name}


def aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything we store is UTC."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return None if value is None else aware(value).isoformat().replace("+00:00", "Z")


def normal_decimal(value: Decimal) -> Decimal:
    """100.5000 -> 100.50: money keeps two places at least, no trailing zeros beyond them."""
    quantized = value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01")) \
        else value.normalize()
    return quantized


def order_from_row(r: Any, lines: tuple[Line, ...], tags: frozenset[str]) -> Order:
    return Order(
        id=r.id, channel=r.channel, placed_at=aware(r.placed_at), lines=lines,
        status=r.status, allocation_status=r.allocation_status,
        ship_to=ShipTo(r.ship_to_name, r.ship_to_country, r.ship_to_state, r.ship_to_city,
                       r.ship_to_postal_code),
        shipping_method=r.shipping_method,
        total=None if r.total is None else normal_decimal(Decimal(r.total)),
        tags=tags, warehouse=r.warehouse, attributes=dict(r.attributes or {}),
    )


def order_json(order: Order) -> dict[str, Any]:
    """SPEC §8 `orders show --json`."""
    return {
        "id": order.id, "channel": order.channel, "status": order.status,
        "allocation_status": order.allocation_status, "placed_at": iso(order.placed_at),
        "ship_to": {"name": order.ship_to.name, "country": order.ship_to.country,
                    "state": order.ship_to.state, "city": order.ship_to.city,
                    "postal_code": order.ship_to.postal_code},
        "shipping_method": order.shipping_method,
        "total": None if order.total is None else str(order.total),
        "tags": sorted(order.tags), "warehouse": order.warehouse,
        "attributes": dict(order.attributes),
        "lines": [{"sku": x.sku, "qty": x.qty, "reserved": x.reserved} for x in order.lines],
    }


__all__ = ["Actor", "AllocationReport", "QueueEntry", "Service"]
