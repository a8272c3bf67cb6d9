"""The allocation-status changes of one transaction, told as `allocation.changed` (SPEC §13).

Every use case notes the status changes it makes here instead of writing events itself: the
transaction's net change per order is what happened, so a reallocate (unallocated, then
allocated again) or a split after an allocation tells one change, not two. The notes are
written to the outbox in the same transaction, when the work is done (`Tx.finish`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from engine.model import EventType
from engine.store import events
from engine.store.bulk import Bulk

_COLUMNS = ("at", "type", "order_id", "payload")
_KIND = str(EventType.ALLOCATION_CHANGED)
#: SQLite: the events of a flush in one statement (`_write_events`).
_EVENTS_FROM_JSON = (
    "INSERT INTO events (at, type, order_id, payload) "
    "SELECT ?, ?, substr(value, 3), CASE substr(value, 1, 2) {cases} END FROM json_each(?)"
)
#: Kinds of change one statement tells at most (a two-digit mark each); more: row by row.
_MAX_KINDS = 100
#: Notes kept in memory before they move to a temporary table (`StatusChanges.spill`).
SPILL_AT = 100_000
_READ_BACK = 5000


class StatusChanges:
    """Order id -> [first before, last after, first cause, its rule] within one transaction."""

    __slots__ = ("_changes", "_spilled")

    def __init__(self) -> None:
        self._changes: dict[str, list[Any]] = {}
        self._spilled = False

    def note(self, order_id: str, before: str, after: str, cause: str, rule: str | None) -> None:
        """Record that `order_id` went from `before` to `after` because of `cause`."""
        entry = self._changes.get(order_id)
        if entry is None:
            self._changes[order_id] = [before, after, cause, rule]
        else:
            entry[1] = after

    def note_each(self, rows: list[tuple[str, str, str]], cause: str, rule: str | None) -> None:
        """`note` for many orders, (id, before, after) each, in that order."""
        changes = self._changes
        for order_id, before, after in rows:
            entry = changes.get(order_id)
            if entry is None:
                changes[order_id] = [before, after, cause, rule]
            else:
                entry[1] = after

    @property
    def empty(self) -> bool:
        return not self._changes and not self._spilled

    def spill(self, bulk: Bulk) -> None:
        """Bound the memory of a big transaction (`allocate --all` over millions of orders):
        past `SPILL_AT` notes, move them into the connection's temporary table `dibs_changes`,
        where a later note of the same order updates its last status (an upsert), just as
        `note` does in memory. `flush` reads them back in note order."""
        if len(self._changes) > SPILL_AT:
            self._to_table(bulk)

    def _to_table(self, bulk: Bulk) -> None:
        if not self._spilled:
            serial = "BIGSERIAL" if bulk.dialect.name == "postgresql" else "INTEGER"
            bulk.query(
                f"CREATE TEMP TABLE IF NOT EXISTS dibs_changes (n {serial} PRIMARY KEY, "
                "order_id TEXT NOT NULL UNIQUE, first_status TEXT NOT NULL, "
                "last_status TEXT NOT NULL, cause TEXT NOT NULL, rule TEXT)"
            )
            bulk.query("DELETE FROM dibs_changes")
            self._spilled = True
        bulk.run_many(
            "INSERT INTO dibs_changes (order_id, first_status, last_status, cause, rule) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (order_id) DO UPDATE SET last_status = excluded.last_status",
            [(oid, *entry) for oid, entry in self._changes.items()],
        )
        self._changes.clear()

    def flush(self, bulk: Bulk, now: datetime) -> int:
        """Write one `allocation.changed` per order whose status differs at the end; the
        notes are then cleared. Returns how many events were written.

        The payload holds `{before, after, cause, rule}`; the order is the event's order column
        (the event's `data` shows it as `order`, see `shapes.event_json`). So the payload is
        the same for every order that changed alike and is converted once per kind of change:
        `allocate --all` tells 100k changes, and a conversion per row was a measurable part of
        the allocation's time (tests/bench/bench_events.py).
        """
        if self._spilled:
            return self._flush_spilled(bulk, now)
        if not self._changes:
            return 0
        as_json = bulk.processor(events.c.payload)
        kinds: dict[tuple[str, str, str, str | None], int] = {}
        changed: list[tuple[int, str]] = []
        for oid, (before, after, cause, rule) in self._changes.items():
            if before != after:
                changed.append((kinds.setdefault((before, after, cause, rule), len(kinds)), oid))
        self._changes.clear()
        payloads = [
            as_json({"before": before, "after": after, "cause": cause, "rule": rule})
            for before, after, cause, rule in kinds
        ]
        _write_events(bulk, bulk.value(events.c.at, now), payloads, changed)
        return len(changed)

    def _flush_spilled(self, bulk: Bulk, now: datetime) -> int:
        """`flush` after a `spill`: the notes read back from `dibs_changes` in note order,
        _READ_BACK at a time, each batch written as the in-memory notes are."""
        self._to_table(bulk)
        last, written = 0, 0
        while rows := bulk.query(
            "SELECT n, order_id, first_status, last_status, cause, rule FROM dibs_changes "
            f"WHERE n > ? ORDER BY n LIMIT {_READ_BACK}",
            (last,),
        ):
            last = rows[-1][0]
            self._changes = {oid: list(entry) for _, oid, *entry in rows}
            self._spilled = False
            written += self.flush(bulk, now)
            self._spilled = True
        bulk.query("DELETE FROM dibs_changes")
        self._spilled = False
        return written


def _write_events(
    bulk: Bulk, stamp: Any, payloads: list[Any], changed: list[tuple[int, str]]
) -> None:
    """One `allocation.changed` per (payload index, order id), in that order.

    On SQLite the order ids go as one JSON array, each marked with its payload's two-digit
    index, and the payloads as a CASE: an executemany binding a row per event from Python took
    twice as long for `allocate --all`'s 100k (and a JSON array of pairs longer still)."""
    if not changed:
        return
    if not bulk.json_arrays or len(payloads) > _MAX_KINDS:
        rows = [(stamp, _KIND, oid, payloads[index]) for index, oid in changed]
        # PostgreSQL: COPY, 0.3 s for 100k events against 1.4 s by executemany.
        (bulk.copy if bulk.can_copy else bulk.insert)(events, _COLUMNS, rows)
        return
    cases = " ".join(f"WHEN '{index:02d}' THEN ?" for index in range(len(payloads)))
    # json_each yields an array's elements in order: the events keep note order.
    marked = json.dumps([f"{index:02d}{oid}" for index, oid in changed], ensure_ascii=False)
    bulk.query(_EVENTS_FROM_JSON.format(cases=cases), (stamp, _KIND, *payloads, marked))
