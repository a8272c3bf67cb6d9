"""The allocation-status changes of one transaction, told as `allocation.changed` (SPEC §13).

Every use case notes the status changes it makes here instead of writing events itself: the
transaction's net change per order is what happened, so a reallocate (unallocated, then
allocated again) or a split after an allocation tells one change, not two. The notes are
written to the outbox in the same transaction, when the work is done (`Tx.finish`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
        notes are then cleared. Returns how many events were written."""
        if not self._changes:
            return 0
        stamp = bulk.value(events.c.at, now)
        payload = _payload_writer(bulk)
        kind = str(EventType.ALLOCATION_CHANGED)
        rows = [
            (stamp, kind, oid, payload(oid, before, after, cause, rule))
            for oid, (before, after, cause, rule) in self._changes.items()
            if before != after
        ]
        self._changes.clear()
        bulk.insert(events, _COLUMNS, rows)
        return len(rows)


def _payload_writer(bulk: Bulk) -> Callable[[str, str, str, str, str | None], Any]:
    """The payload `{order, before, after, cause, rule}` as the driver takes it.

    Where the driver takes JSON text (SQLite), the text is put together from a cached tail per
    (before, after, cause, rule): `allocate --all` tells 100k changes, and a `json.dumps` per
    dict was a measurable part of the allocation's time. The text is what `json.dumps` of the
    dict gives, byte for byte.
    """
    as_json = bulk.processor(events.c.payload)
    if not isinstance(as_json({}), str):
        return lambda oid, before, after, cause, rule: as_json(
            {"order": oid, "before": before, "after": after, "cause": cause, "rule": rule}
        )
    tails: dict[tuple[str, str, str, str | None], str] = {}

    def text(oid: str, before: str, after: str, cause: str, rule: str | None) -> str:
        key = (before, after, cause, rule)
        tail = tails.get(key)
        if tail is None:
            whole = json.dumps({"before": before, "after": after, "cause": cause, "rule": rule})
            tail = tails[key] = ", " + whole[1:]
        return '{"order": ' + json.dumps(oid) + tail

    return text
