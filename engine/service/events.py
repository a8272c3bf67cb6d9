"""Reading the outbox and the webhook queue (SPEC §13): `dibs events …` and `dibs deliveries …`."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from engine.errors import BadInput, OperationFailed
from engine.model import EventType
from engine.service.shapes import event_json, iso
from engine.service.tx import Tx
from engine.store import delivery_queue, outbox

EVENT_TYPES = tuple(e.value for e in EventType)
#: What `deliveries list` shows by default: everything not delivered.
UNDELIVERED = delivery_queue.UNDELIVERED
RETRY_FOR_HOURS = 24


def check_types(types: Sequence[str]) -> None:
    """Refuse an unknown event type (exit 2) with the closest known one."""
    for kind in types:
        if kind not in EVENT_TYPES:
            close = difflib.get_close_matches(kind, EVENT_TYPES, n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; one of {', '.join(EVENT_TYPES)}"
            )
            raise BadInput(f"--type: unknown event type {kind!r}{hint}")


def list_events(
    conn: Connection,
    types: Sequence[str] = (),
    order_id: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    check_types(types)
    return [event_json(*row) for row in outbox.list_events(conn, types, order_id, since, limit)]


def events_after(conn: Connection, after: int) -> list[tuple[int, dict[str, Any]]]:
    """(id, event JSON) of the events above `after`, oldest first."""
    return [(row[0], event_json(*row)) for row in outbox.events_after(conn, after)]


def last_event_id(conn: Connection) -> int:
    return outbox.last_event_id(conn)


def delivery_json(row: dict[str, Any]) -> dict[str, Any]:
    """One webhook delivery as `deliveries list --json` shows it."""
    return {
        "id": row["id"],
        "event": row["event_id"],
        "type": row["type"],
        "endpoint": row["endpoint"],
        "order": row["order_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "next_at": iso(row["next_at"]) if row["status"] in delivery_queue.OPEN else None,
        "deadline": iso(row["deadline"]),
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "last_failed_at": iso(row["last_failed_at"]),
        "created_at": iso(row["created_at"]),
        "delivered_at": iso(row["delivered_at"]),
    }


def list_deliveries(conn: Connection, statuses: Sequence[str] = ()) -> list[dict[str, Any]]:
    wanted = list(statuses) or list(UNDELIVERED)
    for status in wanted:
        if status not in delivery_queue.STATUSES:
            raise BadInput(
                f"--status: unknown delivery status {status!r}; one of "
                + ", ".join(delivery_queue.STATUSES)
            )
    return [delivery_json(r) for r in delivery_queue.listing(conn, wanted)]


def delivery_status(conn: Connection, endpoints: Sequence[str] = ()) -> list[dict[str, Any]]:
    """`dibs status`'s `deliveries`: per endpoint (those named, and every one with a delivery
    not delivered), how many are pending, failed and dead, and the newest failure, by name."""
    counts = delivery_queue.undelivered_by_endpoint(conn)
    shown = []
    for name in sorted(set(counts) | set(endpoints)):
        row = {"endpoint": name, **counts.get(name, dict.fromkeys(UNDELIVERED, 0))}
        failure = delivery_queue.last_failure(conn, name) if name in counts else None
        row["last_failure"] = None
        if failure is not None:
            row["last_failure"] = {
                "at": iso(failure.last_failed_at),
                "error": failure.last_error,
                "http_status": failure.last_status,
            }
        shown.append(row)
    return shown


def retry_deliveries(tx: Tx, ids: Sequence[int]) -> list[int]:
    """Make deliveries due now, with 24 fresh hours of retries; all of them or none.

    Unknown ids are refused (exit 1); delivered ones too: they reached their endpoint.
    """
    now = tx.now()
    wanted = list(dict.fromkeys(ids))
    found = delivery_queue.retry(tx.conn, wanted, now, now + timedelta(hours=RETRY_FOR_HOURS))
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise OperationFailed(f"no delivery with id {', '.join(map(str, unknown))}")
    done = [i for i in wanted if found[i] == delivery_queue.DELIVERED]
    if done:
        raise OperationFailed(
            f"delivery {', '.join(map(str, done))} was delivered already; nothing to retry"
        )
    return wanted
