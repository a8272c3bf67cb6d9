"""Shopify orders -> native dibs order mappings: what the JSON and CSV readers share.

The readers are `shopify_json` (Admin REST / webhook JSON) and `shopify_csv` (the export).

Pure: text in, `ChannelRead` out (or `ChannelError` listing every problem); no database, no
clock, standard library only.

Field by field (SPEC §9); JSON key / CSV column -> dibs:

| dibs                    | Shopify JSON (REST order, webhook) | Shopify CSV export         |
|-------------------------|------------------------------------|----------------------------|
| `id`                    | `name` (`#1001`, what merchants see)| `Name`                    |
| `attributes.shopify_id` | `id` (as its decimal string)       | `Id`                       |
| `channel`               | `--channel`, else `shopify`        | same                       |
| `placed_at`             | `created_at` (required)            | `Created at` (1)           |
| `ship_to.name`          | `shipping_address.name` (2)        | `Shipping Name`            |
| `ship_to.country`       | `shipping_address.country_code`    | `Shipping Country`         |
| `ship_to.state`         | `shipping_address.province_code`   | `Shipping Province`        |
| `ship_to.city`          | `shipping_address.city`            | `Shipping City`            |
| `ship_to.postal_code`   | `shipping_address.zip`             | `Shipping Zip` (3)         |
| `shipping_method`       | `shipping_lines[0].title`          | `Shipping Method`          |
| `total`                 | `total_price` (string or number)   | `Total`                    |
| `tags`                  | `tags`, split on commas, trimmed   | `Tags`                     |
| `lines[].sku`           | `line_items[].sku`                 | `Lineitem sku`             |
| `lines[].qty`           | `line_items[].quantity`            | `Lineitem quantity`        |
| status `cancelled`      | `cancelled_at` set                 | `Cancelled at` not blank   |
| status `shipped`        | `fulfillment_status` `fulfilled`   | `Fulfillment Status` same  |
| status otherwise        | `awaiting_fulfillment`             | same                       |
| `updated_at` (for sync) | `updated_at`                       | none (no such column)      |

(1) ISO-8601, or the export's `2026-03-02 09:15:00 -0500`; stored in UTC.
(2) Else `first_name` + " " + `last_name`.
(3) Without the leading `'` the export adds to keep leading zeros away from spreadsheets.

- A line item with `requires_shipping` false (`Lineitem requires shipping` = `false`: gift cards,
  digital goods) is not a line; missing means true. One that needs shipping but has no SKU is a
  problem naming the order and the item. Line items are kept as given: the same SKU on two
  items makes two lines.
- An order with no item that needs shipping at all is *skipped* (`ChannelRead.skipped`), not a
  problem: there is nothing for dibs to reserve, and such orders are in every real export.
- CSV: one row per line item; rows belong together by `Name`; the order's own columns are read
  from the first row that fills them (Shopify fills only the first row). Rows need not be
  adjacent. Unknown columns are ignored; header names match case-insensitively.
- Ignored, on purpose: money other than the total (prices, taxes, discounts, refunds), the
  currency, billing address, customer and e-mail, `financial_status` (payment is not
  fulfilment; a rule can hold unpaid orders once it is mapped), `fulfillments`, notes and note
  attributes, `shipping_lines[].code` (often null; `title` is what the merchant chose to show),
  line item prices, vendors, properties and fulfilment status per item, risk, source, and every
  other key. `quantity` is the ordered quantity (`current_quantity`, after edits, is not used:
  SPEC §9 names `quantity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.io.channels.common import (
    AWAITING_FULFILLMENT,
    CANCELLED,
    SHIPPED,
    ChannelOrder,
    Fields,
    Problem,
    Skipped,
    check_lengths,
    native_mapping,
)
from engine.io.channels.values import (
    Invalid,
    country,
    flag,
    identifier,
    money,
    quantity,
    required_text,
    required_timestamp,
    tag_list,
    text,
    timestamp,
)

DEFAULT_CHANNEL = "shopify"


@dataclass(frozen=True)
class RawValue:
    """A raw value and the channel's name for it (JSON key path or CSV column), for messages."""

    raw: object
    label: str


@dataclass(frozen=True)
class RawItem:
    """One line item, raw, with where it is and what to call its fields."""

    where: str
    sku: RawValue
    quantity: RawValue
    requires_shipping: RawValue
    title: object


@dataclass
class RawOrder:
    """One Shopify order's raw values, whichever format they came from."""

    where: str
    values: dict[str, RawValue] = field(default_factory=dict)
    items: list[RawItem] = field(default_factory=list)

    def get(self, key: str) -> RawValue:
        return self.values.get(key, RawValue(None, key))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def order_name(value: object) -> str | None:
    """The order's name for messages, if it has a usable one."""
    try:
        return text(value) if isinstance(value, str) else None
    except Invalid:  # the name's own problem is reported where it is checked
        return None


# --------------------------------------------------------------------------------------------
# Both formats: raw values -> native mapping


def collect(
    raw: RawOrder | None,
    channel: str,
    orders: list[ChannelOrder],
    skipped: list[Skipped],
    problems: list[Problem],
) -> None:
    if raw is None:
        return
    built = _build(raw, channel, problems)
    if isinstance(built, ChannelOrder):
        orders.append(built)
    elif isinstance(built, Skipped):
        skipped.append(built)


def _build(raw: RawOrder, channel: str, problems: list[Problem]) -> ChannelOrder | Skipped | None:
    name_value = raw.get("name")
    fields = Fields(raw.where, order_name(name_value.raw), problems)

    def check(key: str, convert: Any) -> Any:
        value = raw.get(key)
        return fields.check(value.label, convert, value.raw)

    order_id = check("name", required_text)
    shopify_id = None if raw.get("id").raw is None else check("id", identifier)
    placed_at = check("created_at", required_timestamp)
    updated_at = check("updated_at", timestamp)
    cancelled_at = check("cancelled_at", text)
    fulfillment = check("fulfillment_status", text)
    total = check("total_price", money)
    tags = check("tags", tag_list) or []
    shipping_method = check("shipping_method", text)
    ship_name = check("ship.name", text)
    if ship_name is None:
        first, last = check("ship.first_name", text), check("ship.last_name", text)
        ship_name = " ".join(part for part in (first, last) if part) or None
    ship = {
        "name": ship_name,
        "country": check("ship.country_code", country),
        "state": check("ship.province_code", text),
        "city": check("ship.city", text),
        "postal_code": check("ship.zip", text),
    }
    lines = _lines(raw.items, fields)
    if not fields.ok:
        return None
    status = _status(cancelled_at, fulfillment)
    if not lines:
        count = len(raw.items)
        reason = (
            "has no line items"
            if not count
            else f"has nothing to ship (none of its {count} line item"
            f"{'' if count == 1 else 's'} requires shipping)"
        )
        return Skipped(raw.where, order_id, reason)
    mapping = native_mapping(
        order_id=order_id,
        channel=channel,
        placed_at=placed_at,
        ship_to_parts=ship,
        shipping_method=shipping_method,
        total=total,
        tags=tags,
        attributes={"shopify_id": shopify_id} if shopify_id else {},
        lines=lines,
    )
    check_lengths(mapping, fields)
    if not fields.ok:
        return None
    return ChannelOrder(mapping, status, updated_at, raw.where)


def _lines(items: Sequence[RawItem], fields: Fields) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for item in items:
        item_fields = Fields(item.where, fields.order, fields.problems)
        ships = item_fields.check(
            item.requires_shipping.label, flag, item.requires_shipping.raw, True
        )
        if ships is False:
            continue
        sku = item_fields.check(item.sku.label, text, item.sku.raw)
        if sku is None and _blank(item.sku.raw):
            title = order_name(item.title)
            about = f"the item {title!r}" if title else "the item"
            item_fields.problem(
                item.sku.label,
                f"is missing: {about} requires shipping, so it needs a SKU to reserve stock for: "
                "give the variant a SKU in Shopify, or mark it as not a physical product",
            )
        qty = item_fields.check(item.quantity.label, quantity, item.quantity.raw)
        if item_fields.ok:
            lines.append({"sku": sku, "qty": qty})
    return lines


def _status(cancelled_at: object, fulfillment: str | None) -> str:
    """SPEC §9: cancelled wins over fulfilled; anything else is awaiting fulfillment."""
    if cancelled_at:
        return CANCELLED
    if fulfillment is not None and fulfillment.lower() == "fulfilled":
        return SHIPPED
    return AWAITING_FULFILLMENT
