"""Changing an order's fields, lines and tags by hand, and sync's updates (SPEC §9).

`apply_update` is the one way an order's content changes: lines by the edit rules of §4
(`orders.replace_lines`), every other field replaced, one `order.updated` event. Hand edits
(`update_fields`) and sync's `updated` outcome both go through it, so the ledger, the outbox and
coverage agree whichever way a change arrived.

Decisions:
- An edit that changes nothing writes nothing and raises no event.
- Changing the warehouse releases the order's reservations first (they hold stock of the old
  warehouse, which the order no longer ships from); its allocation status becomes
  `unallocated`, so allocation starts afresh in the new warehouse.
- Tags by hand (`tag`, `untag`) write `order.updated`, so `order updated` rules can react
  (clearing a fraud-review tag releases the order); tags set by rules (`orders.retag`) do not.
  Tags can be changed on orders in any status: they label orders, they reserve nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import BadInput, UnknownOrder
from engine.model import Actor, EventType, Line, Order
from engine.service.orders import get, open_order, replace_lines
from engine.service.release import release_orders
from engine.service.tx import Tx
from engine.store import outbox
from engine.store.changes import replace_tags, write_order_fields
from engine.store.rows import case_hint, load_orders


def same_content(stored: Order, target: Order) -> bool:
    """Whether `target` says nothing new about `stored` (statuses and reservations aside)."""
    return (
        stored.channel == target.channel
        and stored.placed_at == target.placed_at
        and stored.ship_to == target.ship_to
        and stored.shipping_method == target.shipping_method
        and stored.total == target.total
        and stored.tags == target.tags
        and stored.warehouse == target.warehouse
        and dict(stored.attributes) == dict(target.attributes)
        and _line_specs(stored) == _line_specs(target)
    )


def _line_specs(order: Order) -> list[tuple[str, int]]:
    return [(line.sku, line.qty) for line in order.lines]


def apply_update(tx: Tx, stored: Order, target: Order, actor: Actor) -> bool:
    """Make the locked, open order `stored` say what `target` says; False if nothing differs.

    Lines follow the edit rules of SPEC §4; a new warehouse releases the reservations first.
    Writes one `order.updated` when anything changed.
    """
    if same_content(stored, target):
        return False
    order = stored
    if target.warehouse != stored.warehouse:
        release_orders(tx, [stored.id], "edit", actor)
        order = load_orders(tx.conn, [stored.id])[stored.id]
    if _line_specs(order) != _line_specs(target):
        replace_lines(tx, order, _line_specs(target), actor)
    now = tx.now()
    write_order_fields(tx.conn, target, now)
    if target.tags != stored.tags:
        replace_tags(tx.conn, stored.id, target.tags)
    outbox.record(tx.conn, [outbox.event_row(now, EventType.ORDER_UPDATED, stored.id)])
    return True


def update_fields(
    tx: Tx, order_id: str, change: Callable[[Order], Order], actor: Actor
) -> tuple[Order, bool]:
    """Edit an awaiting order by hand: `change` gives the order as it should be.

    Unknown order, or not awaiting fulfillment: `OperationFailed` (exit 1). Returns the order
    afterwards and whether anything changed.
    """
    # The lock order: the stock of the lines it has and will have, then the order (open_order).
    first = get(tx, order_id)
    stored, _ = open_order(tx, order_id, "edit", [line.sku for line in change(first).lines])
    target = change(stored)
    if target.id != stored.id:
        raise BadInput("an edit cannot change the order's id")
    if not target.lines:
        raise BadInput("an order needs at least one line")
    changed = apply_update(tx, stored, target, actor)
    return get(tx, order_id), changed


def tag(tx: Tx, ids: Sequence[str], label: str, add: bool, actor: Actor) -> list[str]:
    """Add (or remove) one tag on several orders, all or none; the ids whose tags changed.

    Each changed order gets `order.updated`; one that already has (or lacks) the tag is left
    alone. An unknown id is `OperationFailed` naming it.
    """
    del actor  # tags reserve nothing: there is no ledger entry to attribute
    wanted = list(dict.fromkeys(ids))
    tx.lock_orders(wanted)
    found = load_orders(tx.conn, wanted)
    unknown = [oid for oid in wanted if oid not in found]
    if unknown:
        shown = ", ".join(repr(oid) for oid in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        hint = case_hint(tx.conn, unknown[0]) if len(unknown) == 1 else ""
        raise UnknownOrder(f"no order with id {shown}{more}{hint}; no tags changed")
    changed = [oid for oid in wanted if (label in found[oid].tags) != add]
    now = tx.now()
    for oid in changed:
        tags = found[oid].tags | {label} if add else found[oid].tags - {label}
        replace_tags(tx.conn, oid, tags)
    outbox.record(tx.conn, [outbox.event_row(now, EventType.ORDER_UPDATED, oid) for oid in changed])
    return changed


@dataclass(frozen=True)
class FieldChanges:
    """An edit by hand, already validated (`engine.io.fields.edit_value`): `values` by field
    name (`shipping_method`, `ship_to.country`, …, `warehouse`, `total`), `attributes` to set
    (None removes one), and the new full set of `lines` when given."""

    values: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, str | None] = field(default_factory=dict)
    lines: Sequence[tuple[str, int]] | None = None

    def __bool__(self) -> bool:
        return bool(self.values or self.attributes or self.lines is not None)

    def apply(self, order: Order) -> Order:
        """The order as this edit makes it."""
        ship_to = dataclasses.replace(
            order.ship_to,
            **{k.split(".", 1)[1]: v for k, v in self.values.items() if k.startswith("ship_to.")},
        )
        top = {k: v for k, v in self.values.items() if not k.startswith("ship_to.")}
        attributes = dict(order.attributes)
        for key, value in self.attributes.items():
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        lines = (
            order.lines if self.lines is None else tuple(Line(sku, qty) for sku, qty in self.lines)
        )
        return dataclasses.replace(
            order, ship_to=ship_to, attributes=attributes, lines=lines, **top
        )
