"""The rows one chunk of a batch allocation writes (`engine.service.batch`), flushed with one
executemany per table (on SQLite the statuses with one UPDATE per new status, the ids as a
JSON array), on the raw cursor with hand-written SQL (rows built in placeholder order: no
compile, no reordering, no parameter dictionaries).

The ledger rows of a chunk are copies of its new reservations plus the actor. On SQLite, when
one actor made the whole chunk (always so for `allocate --all`), they are written by one
`INSERT … SELECT` from the reservations just inserted (SQLite has one writer, so every
reservation above the sequence number read before the insert is ours): a third of the rows
Python would otherwise build and the driver bind. For mixed actors (a rule tick) and on
PostgreSQL, where a concurrent writer's reservations may commit in between, Python builds them.
On PostgreSQL a chunk's new rows go in by `COPY` (through psycopg; else one INSERT of arrays,
`unnest`) and its updates in one statement per table, as arrays joined on the table's key.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from engine.model import Actor
from engine.service.records import QueueEntry
from engine.store import ledger, reservations
from engine.store.bulk import Bulk

_INSERT_RESERVATIONS = (
    "INSERT INTO reservations (order_id, line_no, sku, warehouse, qty, covered, reserved_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_LEDGER = (
    "INSERT INTO ledger (at, order_id, line_no, sku, warehouse, delta, operation, rule, "
    "ruleset, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_LEDGER_FROM_RESERVATIONS = (
    "INSERT INTO ledger (at, order_id, line_no, sku, warehouse, delta, operation, rule, "
    "ruleset, actor) SELECT reserved_at, order_id, line_no, sku, warehouse, qty, 'allocate', "
    "?, ?, ? FROM reservations WHERE seq > ? ORDER BY seq"
)
_SET_RESERVED = "UPDATE order_lines SET reserved = ? WHERE order_id = ? AND line_no = ?"
#: SQLite, rows named by rowid (`ChunkWrites.rowids`): one B-tree search per row instead of
#: the primary-key index and then the table (0.08 s against 0.14 s per 80k lines).
_SET_RESERVED_BY_ROWID = "UPDATE order_lines SET reserved = ? WHERE rowid = ?"
#: SQLite: one UPDATE per new status and chunk, the ids as one JSON array: binding a row per
#: order from Python cost more than the update itself (executemany 0.4-0.6 s per 100k orders,
#: this 0.3 s).
_SET_STATUS = (
    "UPDATE orders SET allocation_status = ?, updated_at = ? "
    "WHERE {key} IN (SELECT value FROM json_each(?))"
)
#: ... and row by row where the SQLite library lacks the JSON functions (`Bulk.json_arrays`).
_SET_STATUS_ROW = "UPDATE orders SET allocation_status = ?, updated_at = ? WHERE {key} = ?"
_SET_ALLOCATED = "UPDATE inventory SET allocated = ? WHERE sku = ? AND warehouse = ?"

#: PostgreSQL: one statement per table and chunk, the rows passed as one array per column
#: (`unnest`), in order (WITH ORDINALITY: the sequence numbers follow the queue). Row by row,
#: each statement was a round trip of its own: 30 of the 36 s of a 100k-order run. The inserts
#: go by COPY where psycopg can (`Bulk.copy`, rows in queue order): 37 ms against 57 ms per
#: chunk of 3,200 reservations, 12 against 36 ms for their ledger rows.
_RESERVATION_COLUMNS = ("order_id", "line_no", "sku", "warehouse", "qty", "covered", "reserved_at")
_LEDGER_COLUMNS = (
    "at", "order_id", "line_no", "sku", "warehouse", "delta", "operation", "rule", "ruleset",
    "actor",
)  # fmt: skip
_PG_RESERVATIONS = (
    "INSERT INTO reservations (order_id, line_no, sku, warehouse, qty, covered, reserved_at) "
    "SELECT o, l, s, w, q, c, a FROM unnest(%s::text[], %s::int[], %s::text[], %s::text[], "
    "%s::int[], %s::bool[], %s::timestamptz[]) WITH ORDINALITY AS t(o, l, s, w, q, c, a, n) "
    "ORDER BY n"
)
_PG_LEDGER = (
    "INSERT INTO ledger (at, order_id, line_no, sku, warehouse, delta, operation, rule, "
    "ruleset, actor) SELECT a, o, l, s, w, q, p, r, rs, ac FROM unnest(%s::timestamptz[], "
    "%s::text[], %s::int[], %s::text[], %s::text[], %s::int[], %s::text[], %s::text[], "
    "%s::text[], %s::text[]) WITH ORDINALITY AS t(a, o, l, s, w, q, p, r, rs, ac, n) ORDER BY n"
)
_PG_RESERVED = (
    "UPDATE order_lines SET reserved = t.r "
    "FROM unnest(%s::int[], %s::text[], %s::int[]) AS t(r, o, n) "
    "WHERE order_lines.order_id = t.o AND order_lines.line_no = t.n"
)
_PG_STATUS = (
    "UPDATE orders SET allocation_status = t.s, updated_at = t.a "
    "FROM unnest(%s::text[], %s::timestamptz[], %s::text[]) AS t(s, a, i) WHERE orders.id = t.i"
)


class ChunkWrites:
    """Reservations, ledger rows, line counters and statuses of one chunk."""

    def __init__(self, bulk: Bulk, now: datetime) -> None:
        self.bulk = bulk
        self.stamp = bulk.value(reservations.c.reserved_at, now)
        self.covered = bulk.value(reservations.c.covered, True)
        self.sqlite = bulk.dialect.name == "sqlite"
        self.reservations: list[tuple[Any, ...]] = []
        self.ledger: list[tuple[Any, ...]] | None = None
        self.actor: Actor | None = None
        self.lines: list[tuple[Any, ...]] = []
        self.status: list[tuple[str, Any, Any]] = []
        self.units = 0
        self.rowids = False

    def begin(self, actor: Actor | None, rowids: bool = False) -> None:
        """A new chunk: `actor` when one actor made all of it (None: several). With `rowids`
        (SQLite only) the chunk's line counters are (reserved, order_lines rowid) and its
        statuses (status, updated at, orders rowid), as the plain loop reads them."""
        self.rowids = rowids and self.sqlite
        if self.sqlite and actor is not None:
            self.actor, self.ledger = actor, None
        else:
            self.actor, self.ledger = None, []

    def reserve_lines(
        self,
        entry: QueueEntry,
        oid: str,
        warehouse: str,
        numbers: list[int],
        lines: list[tuple[str, int, int]],
        grants: list[int],
    ) -> None:
        """What `model.attempt` granted an order's lines, (sku, qty, reserved) each."""
        add, add_line, stamp, covered = (
            self.reservations.append,
            self.lines.append,
            self.stamp,
            self.covered,
        )
        ledger = self.ledger
        for index, grant in enumerate(grants):
            if not grant:
                continue
            sku, _, reserved = lines[index]
            line_no = numbers[index]
            add((oid, line_no, sku, warehouse, grant, covered, stamp))
            add_line((reserved + grant, oid, line_no))
            self.units += grant
            if ledger is not None:
                a = entry.actor
                row = (stamp, oid, line_no, sku, warehouse, grant, "allocate")
                ledger.append((*row, a.rule, a.ruleset, a.name))

    def reserve_routed(
        self,
        entry: QueueEntry,
        oid: str,
        line_no: int,
        parts: tuple[tuple[str, int], ...],
        routed: list[tuple[str, int]],
        reserved: int,
        line_row: int | None = None,
    ) -> None:
        """Reserve a line's units along its routes (SPEC §12): each (warehouse, line units)
        reserves every part (a kit's components, or the SKU itself). With `line_row` (SQLite,
        `rowids`) the line counter names the line's rowid."""
        stamp, covered, ledger, actor = self.stamp, self.covered, self.ledger, entry.actor
        line_units = 0
        for warehouse, units in routed:
            line_units += units
            for sku, per in parts:
                qty = units * per
                self.units += qty
                self.reservations.append((oid, line_no, sku, warehouse, qty, covered, stamp))
                if ledger is not None:
                    row = (stamp, oid, line_no, sku, warehouse, qty, "allocate")
                    ledger.append((*row, actor.rule, actor.ruleset, actor.name))
        self.lines.append(
            (reserved + line_units, oid, line_no)
            if line_row is None
            else (reserved + line_units, line_row)
        )

    def flush(self) -> int:
        """Write the chunk; returns the stock units it reserved."""
        bulk = self.bulk
        if not self.sqlite:
            _flush_postgres(bulk, self.reservations, self.ledger or [], self.lines, self.status)
        elif self.reservations:
            if self.actor is not None:
                last = bulk.query("SELECT coalesce(max(seq), 0) FROM reservations")[0][0]
            bulk.run_many(_INSERT_RESERVATIONS, self.reservations)
            if self.actor is not None:
                actor = self.actor
                bulk.query(_LEDGER_FROM_RESERVATIONS, (actor.rule, actor.ruleset, actor.name, last))
            else:
                bulk.run_many(_INSERT_LEDGER, self.ledger or [])
        if self.sqlite:
            bulk.run_many(_SET_RESERVED_BY_ROWID if self.rowids else _SET_RESERVED, self.lines)
            _set_status(bulk, self.status, "rowid" if self.rowids else "id")
        units = self.units
        self.reservations, self.lines, self.status, self.units = [], [], [], 0
        self.ledger = None if self.ledger is None else []
        return units


def _flush_postgres(
    bulk: Bulk,
    new: list[tuple[Any, ...]],
    ledger_rows: list[tuple[Any, ...]],
    lines: list[tuple[Any, ...]],
    status: list[tuple[Any, ...]],
) -> None:
    """A chunk's rows on PostgreSQL: the reservations and ledger rows, then the line counters
    and statuses."""
    for table, columns, sql, rows in (
        (reservations, _RESERVATION_COLUMNS, _PG_RESERVATIONS, new),
        (ledger, _LEDGER_COLUMNS, _PG_LEDGER, ledger_rows),
    ):
        if rows and bulk.can_copy:
            bulk.copy(table, columns, rows)
        elif rows:
            bulk.query(sql, _as_arrays(rows))
    updates = [(sql, rows) for sql, rows in ((_PG_RESERVED, lines), (_PG_STATUS, status)) if rows]
    if updates:
        with bulk.key_lookups():  # once for both: its settings cost three round trips
            for sql, rows in updates:
                bulk.query(sql, _as_arrays(rows))


def _as_arrays(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


def _set_status(bulk: Bulk, rows: list[tuple[str, Any, Any]], key: str) -> None:
    """(allocation status, updated at, id or rowid: `key`) of a chunk's orders, one
    statement per status (SQLite)."""
    if not bulk.json_arrays:
        bulk.run_many(_SET_STATUS_ROW.format(key=key), rows)
        return
    by_status: dict[tuple[str, Any], list[Any]] = {}
    for status, stamp, oid in rows:
        by_status.setdefault((status, stamp), []).append(oid)
    sql = _SET_STATUS.format(key=key)
    for (status, stamp), ids in by_status.items():
        bulk.query(sql, (status, stamp, json.dumps(ids, ensure_ascii=False)))


def write_allocated(bulk: Bulk, counters: list[tuple[int, str, str]]) -> None:
    """inventory.allocated, (allocated, sku, warehouse) each, in lock (key) order."""
    bulk.run_many(_SET_ALLOCATED, counters)
