"""Webhook deliveries seen: the dedup of SPEC §10, kept in the database.

The delivery id is inserted in the transaction that applies the delivery, under a unique key:
a redelivery (Shopify retries for hours), a restart, or the same delivery reaching a second
server all find the id taken and do nothing. On PostgreSQL a second transaction inserting the
same id waits on the first's uncommitted row and then sees the conflict (or, if the first
rolled back, takes the id and applies the delivery itself): never twice, never lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from engine.store.schema import webhook_deliveries


def record_delivery(
    conn: Connection, channel: str, delivery_id: str, topic: str, now: datetime
) -> bool:
    """Record a delivery; False when it was recorded before (a duplicate: do nothing)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    taken = conn.execute(
        dialect_insert(webhook_deliveries)
        .values(channel=channel, delivery_id=delivery_id[:200], topic=topic[:100], received_at=now)
        .on_conflict_do_nothing()
        .returning(webhook_deliveries.c.delivery_id)
    ).first()
    return taken is not None
