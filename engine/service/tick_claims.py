"""How a rule tick claims its events (engine.service.tick_tables holds its other tables).

Pending events are claimed oldest first, in chunks; on PostgreSQL each by exactly one worker
(`FOR UPDATE SKIP LOCKED`), its id recorded in `dibs_claimed`. On SQLite the tick holds the
write lock, so the pending events it saw are exactly those up to the last id it claimed. The
events whose payload the tick need not read are claimed (and their orders offered) in SQL
without being read (`offer_events`): on PostgreSQL by one INSERT … SELECT … FOR UPDATE SKIP
LOCKED into `dibs_claimed`, the offers then made from the claimed rows. All of them are marked
processed at the tick's end in one UPDATE.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnElement, MetaData, Table, and_, select, update

from engine.store import events
from engine.store.bulk import Bulk
from engine.store.outbox import Pending

claimed = Table("dibs_claimed", MetaData(), Column("id", BigInteger, primary_key=True))

_CLAIM_SQL = (
    "SELECT id, type, order_id, payload FROM events "
    "WHERE processed = ? AND id > ? ORDER BY id LIMIT ?"
)


class TickClaims:
    """The tick's claim of pending events, on the transaction's connection."""

    def __init__(self, bulk: Bulk, postgres: bool) -> None:
        self.bulk = bulk
        self.conn = bulk.conn
        self.postgres = postgres
        self.last_claimed = 0

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
                executemany(
                    self.bulk, "INSERT INTO dibs_claimed (id) VALUES ({})", [(r[0],) for r in rows]
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
        `claim` would have read (see `mark_processed`). On PostgreSQL: `_offer_claimed`."""
        if self.postgres:
            return self._offer_claimed(types, rules)
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

    def _offer_claimed(
        self, types: frozenset[str], rules: Mapping[str, Sequence[int]]
    ) -> tuple[int, set[int], bool]:
        """`offer_events` on PostgreSQL: the pending events of `types` that no other worker
        holds are locked and recorded in `dibs_claimed` by one statement (SKIP LOCKED: the
        ones another tick holds are its own), then each type's orders are offered from them."""
        kinds = sorted(types)
        self.bulk.query(
            "INSERT INTO dibs_claimed (id) SELECT id FROM events "
            "WHERE processed = false AND type = ANY(?) ORDER BY id FOR UPDATE SKIP LOCKED",
            (kinds,),
        )
        found = self.bulk.query(
            "SELECT e.type, count(*), count(nullif(e.order_id, '')) FROM events e "
            "JOIN dibs_claimed c ON c.id = e.id GROUP BY e.type"
        )
        offered: set[int] = set()
        for kind, _, with_order in found:
            for number in rules.get(kind, ()) if with_order else ():
                offered.add(number)
                self.bulk.query(
                    "INSERT INTO dibs_offers (order_id, rule_no) SELECT e.order_id, ? "
                    "FROM events e JOIN dibs_claimed c ON c.id = e.id "
                    "WHERE e.type = ? AND e.order_id <> '' ON CONFLICT DO NOTHING",
                    (number, kind),
                )
        others = self.bulk.query(
            "SELECT 1 FROM events WHERE processed = false AND NOT (type = ANY(?)) LIMIT 1",
            (kinds,),
        )
        return sum(count for _, count, _ in found), offered, bool(others)

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


def executemany(bulk: Bulk, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `sql` (its `{}` are placeholders) once per row, on the raw cursor."""
    if not rows:
        return
    mark = "?" if bulk.dialect.paramstyle == "qmark" else "%s"
    cursor = bulk.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql.format(*[mark] * len(rows[0])), rows)
    finally:
        cursor.close()


def _payload(raw: Any) -> dict[str, Any]:
    """An event's payload as the driver gives it: a dict (psycopg) or JSON text (SQLite)."""
    if isinstance(raw, dict):
        return raw
    return json.loads(raw) if raw else {}
