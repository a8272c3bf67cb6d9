"""The connection-private tables of one streaming rule tick, so its memory does not grow with
the number of candidate orders (SPEC §8; engine.run.runner drives them).

* `dibs_claimed(id)`: the events the tick claimed (PostgreSQL), marked processed at its end in
  one UPDATE (engine.service.tick_claims);
* `dibs_offers(order_id, rule_no)`: which fired rule is offered which order (each pair once);
* `dibs_tick_plan(order_id, grp, decision)`: every order some rule matched, with the queue group
  (its deciding rule's rank; NULL when the order is not queued) and the decision it got;
* `dibs_tick_queue(pos, order_id, decision)`: the allocation queue in order, read back by
  position ranges.

Everything is written and read inside the tick's transaction; a dry run rolls it back with the
rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
)
from sqlalchemy.dialects import postgresql, sqlite

from engine.model import OrderStatus, StockKey, parts_of
from engine.service.tick_claims import TickClaims, claimed, executemany
from engine.service.tx import Tx
from engine.store import order_lines, orders, reservations
from engine.store.bulk import Bulk
from engine.store.kit_rows import load_kits
from engine.store.sqlfunctions import Bytewise

_meta = MetaData()
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
        self.events = TickClaims(self.bulk, self.postgres)

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
        executemany(self.bulk, sql, rows)


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


__all__ = ["TickTables", "sort_keys"]
