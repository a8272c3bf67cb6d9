"""The allocation-status changes of one transaction, told as `allocation.changed` (SPEC §13).

Every use case notes the status changes it makes here instead of writing events itself: the
transaction's net change per order is what happened, so a reallocate (unallocated, then
allocated again) or a split after an allocation tells one change, not two. The notes are
written to the outbox in the same transaction, when the work is done (`Tx.finish`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.model import EventType
from engine.store import events
from engine.store.bulk import Bulk

_COLUMNS = ("at", "type", "order_id", "payload")


class StatusChanges:
    """Order id -> [first before, last after, first cause, its rule] within one transaction."""

    __slots__ = ("_changes",)

    def __init__(self) -> None:
        self._changes: dict[str, list[Any]] = {}

    def note(self, order_id: str, before: str, after: str, cause: str, rule: str | None) -> None:
        """Record that `order_id` went from `before` to `after` because of `cause`."""
        entry = self._changes.get(order_id)
        if entry is None:
            self._changes[order_id] = [before, after, cause, rule]
        else:
            entry[1] = after

    @property
    def empty(self) -> bool:
        return not self._changes

    def flush(self, bulk: Bulk, now: datetime) -> int:
        """Write one `allocation.changed` per order whose status differs at the end; the
        notes are then cleared. Returns how many events were written.

        The payload holds `{before, after, cause, rule}`; the order is the event's order column
        (the event's `data` shows it as `order`, see `shapes.event_json`). So the payload is
        the same for every order that changed alike and is converted once per kind of change:
        `allocate --all` tells 100k changes, and a conversion per row was a measurable part of
        the allocation's time (tests/bench/bench_events.py).
        """
        if not self._changes:
            return 0
        stamp = bulk.value(events.c.at, now)
        as_json = bulk.processor(events.c.payload)
        kind = str(EventType.ALLOCATION_CHANGED)
        payloads: dict[tuple[str, str, str, str | None], Any] = {}
        rows = []
        for oid, (before, after, cause, rule) in self._changes.items():
            if before == after:
                continue
            key = (before, after, cause, rule)
            payload = payloads.get(key)
            if payload is None:
                payload = payloads[key] = as_json(
                    {"before": before, "after": after, "cause": cause, "rule": rule}
                )
            rows.append((stamp, kind, oid, payload))
        self._changes.clear()
        bulk.insert(events, _COLUMNS, rows)
        return len(rows)
