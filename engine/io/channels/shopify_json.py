"""Shopify JSON (Admin REST API responses, webhook bodies) -> native dibs order mappings.

The field-by-field mapping is in `engine.io.channels.shopify` and docs/channels.md.
"""

from __future__ import annotations

from engine.io.channels.common import (
    ChannelOrder,
    ChannelRead,
    Problem,
    Skipped,
    channel_name,
    finish,
)
from engine.io.channels.containers import json_orders
from engine.io.channels.shopify import (
    DEFAULT_CHANNEL,
    RawItem,
    RawOrder,
    RawValue,
    collect,
    order_name,
)
from engine.io.channels.values import kind

__all__ = ["read_shopify_json", "shopify_order"]


def read_shopify_json(data: bytes | str, name: str, channel: str | None = None) -> ChannelRead:
    """Every order of a Shopify JSON file or webhook body.

    `data` is the file's bytes (UTF-8, BOM allowed) or text; `name` names it in messages.
    Containers: one order object, an array, JSON Lines, `{"order": {...}}`, `{"orders": [...]}`.
    Raises `ChannelError` listing every problem when anything is wrong; then nothing is returned.
    """
    label = channel_name(channel, DEFAULT_CHANNEL)
    problems: list[Problem] = []
    orders: list[ChannelOrder] = []
    skipped: list[Skipped] = []
    for located in json_orders(data, name, problems):
        collect(_from_json(located.obj, located.where, problems), label, orders, skipped, problems)
    return finish(orders, skipped, problems)


def shopify_order(obj: object, where: str, channel: str | None = None) -> ChannelOrder | Skipped:
    """One already-parsed Shopify order object (a webhook payload), located as `where`.

    Raises `ChannelError` listing every problem. Prefer `read_shopify_json` on the raw body:
    it also accepts the wrappers and decodes amounts without a binary float.
    """
    label = channel_name(channel, DEFAULT_CHANNEL)
    problems: list[Problem] = []
    orders: list[ChannelOrder] = []
    skipped: list[Skipped] = []
    if isinstance(obj, dict):
        collect(_from_json(obj, where, problems), label, orders, skipped, problems)
    else:
        problems.append(Problem(where, None, f"expected an order object, got {kind(obj)}"))
    read = finish(orders, skipped, problems)
    return read.orders[0] if read.orders else read.skipped[0]


class _Refused(Exception):
    """The order's structure is unusable; `field` and `message` say why (one problem)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


_ORDER_KEYS = (
    "name",
    "id",
    "created_at",
    "updated_at",
    "cancelled_at",
    "fulfillment_status",
    "total_price",
    "tags",
)
_ADDRESS_KEYS = ("name", "first_name", "last_name", "country_code", "province_code", "city", "zip")


def _from_json(obj: object, where: str, problems: list[Problem]) -> RawOrder | None:
    assert isinstance(obj, dict)
    raw = RawOrder(where)
    for key in _ORDER_KEYS:
        raw.values[key] = RawValue(obj.get(key), key)
    try:
        address = _address(obj.get("shipping_address"))
        for key in _ADDRESS_KEYS:
            raw.values[f"ship.{key}"] = RawValue(address.get(key), f"shipping_address.{key}")
        raw.values["shipping_method"] = RawValue(
            _first_shipping_line(obj.get("shipping_lines")).get("title"),
            "shipping_lines[0].title",
        )
        raw.items.extend(_items(obj.get("line_items"), where))
    except _Refused as exc:
        problems.append(Problem(where, exc.field_name, exc.message, order_name(obj.get("name"))))
        return None
    return raw


def _address(address: object) -> dict[str, object]:
    if address is not None and not isinstance(address, dict):
        raise _Refused("shipping_address", f"must be an object or null, got {kind(address)}")
    return address or {}


def _first_shipping_line(shipping_lines: object) -> dict[str, object]:
    if shipping_lines is not None and not isinstance(shipping_lines, list):
        raise _Refused("shipping_lines", f"must be a list, got {kind(shipping_lines)}")
    first = shipping_lines[0] if shipping_lines else None
    if first is not None and not isinstance(first, dict):
        raise _Refused("shipping_lines[0]", f"must be an object, got {kind(first)}")
    return first or {}


def _items(items: object, where: str) -> list[RawItem]:
    if not isinstance(items, list):
        message = "is required" if items is None else f"must be a list, got {kind(items)}"
        raise _Refused("line_items", message)
    found: list[RawItem] = []
    for index, item in enumerate(items):
        label = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise _Refused(label, f"must be an object, got {kind(item)}")
        found.append(
            RawItem(
                where=where,
                sku=RawValue(item.get("sku"), f"{label}.sku"),
                quantity=RawValue(item.get("quantity"), f"{label}.quantity"),
                requires_shipping=RawValue(
                    item.get("requires_shipping"), f"{label}.requires_shipping"
                ),
                title=item.get("name") if item.get("name") is not None else item.get("title"),
            )
        )
    return found
