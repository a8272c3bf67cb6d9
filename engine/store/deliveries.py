"""Webhook deliveries seen: the dedup of SPEC §10, kept in the database.

The delivery id is inserted in the transaction that applies the delivery, under a unique key:
a redelivery (Shopify retries for hours), a restart, or the same delivery reaching a second
server all find the id taken and do nothing. On PostgreSQL a second transaction inserting the
same id waits on the first's uncommitted row and then sees the conflict (or, if the first
rolled back, takes the id and applies the delivery itself): never twice, never lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection

from engine.store.schema import webhook_deliveries


def _statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING, built once per dialect (a webhook's hot path:
    building it per call cost more than running it)."""
    if dialect not in _STATEMENTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        _STATEMENTS[dialect] = (
            dialect_insert(webhook_deliveries)
            .values(
                channel=bindparam("w_channel"),
                delivery_id=bindparam("w_id"),
                topic=bindparam("w_topic"),
                received_at=bindparam("w_at", type_=webhook_deliveries.c.received_at.type),
            )
            .on_conflict_do_nothing()
            # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
            .returning(webhook_deliveries.c.delivery_id)
        )
    return _STATEMENTS[dialect]


_STATEMENTS: dict[str, Any] = {}


def record_delivery(
    conn: Connection, channel: str, delivery_id: str, topic: str, now: datetime
) -> bool:
    """Record a delivery; False when it was recorded before (a duplicate: do nothing)."""
    params = {"w_channel": channel, "w_id": delivery_id[:200], "w_topic": topic[:100], "w_at": now}
    return conn.execute(_statement(conn.dialect.name), params).first() is not None
