"""Changing an order by hand, several fields at once (the HTTP API's PATCH /orders/{id}).

One transaction and one `order.updated` event, whatever the patch touches: lines by the edit
rules of SPEC §4 (`orders.edit`), tags as the new full set, the address and shipping method
replaced. A patch that changes nothing writes nothing.
"""

from __future__ import annotations

from sqlalchemy import update

from engine.model import Actor, EventType, Order
from engine.service import orders as order_ops
from engine.service.tx import Tx
from engine.store import orders, outbox


def patch_order(tx: Tx, order_id: str, wanted: Order, actor: Actor) -> Order:
    """Make the open order `order_id` look like `wanted` (validated by the caller)."""
    current = order_ops.open_order(tx, order_id, "edit")
    lines = [(x.sku, x.qty) for x in wanted.lines]
    edited = lines != [(x.sku, x.qty) for x in current.lines]
    if edited:
        order_ops.edit(tx, order_id, lines, actor)  # records order.updated itself
    changed = False
    if wanted.tags != current.tags:
        order_ops.retag(tx, {order_id: (wanted.tags - current.tags, current.tags - wanted.tags)})
        changed = True
    if (wanted.ship_to, wanted.shipping_method) != (current.ship_to, current.shipping_method):
        tx.conn.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(
                ship_to_name=wanted.ship_to.name,
                ship_to_country=wanted.ship_to.country,
                ship_to_state=wanted.ship_to.state,
                ship_to_city=wanted.ship_to.city,
                ship_to_postal_code=wanted.ship_to.postal_code,
                shipping_method=wanted.shipping_method,
            )
        )
        changed = True
    if changed and not edited:
        now = tx.now()
        tx.conn.execute(update(orders).where(orders.c.id == order_id).values(updated_at=now))
        outbox.record(tx.conn, [outbox.event_row(now, EventType.ORDER_UPDATED, order_id)])
    return order_ops.get(tx, order_id)
