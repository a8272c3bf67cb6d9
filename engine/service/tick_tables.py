"""The connection-private tables of one streaming rule tick, so its memory does not grow with
the number of candidate orders (SPEC §8; engine.run.runner drives them).

* `dibs_claimed(id)`: the events the tick claimed, marked processed at its end in one UPDATE;
* `dibs_offers(order_id, rule_no)`: which fired rule is offered which order (each pair once);
* `dibs_tick_plan(order_id, grp, decision)`: every order some rule matched, with the queue group
  (its deciding rule's rank; NULL when the order is not queued) and the decision it got;
* `dibs_tick_queue(pos, order_id, decision)`: the allocation queue in order, read back by
  position ranges.

Everything is written and read inside the tick's transaction; a dry run rolls it back with the
rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from engine.model import OrderStatus, StockKey, parts_of
from engine.service.tx import Tx
from engine.store import events, order_lines, orders, reservations
from engine.store.bulk import Bulk
from engine.store.kit_rows import load_kits
from engine.store.outbox import Pending
from engine.store.sqlfunctions import Bytewise

_meta = MetaData()
claimed = Table("dibs_claimed", _meta, Column("id", BigInteger, primary_key=True))
offers = Table(
    "dibs_offers",
    _meta,
    Column("order_id", String, primary_key=True),
    Column("rule_no", Integer, primary_key=True),
)
tick_plan = Table(
    "dibs_tick_plan",
    _meta,
    Column("order_id", String, primary_key=True),
    Column("grp", Integer),
    Column("decision", Integer, nullable=False),
)
tick_queue = Table(
    "dibs_tick_queue",
    _meta,
    Column("pos", BigInteger, primary_key=True),
    Column("order_id", String, nullable=False),
    Column("decision", Integer, nullable=False),
)

_DDL = (
    "dibs_claimed (id BIGINT PRIMARY KEY)",
    "dibs_offers (order_id TEXT NOT NULL, rule_no INTEGER NOT NULL, "
    "PRIMARY KEY (order_id, rule_no))",
    "dibs_tick_plan (order_id TEXT PRIMARY KEY, grp INTEGER, decision INTEGER NOT NULL)",
    "dibs_tick_queue (pos BIGINT PRIMARY KEY, order_id TEXT NOT NULL, decision INTEGER NOT NULL)",
)

_CLAIM_SQL = (
    "SELECT id, type, order_id, payload FROM events "
    "WHERE processed = ? AND id > ? ORDER BY id LIMIT ?"
)


class TickTables:
    """The tick's tables on the transaction's connection, emptied when made."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.conn = tx.conn
        self.bulk = Bulk(tx.conn)
        self.postgres = tx.store.is_postgres
        suffix = " ON COMMIT DELETE ROWS" if self.postgres else ""
        for ddl in _DDL:
            self.bulk.query(f"CREATE TEMP TABLE IF NOT EXISTS {ddl}{suffix}")
        for table in (claimed, offers, tick_plan, tick_queue):
            self.bulk.query(f"DELETE FROM {table.name}")
        self._mark = "?" if self.bulk.dialect.paramstyle == "qmark" else "%s"
        self.last_claimed = 0

    # ---- events

    def claim(
        self, size: int, read: frozenset[str], skip: frozenset[str] = frozenset()
    ) -> Iterator[list[Pending]]:
        """Pending events, oldest first, `size` at a time, each chunk recorded as claimed. On
        PostgreSQL each is claimed by exactly one worker (`FOR UPDATE SKIP LOCKED`). Only the
        payloads of the event types in `read` are decoded (the others come as {}): a tick over
        many new orders need not decode a payload per order. The types in `skip` are left
        out (SQLite: `offer_events` claimed them)."""
        sql = _CLAIM_SQL + (" FOR UPDATE SKIP LOCKED" if self.postgres else "")
        params: tuple[Any, ...] = ()
        if skip:
            marks = ", ".join("?" * len(skip))
            sql = sql.replace(" ORDER BY", f" AND type NOT IN ({marks}) ORDER BY")
            params = tuple(sorted(skip))
        pending = self.bulk.value(events.c.processed, False)
        last = 0
        while True:
            rows = self.bulk.query(sql, (pending, last, *params, size))
            if not rows:
                return
            last = rows[-1][0]
            self.last_claimed = max(self.last_claimed, last)
            if self.postgres:  # see mark_processed
                self._executemany(
                    "INSERT INTO dibs_claimed (id) VALUES ({})", [(r[0],) for r in rows]
                )
            yield [
                (eid, kind, oid, _payload(raw) if kind in read else {})
                for eid, kind, oid, raw in rows
            ]

    def offer_events(
        self, types: frozenset[str], rules: Mapping[str, Sequence[int]]
    ) -> tuple[int, set[int], bool]:
        """SQLite: claim the pending events of `types` (events whose payload the tick does not
        read) without reading them: each one's order is offered, by INSERT … SELECT, to the
        rule numbers `rules` lists for its type. Returns how many were claimed, the rule
        numbers offered some order, and whether events of other types are pending (`claim`
        then reads them). The tick holds the write lock, so these are exactly the events
        `claim` would have read (see `mark_processed`)."""
        assert not self.postgres
        pending = self.bulk.value(events.c.processed, False)
        found = self.bulk.query(
            "SELECT type, count(*), max(id), count(nullif(order_id, '')) FROM events "
            "WHERE processed = ? GROUP BY type",
            (pending,),
        )
        offered: set[int] = set()
        claimed = 0
        for kind, count, last, with_order in found:
            if kind not in types:
                continue
            claimed += count
            self.last_claimed = max(self.last_claimed, last)
            for number in rules.get(kind, ()) if with_order else ():
                offered.add(number)
                self.bulk.query(
                    "INSERT INTO dibs_offers (order_id, rule_no) SELECT order_id, ? FROM events "
                    "WHERE processed = ? AND id <= ? AND type = ? AND order_id <> '' "
                    "ON CONFLICT DO NOTHING",
                    (number, pending, last, kind),
                )
        return claimed, offered, any(kind not in types for kind, *_ in found)

    def mark_processed(self, now: datetime) -> None:
        """Mark the claimed events processed. On SQLite they are exactly the pending ones up
        to the last claimed id: the tick holds the write lock, so nobody else added events,
        and those this tick wrote (`allocation.changed`) come after. On PostgreSQL other
        workers commit events meanwhile, and hold some: the claimed ids were recorded."""
        chosen: ColumnElement[bool]
        if self.postgres:
            chosen = events.c.id.in_(select(claimed.c.id))
        else:
            chosen = and_(events.c.processed.is_(False), events.c.id <= self.last_claimed)
        self.conn.execute(update(events).where(chosen).values(processed=True, processed_at=now))

    # ---- offers

    def offer(self, rule_no: int, ids: Sequence[str]) -> None:
        self._executemany(
            "INSERT INTO dibs_offers (order_id, rule_no) VALUES ({}, {}) ON CONFLICT DO NOTHING",
            [(oid, rule_no) for oid in ids],
        )

    def offer_select(self, rule_no: int, query: Select[Any]) -> None:
        """Offer rule `rule_no` every order id `query` (one column, with a WHERE) selects."""
        source = query.add_columns(literal(rule_no, Integer()))
        dialect = postgresql if self.postgres else sqlite
        self.conn.execute(
            dialect.insert(offers)
            .from_select(["order_id", "rule_no"], source)
            .on_conflict_do_nothing()
        )

    def candidates(
        self, flags: Sequence[tuple[int, ColumnElement[bool]]], size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The offered orders that are awaiting fulfillment, in id order, `size` at a time:
        (id, allocation status, flag…), one flag per (rule number, clause) of `flags`: whether
        the order is offered to that rule and passes the clause."""
        last: str | None = None
        offered = offers.alias("f")
        # Each flag at the top level of the select: a clause's own EXISTS (tags, skus) then
        # correlates with the outer `orders`, which a nested subquery would hide from it.
        columns = [
            and_(
                select(literal(1))
                .where(offered.c.order_id == orders.c.id, offered.c.rule_no == k)
                .exists(),
                flag,
            ).label(f"r{k}")
            for k, flag in flags
        ]
        while True:
            page = select(offers.c.order_id).distinct()
            if last is not None:
                page = page.where(offers.c.order_id > last)
            ids = page.order_by(offers.c.order_id).limit(size).subquery()
            rows = self.conn.execute(
                select(ids.c.order_id, orders.c.status, orders.c.allocation_status, *columns)
                .select_from(ids.outerjoin(orders, orders.c.id == ids.c.order_id))
                .order_by(ids.c.order_id)
            ).all()
            if not rows:
                return
            last = rows[-1][0]
            awaiting = OrderStatus.AWAITING_FULFILLMENT.value
            yield [(r[0], *r[2:]) for r in rows if r[1] == awaiting]

    def plan_masks(
        self,
        flags: Sequence[tuple[int, ColumnElement[bool]]],
        plan: Mapping[int, tuple[int | None, int]],
    ) -> list[tuple[Any, ...]]:
        """Record, in one INSERT … SELECT, every offered awaiting order some flag (as in
        `candidates`) holds for, with the (queue group, decision) `plan` gives its mask of
        flags (bit i: `flags[i]`). Returns (group, decision, orders) per pair used."""
        offered = offers.alias("f")
        ids = select(offers.c.order_id).distinct().subquery()
        bits: list[ColumnElement[Any]] = []
        for bit, (k, flag) in enumerate(flags):
            # One fired rule is offered every order in the table: no EXISTS to ask.
            if len(flags) > 1:
                on = select(literal(1)).where(offered.c.order_id == orders.c.id)
                flag = and_(on.where(offered.c.rule_no == k).exists(), flag)
            bits.append(case((flag, 1 << bit), else_=0))
        masked = (
            select(orders.c.id.label("order_id"), sum(bits[1:], bits[0]).label("mask"))
            .select_from(ids.join(orders, orders.c.id == ids.c.order_id))
            .where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
            .subquery()
        )
        queued = {mask: grp for mask, (grp, _) in plan.items() if grp is not None}
        grp = case(queued, value=masked.c.mask) if queued else null()
        decision = case({mask: d for mask, (_, d) in plan.items()}, value=masked.c.mask)
        source = select(masked.c.order_id, cast(grp, Integer), cast(decision, Integer))
        self.conn.execute(
            tick_plan.insert().from_select(
                ["order_id", "grp", "decision"], source.where(masked.c.mask > 0)
            )
        )
        counts = select(tick_plan.c.grp, tick_plan.c.decision, func.count()).group_by(
            tick_plan.c.grp, tick_plan.c.decision
        )
        return [tuple(row) for row in self.conn.execute(counts)]

    # ---- the plan and the queue

    def plan(self, rows: Sequence[tuple[str, int | None, int]]) -> None:
        """Record matched orders: (order id, queue group or None, decision number)."""
        self._executemany(
            "INSERT INTO dibs_tick_plan (order_id, grp, decision) VALUES ({}, {}, {})", rows
        )

    def group_ids(self, grp: int) -> dict[str, int]:
        """Order id -> decision number of the orders in queue group `grp`."""
        query = select(tick_plan.c.order_id, tick_plan.c.decision).where(tick_plan.c.grp == grp)
        return {oid: decision for oid, decision in self.conn.execute(query)}

    def queue_group(self, grp: int, keys: Sequence[tuple[str, bool]], start: int) -> None:
        """Append group `grp` to the queue sorted by `keys` (then id, by code point), from
        position `start`."""
        order = [*sort_keys(keys), Bytewise(orders.c.id).asc()]
        source = (
            select(
                (literal(start - 1) + func.row_number().over(order_by=order)).label("pos"),
                tick_plan.c.order_id,
                tick_plan.c.decision,
            )
            .select_from(tick_plan.join(orders, orders.c.id == tick_plan.c.order_id))
            .where(tick_plan.c.grp == grp)
        )
        # No rowcount: psycopg reports -1 for INSERT … SELECT; the caller knows the size.
        self.conn.execute(tick_queue.insert().from_select(["pos", "order_id", "decision"], source))

    def queue_sorted(self, ids: Sequence[str], decisions: dict[str, int], start: int) -> None:
        self._executemany(
            "INSERT INTO dibs_tick_queue (pos, order_id, decision) VALUES ({}, {}, {})",
            [(start + n, oid, decisions[oid]) for n, oid in enumerate(ids)],
        )

    def queue_size(self) -> int:
        """How many entries the queue holds."""
        return int(self.bulk.query("SELECT count(*) FROM dibs_tick_queue")[0][0])

    def queue_part(self, start: int, size: int) -> list[tuple[str, int]]:
        """Queue positions `start`.. (`size` of them), in order: (order id, decision number)."""
        rows = self.bulk.query(
            "SELECT order_id, decision FROM dibs_tick_queue "
            "WHERE pos >= ? AND pos < ? ORDER BY pos",
            (start, start + size),
        )
        return [(oid, decision) for oid, decision in rows]

    def queue_decisions(self, start: int, size: int) -> set[int]:
        """The decision numbers of queue positions `start`.. (`size` of them)."""
        rows = self.bulk.query(
            "SELECT DISTINCT decision FROM dibs_tick_queue WHERE pos >= ? AND pos < ?",
            (start, start + size),
        )
        return {decision for (decision,) in rows}

    def queue_select(self, start: int, size: int) -> Select[Any]:
        """Queue positions `start`.. (`size` of them) as (position from 0, order id) rows, for
        `batch.allocate_selected`: the ids never pass through Python."""
        pos = tick_queue.c.pos
        return (
            select((pos - start).label("pos"), tick_queue.c.order_id)
            .where(pos >= start, pos < start + size)
            .order_by(pos)
        )

    def stock_keys(self) -> set[StockKey]:
        """The stock every matched order may reserve or holds (its lines' SKUs, a kit's
        components, in its warehouse; its reservations), to lock in one sorted pass."""
        planned = select(tick_plan.c.order_id)
        lines = (
            select(order_lines.c.sku, orders.c.warehouse)
            .distinct()
            .join(orders, orders.c.id == order_lines.c.order_id)
            .where(order_lines.c.order_id.in_(planned))
        )
        held = (
            select(reservations.c.sku, reservations.c.warehouse)
            .distinct()
            .where(reservations.c.order_id.in_(planned))
        )
        kits = load_kits(self.conn)
        keys = {(p, wh) for sku, wh in self.conn.execute(lines) for p, _ in parts_of(sku, kits)}
        keys.update((sku, wh) for sku, wh in self.conn.execute(held))
        return keys

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cursor = self.bulk.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql.format(*[self._mark] * len(rows[0])), rows)
        finally:
            cursor.close()


def sort_keys(keys: Sequence[tuple[str, bool]]) -> list[ColumnElement[Any]]:
    """ORDER BY for a rule's `order by` keys as `rules.tick.sort_order_ids` sorts them: missing
    values last, text by code point (`age asc` is `placed_at desc`)."""
    from engine.store.schema import FIELD_COLUMNS

    out: list[ColumnElement[Any]] = []
    for name, desc in keys:
        if name == "age":
            column: ColumnElement[Any] = orders.c.placed_at
            desc = not desc
        else:
            column = FIELD_COLUMNS[name]
            if isinstance(column.type, String):
                column = Bytewise(column)
        out.append((column.desc() if desc else column.asc()).nulls_last())
    return out


def _payload(raw: Any) -> dict[str, Any]:
    """An event's payload as the driver gives it: a dict (psycopg) or JSON text (SQLite)."""
    if isinstance(raw, dict):
        return raw
    return json.loads(raw) if raw else {}


__all__ = ["TickTables", "sort_keys"]
