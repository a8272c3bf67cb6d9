"""The queue of outbound webhook deliveries (SPEC §13): one row per (event, endpoint).

The tick that processes an event queues its deliveries in the same transaction (so a crash
loses none and queues none twice: `(event_id, endpoint)` is unique). A worker claims due
deliveries of one endpoint with a lease (`claimed_until`) and commits before it makes the HTTP
attempt, so no transaction stays open during a request; a worker that dies leaves a lease that
expires, and the delivery is due again (at least once). On PostgreSQL the claim skips rows
another worker is claiming (`FOR UPDATE SKIP LOCKED`, a queue).

Order per order: a delivery is not due while an earlier delivery of the same order to the same
endpoint is still open (pending or failed), nor, on PostgreSQL, while an earlier event of that
order is not yet processed (another worker's tick may still be queueing it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.engine import Connection

from engine.store.bulk import Bulk
from engine.store.rows import aware
from engine.store.schema import deliveries, events

PENDING, FAILED, DEAD, DELIVERED = "pending", "failed", "dead", "delivered"
STATUSES = (PENDING, FAILED, DEAD, DELIVERED)
OPEN = (PENDING, FAILED)
UNDELIVERED = (PENDING, FAILED, DEAD)
_COLUMNS = (
    "event_id",
    "endpoint",
    "order_id",
    "status",
    "attempts",
    "next_at",
    "deadline",
    "created_at",
)


@dataclass(frozen=True)
class Due:
    """A claimed delivery with its event, ready for an attempt."""

    id: int
    endpoint: str
    attempts: int
    deadline: datetime
    event_id: int
    type: str
    at: datetime
    order_id: str | None
    payload: dict[str, Any]


def enqueue(
    conn: Connection,
    rows: Sequence[tuple[int, str, str | None]],
    now: datetime,
    deadline: datetime,
) -> int:
    """Queue (event id, endpoint, order id) deliveries, due now; returns how many."""
    if not rows:
        return 0
    bulk = Bulk(conn)
    at = bulk.value(deliveries.c.next_at, now)
    until = bulk.value(deliveries.c.deadline, deadline)
    bulk.insert(
        deliveries,
        _COLUMNS,
        [
            (event_id, endpoint, order_id, PENDING, 0, at, until, at)
            for event_id, endpoint, order_id in rows
        ],
    )
    return len(rows)


def _due(
    conn: Connection, endpoint: str, now: datetime, due_by: datetime, limit: int
) -> Select[Any]:
    """The ids of the deliveries of `endpoint` that may be attempted now, oldest event first."""
    d = deliveries
    earlier = deliveries.alias("earlier")
    blocked = exists().where(
        earlier.c.endpoint == d.c.endpoint,
        earlier.c.order_id == d.c.order_id,
        earlier.c.event_id < d.c.event_id,
        earlier.c.status.in_(OPEN),
    )
    query = (
        select(d.c.id)
        .where(
            d.c.endpoint == endpoint,
            d.c.status.in_(OPEN),
            d.c.next_at <= due_by,
            or_(d.c.claimed_until.is_(None), d.c.claimed_until <= now),
            ~blocked,
        )
        .order_by(d.c.event_id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        unqueued = exists().where(
            events.c.processed.is_(False),
            events.c.order_id == d.c.order_id,
            events.c.id < d.c.event_id,
        )
        query = query.where(~unqueued).with_for_update(skip_locked=True, of=d)
    return query


def claim_due(
    conn: Connection,
    endpoint: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    due_by: datetime | None = None,
) -> list[Due]:
    """Claim up to `limit` due deliveries of `endpoint`, oldest event first, until
    `lease_until`. `due_by` (default `now`) is the latest `next_at` that counts as due."""
    d = deliveries
    ids = list(conn.execute(_due(conn, endpoint, now, due_by or now, limit)).scalars())
    if not ids:
        return []
    conn.execute(update(d).where(d.c.id.in_(ids)).values(claimed_until=lease_until))
    rows = conn.execute(
        select(
            d.c.id,
            d.c.endpoint,
            d.c.attempts,
            d.c.deadline,
            events.c.id.label("event_id"),
            events.c.type,
            events.c.at,
            events.c.order_id,
            events.c.payload,
        )
        .join(events, events.c.id == d.c.event_id)
        .where(d.c.id.in_(ids))
        .order_by(d.c.event_id)
    ).all()
    return [
        Due(
            r.id,
            r.endpoint,
            r.attempts,
            aware(r.deadline),
            r.event_id,
            r.type,
            aware(r.at),
            r.order_id,
            r.payload or {},
        )
        for r in rows
    ]


def record_attempt(
    conn: Connection,
    delivery_id: int,
    now: datetime,
    *,
    delivered: bool,
    http_status: int | None,
    error: str | None,
    retry_at: datetime | None,
) -> str:
    """Write what an attempt gave: delivered, failed (due again at `retry_at`) or, with no
    `retry_at`, dead. Returns the new status."""
    status = DELIVERED if delivered else (FAILED if retry_at is not None else DEAD)
    values: dict[str, Any] = {
        "status": status,
        "attempts": deliveries.c.attempts + 1,
        "claimed_until": None,
        "last_status": http_status,
        "last_error": None if error is None else error[:500],
    }
    if delivered:
        values["delivered_at"] = now
    else:
        values["last_failed_at"] = now
        if retry_at is not None:
            values["next_at"] = retry_at
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))
    return status


def removed_reason(endpoint: str) -> str:
    """The `last_error` of a delivery given up because its endpoint left the rule file."""
    return f"endpoint {endpoint!r} is no longer in the rule file's notify: section"


def give_up_removed(
    conn: Connection, known: Collection[str], queued_before: datetime, now: datetime
) -> dict[str, int]:
    """Mark dead the open deliveries queued before `queued_before` for an endpoint not in
    `known` (it left the rule file), with the reason; returns how many, per endpoint."""
    d = deliveries
    where = [d.c.status.in_(OPEN), d.c.created_at < queued_before]
    if known:
        where.append(d.c.endpoint.not_in(sorted(known)))
    gone: dict[str, int] = dict(
        conn.execute(select(d.c.endpoint, func.count()).where(*where).group_by(d.c.endpoint)).all()
    )
    for name in gone:
        conn.execute(
            update(d)
            .where(*where, d.c.endpoint == name)
            .values(
                status=DEAD,
                claimed_until=None,
                last_status=None,
                last_error=removed_reason(name)[:500],
                last_failed_at=now,
            )
        )
    return gone


def release(conn: Connection, ids: Sequence[int]) -> None:
    """Give back claims that were not attempted (the worker is stopping)."""
    if ids:
        conn.execute(
            update(deliveries).where(deliveries.c.id.in_(list(ids))).values(claimed_until=None)
        )


def listing(
    conn: Connection, statuses: Sequence[str], limit: int | None = None
) -> list[dict[str, Any]]:
    """Deliveries with these statuses, newest event last, with their event's type and order."""
    query = (
        select(deliveries, events.c.type)
        .join(events, events.c.id == deliveries.c.event_id)
        .where(deliveries.c.status.in_(list(statuses)))
        .order_by(deliveries.c.id.desc())
    )
    if limit:
        query = query.limit(limit)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    return rows[::-1]


def retry(
    conn: Connection, ids: Sequence[int], now: datetime, deadline: datetime
) -> dict[int, str]:
    """Make these deliveries due now with a fresh 24 hours; returns each found id's status
    before (delivered ones are left alone)."""
    found = dict(
        conn.execute(
            select(deliveries.c.id, deliveries.c.status).where(deliveries.c.id.in_(list(ids)))
        ).all()
    )
    again = [i for i, status in found.items() if status != DELIVERED]
    if again:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(again))
            .values(status=PENDING, next_at=now, deadline=deadline, claimed_until=None)
        )
    return found


def undelivered_by_endpoint(conn: Connection) -> dict[str, dict[str, int]]:
    """Per endpoint, how many deliveries are pending, failed and dead (the undelivered ones:
    few, and found through the (endpoint, status) index)."""
    found: dict[str, dict[str, int]] = {}
    for name, status, n in conn.execute(
        select(deliveries.c.endpoint, deliveries.c.status, func.count())
        .where(deliveries.c.status.in_(UNDELIVERED))
        .group_by(deliveries.c.endpoint, deliveries.c.status)
    ):
        found.setdefault(name, dict.fromkeys(UNDELIVERED, 0))[status] = int(n)
    return found


def last_failure(conn: Connection, endpoint: str) -> Any | None:
    """The newest failure among the undelivered deliveries of `endpoint`: a row with
    `last_failed_at` (None before dibs kept it), `last_error` and `last_status`; or None."""
    d = deliveries
    return conn.execute(
        select(d.c.last_failed_at, d.c.last_error, d.c.last_status)
        .where(d.c.endpoint == endpoint, d.c.status.in_(UNDELIVERED), d.c.last_error.is_not(None))
        .order_by(d.c.last_failed_at.desc().nulls_last(), d.c.id.desc())
        .limit(1)
    ).first()


def counts(conn: Connection) -> dict[str, int]:
    """How many deliveries have each status."""
    return dict(
        conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status)).all()
    )


__all__ = ["DEAD", "DELIVERED", "FAILED", "OPEN", "PENDING", "STATUSES", "UNDELIVERED", "Due"]
