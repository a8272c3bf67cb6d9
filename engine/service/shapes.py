"""The JSON shapes of SPEC §8 (`orders show --json`, `inventory list --json`, …): one serializer
for the command line and the HTTP API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.model import Order
from engine.store.rows import aware


def iso(value: datetime | None) -> str | None:
    return None if value is None else aware(value).isoformat().replace("+00:00", "Z")


def stock_row(sku: str, warehouse: str, on_hand: int, allocated: int) -> dict[str, Any]:
    """SPEC §8 `inventory list --json` row."""
    return {
        "sku": sku,
        "warehouse": warehouse,
        "on_hand": on_hand,
        "allocated": allocated,
        "available": on_hand - allocated,
    }


def kit_stock_row(kit: str, warehouse: str, available: int) -> dict[str, Any]:
    """`inventory list --json` row of a kit (SPEC §12): no stock of its own, so on hand and
    allocated are null; `available` is the kit units its components make there."""
    return {
        "sku": kit,
        "warehouse": warehouse,
        "on_hand": None,
        "allocated": None,
        "available": available,
        "kit": True,
    }


def order_json(
    order: Order, warehouses: Sequence[Mapping[str, int]] | None = None
) -> dict[str, Any]:
    """SPEC §8 `orders show --json`; each line's `warehouses` says where its reserved units
    are (SPEC §12). Without `warehouses`, every reserved unit is in the order's warehouse,
    which holds for any order allocated without `from`."""
    if warehouses is None:
        warehouses = [{order.warehouse: x.reserved} if x.reserved else {} for x in order.lines]
    return {
        "id": order.id,
        "channel": order.channel,
        "status": order.status,
        "allocation_status": order.allocation_status,
        "placed_at": iso(order.placed_at),
        "ship_to": {
            "name": order.ship_to.name,
            "country": order.ship_to.country,
            "state": order.ship_to.state,
            "city": order.ship_to.city,
            "postal_code": order.ship_to.postal_code,
        },
        "shipping_method": order.shipping_method,
        "total": None if order.total is None else str(order.total),
        "tags": sorted(order.tags),
        "warehouse": order.warehouse,
        "attributes": dict(order.attributes),
        "lines": [
            {"sku": x.sku, "qty": x.qty, "reserved": x.reserved, "warehouses": dict(where)}
            for x, where in zip(order.lines, warehouses, strict=True)
        ],
    }


def event_json(
    event_id: int, kind: str, at: datetime, order_id: str | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """One outbox event as `events list --json`, `events tail` and the webhooks show it:
    `{id, type, at, data}`; `data` is the payload with the event's order as `order`."""
    data = {"order": order_id, **payload} if order_id is not None else dict(payload)
    return {"id": event_id, "type": kind, "at": iso(at), "data": data}
