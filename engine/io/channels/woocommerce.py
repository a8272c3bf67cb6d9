"""WooCommerce REST v3 orders -> native dibs order mappings (API responses and webhook bodies).

Pure: text in, `ChannelRead` out (or `ChannelError` listing every problem); no database, no
clock, standard library only.

Field by field (SPEC §9); WooCommerce key -> dibs:

| dibs                        | WooCommerce REST v3 order                                   |
|-----------------------------|-------------------------------------------------------------|
| `id`                        | `number` (the order number the shop shows; a string)        |
| `attributes.woocommerce_id` | `id` (the post id, kept as its decimal string)              |
| `channel`                   | `--channel`, else `woocommerce`                             |
| `placed_at`                 | `date_created_gmt` (UTC, written without a zone; required)  |
| `ship_to.name`              | `shipping.first_name` + " " + `shipping.last_name`          |
| `ship_to.country`           | `shipping.country`                                          |
| `ship_to.state`             | `shipping.state`                                            |
| `ship_to.city`              | `shipping.city`                                             |
| `ship_to.postal_code`       | `shipping.postcode`                                         |
| `shipping_method`           | `shipping_lines[0].method_title`                            |
| `total`                     | `total` (a decimal string)                                  |
| `lines[].sku`               | `line_items[].sku` (required: a line without one is a problem) |
| `lines[].qty`               | `line_items[].quantity`                                     |
| status `cancelled`          | `status` `cancelled`, `refunded`, `failed` or `trash`       |
| status `shipped`            | `status` `completed`                                        |
| status otherwise            | `awaiting_fulfillment` (`pending`, `processing`, `on-hold`) |
| `updated_at` (sync)         | `date_modified_gmt`                                         |

- Line items are kept as given (the same SKU twice makes two lines). WooCommerce line items do
  not say whether they ship (virtual products are a product setting), so every item is a line
  and needs a SKU; an order with no line items at all is skipped (`ChannelRead.skipped`).
- Ignored, on purpose: `date_created` / `date_modified` (site-local time with no zone; the
  `_gmt` twins are exact), `parent_id`, `order_key`, the currency and every money field but
  `total`, `billing` and customer fields, `customer_note`, payment fields, `meta_data`,
  `tax_lines`, `fee_lines`, `coupon_lines`, `refunds`, `shipping.company` / `address_*` /
  `phone`, `shipping_lines[].method_id`, line item prices, product and variation ids, `_links`.
  WooCommerce orders have no tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.io.channels.common import (
    AWAITING_FULFILLMENT,
    CANCELLED,
    SHIPPED,
    ChannelOrder,
    ChannelRead,
    Fields,
    Problem,
    Skipped,
    channel_name,
    check_lengths,
    finish,
    native_mapping,
)
from engine.io.channels.containers import json_orders
from engine.io.channels.values import (
    Invalid,
    country,
    identifier,
    kind,
    money,
    quantity,
    required_timestamp,
    text,
    timestamp,
)

DEFAULT_CHANNEL = "woocommerce"
#: `trash`: an order in WooCommerce's trash (a REST export of `?status=trash`) holds no stock.
_CANCELLED = frozenset({"cancelled", "refunded", "failed", "trash"})
_SHIPPED = frozenset({"completed"})

__all__ = ["DEFAULT_CHANNEL", "read_woocommerce_json", "woocommerce_order"]


def read_woocommerce_json(data: bytes | str, name: str, channel: str | None = None) -> ChannelRead:
    """Every order of a WooCommerce JSON file or webhook body.

    `data` is the file's bytes (UTF-8, BOM allowed) or text; `name` names it in messages.
    Containers: one order object, an array, JSON Lines, `{"order": {...}}`, `{"orders": [...]}`.
    Raises `ChannelError` listing every problem when anything is wrong; then nothing is returned.
    """
    label = channel_name(channel, DEFAULT_CHANNEL)
    problems: list[Problem] = []
    orders: list[ChannelOrder] = []
    skipped: list[Skipped] = []
    for located in json_orders(data, name, problems):
        assert isinstance(located.obj, dict)
        built = _build(located.obj, located.where, label, problems)
        if isinstance(built, ChannelOrder):
            orders.append(built)
        elif isinstance(built, Skipped):
            skipped.append(built)
    return finish(orders, skipped, problems, "date_modified_gmt")


def woocommerce_order(
    obj: object, where: str, channel: str | None = None
) -> ChannelOrder | Skipped:
    """One already-parsed WooCommerce order object (a webhook payload); `ChannelError` if bad."""
    label = channel_name(channel, DEFAULT_CHANNEL)
    problems: list[Problem] = []
    if not isinstance(obj, dict):
        problems.append(Problem(where, None, f"expected an order object, got {kind(obj)}"))
        built = None
    else:
        built = _build(obj, where, label, problems)
    orders = [built] if isinstance(built, ChannelOrder) else []
    skipped = [built] if isinstance(built, Skipped) else []
    read = finish(orders, skipped, problems)
    return read.orders[0] if read.orders else read.skipped[0]


def _build(
    obj: dict[str, Any], where: str, channel: str, problems: list[Problem]
) -> ChannelOrder | Skipped | None:
    fields = Fields(where, _name(obj.get("number")), problems)
    order_id = fields.check("number", identifier, obj.get("number"))
    woo_id = None if obj.get("id") is None else fields.check("id", identifier, obj.get("id"))
    placed_at = fields.check("date_created_gmt", required_timestamp, obj.get("date_created_gmt"))
    updated_at = fields.check("date_modified_gmt", timestamp, obj.get("date_modified_gmt"))
    status_text = fields.check("status", text, obj.get("status"))
    total = fields.check("total", money, obj.get("total"))
    ship = _ship_to(obj.get("shipping"), fields)
    shipping_method = _shipping_method(obj.get("shipping_lines"), fields)
    items = obj.get("line_items")
    if items is None:
        items = []
    if not isinstance(items, list):
        fields.problem("line_items", f"must be a list, got {kind(items)}")
        items = []
    lines = _lines(items, fields)
    if not fields.ok:
        return None
    if not lines:
        return Skipped(where, order_id, "has no line items")
    wc_status = (status_text or "").lower()
    if wc_status in _CANCELLED:
        status = CANCELLED
    elif wc_status in _SHIPPED:
        status = SHIPPED
    else:
        status = AWAITING_FULFILLMENT
    mapping = native_mapping(
        order_id=order_id,
        channel=channel,
        placed_at=placed_at,
        ship_to_parts=ship,
        shipping_method=shipping_method,
        total=total,
        tags=[],
        attributes={"woocommerce_id": woo_id} if woo_id else {},
        lines=lines,
    )
    check_lengths(mapping, fields)
    if not fields.ok:
        return None
    return ChannelOrder(mapping, status, updated_at, where)


def _ship_to(value: object, fields: Fields) -> dict[str, str | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        fields.problem("shipping", f"must be an object or null, got {kind(value)}")
        return {}
    first = fields.check("shipping.first_name", text, value.get("first_name"))
    last = fields.check("shipping.last_name", text, value.get("last_name"))
    return {
        "name": " ".join(part for part in (first, last) if part) or None,
        "country": fields.check("shipping.country", country, value.get("country")),
        "state": fields.check("shipping.state", text, value.get("state")),
        "city": fields.check("shipping.city", text, value.get("city")),
        "postal_code": fields.check("shipping.postcode", text, value.get("postcode")),
    }


def _shipping_method(value: object, fields: Fields) -> str | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        fields.problem("shipping_lines", f"must be a list, got {kind(value)}")
        return None
    first = value[0]
    if not isinstance(first, dict):
        fields.problem("shipping_lines[0]", f"must be an object, got {kind(first)}")
        return None
    method: str | None = fields.check(
        "shipping_lines[0].method_title", text, first.get("method_title")
    )
    return method


def _lines(items: Sequence[object], fields: Fields) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        label = f"line_items[{index}]"
        if not isinstance(item, dict):
            fields.problem(label, f"must be an object, got {kind(item)}")
            continue
        start = len(fields.problems)
        raw_sku = item.get("sku")
        sku = fields.check(f"{label}.sku", text, raw_sku)
        if sku is None and (raw_sku is None or (isinstance(raw_sku, str) and not raw_sku.strip())):
            title = _name(item.get("name"))
            about = f"the item {title!r}" if title else "the item"
            fields.problem(
                f"{label}.sku",
                f"is missing: {about} needs a SKU to reserve stock for: give the product a SKU "
                "in WooCommerce (Product data, Inventory), a virtual one too",
            )
        qty = fields.check(f"{label}.quantity", quantity, item.get("quantity"))
        if len(fields.problems) == start:
            lines.append({"sku": sku, "qty": qty})
    return lines


def _name(value: object) -> str | None:
    """A value's text for messages, when it is usable as such."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 128:
        return str(value)
    try:
        return text(value) if isinstance(value, str) else None
    except Invalid:
        return None
