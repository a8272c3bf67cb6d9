"""Shopify orders -> native dibs order mappings: the Admin REST / webhook JSON and the CSV export.

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

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.io.channels.common import (
    AWAITING_FULFILLMENT,
    CANCELLED,
    SHIPPED,
    ChannelError,
    ChannelOrder,
    ChannelRead,
    Fields,
    Invalid,
    Problem,
    Skipped,
    channel_name,
    country,
    decode_text,
    finish,
    flag,
    identifier,
    json_orders,
    kind,
    money,
    native_mapping,
    quantity,
    required_text,
    required_timestamp,
    tag_list,
    text,
    timestamp,
)

DEFAULT_CHANNEL = "shopify"

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CHANNEL",
    "read_shopify_csv",
    "read_shopify_json",
    "shopify_order",
]


@dataclass(frozen=True)
class _Value:
    """A raw value and the channel's name for it (JSON key path or CSV column), for messages."""

    raw: object
    label: str


@dataclass(frozen=True)
class _Item:
    """One line item, raw, with where it is and what to call its fields."""

    where: str
    sku: _Value
    quantity: _Value
    requires_shipping: _Value
    title: object


@dataclass
class _Raw:
    """One Shopify order's raw values, whichever format they came from."""

    where: str
    values: dict[str, _Value] = field(default_factory=dict)
    items: list[_Item] = field(default_factory=list)

    def get(self, key: str) -> _Value:
        return self.values.get(key, _Value(None, key))


# --------------------------------------------------------------------------------------------
# JSON


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
        _collect(_from_json(located.obj, located.where, problems), label, orders, skipped, problems)
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
        _collect(_from_json(obj, where, problems), label, orders, skipped, problems)
    else:
        problems.append(Problem(where, None, f"expected an order object, got {kind(obj)}"))
    read = finish(orders, skipped, problems)
    return read.orders[0] if read.orders else read.skipped[0]


def _from_json(obj: object, where: str, problems: list[Problem]) -> _Raw | None:
    assert isinstance(obj, dict)
    raw = _Raw(where)
    for key in (
        "name",
        "id",
        "created_at",
        "updated_at",
        "cancelled_at",
        "fulfillment_status",
        "total_price",
        "tags",
    ):
        raw.values[key] = _Value(obj.get(key), key)
    address = obj.get("shipping_address")
    if address is not None and not isinstance(address, dict):
        problems.append(
            Problem(
                where,
                "shipping_address",
                f"must be an object or null, got {kind(address)}",
                _order_name(obj.get("name")),
            )
        )
        return None
    address = address or {}
    for key in ("name", "first_name", "last_name", "country_code", "province_code", "city", "zip"):
        raw.values[f"ship.{key}"] = _Value(address.get(key), f"shipping_address.{key}")
    shipping_lines = obj.get("shipping_lines")
    if shipping_lines is not None and not isinstance(shipping_lines, list):
        problems.append(
            Problem(
                where,
                "shipping_lines",
                f"must be a list, got {kind(shipping_lines)}",
                _order_name(obj.get("name")),
            )
        )
        return None
    first = shipping_lines[0] if shipping_lines else None
    if first is not None and not isinstance(first, dict):
        problems.append(
            Problem(
                where,
                "shipping_lines[0]",
                f"must be an object, got {kind(first)}",
                _order_name(obj.get("name")),
            )
        )
        return None
    raw.values["shipping_method"] = _Value((first or {}).get("title"), "shipping_lines[0].title")
    items = obj.get("line_items")
    if not isinstance(items, list):
        message = "is required" if items is None else f"must be a list, got {kind(items)}"
        problems.append(Problem(where, "line_items", message, _order_name(obj.get("name"))))
        return None
    for index, item in enumerate(items):
        label = f"line_items[{index}]"
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    where,
                    label,
                    f"must be an object, got {kind(item)}",
                    _order_name(obj.get("name")),
                )
            )
            return None
        raw.items.append(
            _Item(
                where=where,
                sku=_Value(item.get("sku"), f"{label}.sku"),
                quantity=_Value(item.get("quantity"), f"{label}.quantity"),
                requires_shipping=_Value(
                    item.get("requires_shipping"), f"{label}.requires_shipping"
                ),
                title=item.get("name") if item.get("name") is not None else item.get("title"),
            )
        )
    return raw


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _order_name(value: object) -> str | None:
    """The order's name for messages, if it has a usable one."""
    try:
        return text(value) if isinstance(value, str) else None
    except Invalid:  # the name's own problem is reported where it is checked
        return None


# --------------------------------------------------------------------------------------------
# CSV

#: The columns read from Shopify's order export (by key); every other column is ignored.
CSV_COLUMNS: Mapping[str, str] = {
    "name": "Name",
    "id": "Id",
    "created_at": "Created at",
    "cancelled_at": "Cancelled at",
    "fulfillment_status": "Fulfillment Status",
    "total_price": "Total",
    "tags": "Tags",
    "shipping_method": "Shipping Method",
    "ship.name": "Shipping Name",
    "ship.country_code": "Shipping Country",
    "ship.province_code": "Shipping Province",
    "ship.city": "Shipping City",
    "ship.zip": "Shipping Zip",
}
_ITEM_COLUMNS = {
    "sku": "Lineitem sku",
    "quantity": "Lineitem quantity",
    "requires_shipping": "Lineitem requires shipping",
    "title": "Lineitem name",
}
_REQUIRED = ("Name", "Created at", "Lineitem quantity", "Lineitem sku")


def read_shopify_csv(data: bytes | str, name: str, channel: str | None = None) -> ChannelRead:
    """Every order of a Shopify order export (Admin -> Orders -> Export, CSV).

    `data` is the file's bytes (UTF-8, BOM allowed; any line endings) or text; `name` names it
    in messages (`name:line`). Raises `ChannelError` listing every problem; then nothing is
    returned.
    """
    label = channel_name(channel, DEFAULT_CHANNEL)
    text_ = decode_text(data, name)
    problems: list[Problem] = []
    groups = _csv_groups(text_, name, problems)
    orders: list[ChannelOrder] = []
    skipped: list[Skipped] = []
    for raw in groups:
        _collect(raw, label, orders, skipped, problems)
    return finish(orders, skipped, problems)


def _csv_groups(text_: str, name: str, problems: list[Problem]) -> list[_Raw]:
    reader = csv.reader(io.StringIO(text_, newline=""), strict=False)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ChannelError([Problem(f"{name}:1", None, f"is not readable CSV: {exc}")]) from None
    if header is None or not any(cell.strip() for cell in header):
        raise ChannelError(
            [
                Problem(
                    f"{name}:1",
                    None,
                    "is empty: expected the Shopify export header "
                    "(Name,Email,Financial Status,...)",
                )
            ]
        )
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        index.setdefault(cell.strip().casefold(), position)
    missing = [column for column in _REQUIRED if column.casefold() not in index]
    if missing:
        raise ChannelError(
            [
                Problem(
                    f"{name}:1",
                    None,
                    f"is missing the column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)} of a Shopify order export",
                )
            ]
        )

    def column_value(row: Sequence[str], column: str) -> str | None:
        position = index.get(column.casefold())
        if position is None or position >= len(row):
            return None
        return row[position]

    groups: dict[str, _Raw] = {}
    previous_end = reader.line_num
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            problems.append(
                Problem(f"{name}:{reader.line_num}", None, f"is not readable CSV: {exc}")
            )
            break
        if row is None:
            break
        where = f"{name}:{previous_end + 1}"
        previous_end = reader.line_num
        if not any(value.strip() for value in row):
            continue
        order_name = column_value(row, "Name")
        try:
            key = required_text(order_name)
        except Invalid as exc:
            problems.append(Problem(where, "Name", f"{exc} (the order's name, e.g. #1001)"))
            continue
        raw = groups.get(key)
        if raw is None:
            raw = groups[key] = _Raw(where)
        for field_key, column in CSV_COLUMNS.items():
            value = column_value(row, column)
            if field_key not in raw.values and value is not None and value.strip():
                if field_key == "ship.zip":
                    value = value.strip().removeprefix("'")  # Shopify's guard against Excel
                raw.values[field_key] = _Value(value, column)
        item = {key_: column_value(row, column) for key_, column in _ITEM_COLUMNS.items()}
        if not any((item[key_] or "").strip() for key_ in ("sku", "quantity", "title")):
            continue  # not a line item row
        raw.items.append(
            _Item(
                where=where,
                sku=_Value(item["sku"], _ITEM_COLUMNS["sku"]),
                quantity=_Value(item["quantity"], _ITEM_COLUMNS["quantity"]),
                requires_shipping=_Value(
                    item["requires_shipping"], _ITEM_COLUMNS["requires_shipping"]
                ),
                title=item["title"],
            )
        )
    for key, raw in groups.items():
        raw.values.setdefault("name", _Value(key, "Name"))
        for field_key, column in CSV_COLUMNS.items():
            raw.values.setdefault(field_key, _Value(None, column))
    return list(groups.values())


# --------------------------------------------------------------------------------------------
# Both formats: raw values -> native mapping


def _collect(
    raw: _Raw | None,
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


def _build(raw: _Raw, channel: str, problems: list[Problem]) -> ChannelOrder | Skipped | None:
    name_value = raw.get("name")
    fields = Fields(raw.where, _order_name(name_value.raw), problems)

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
    if cancelled_at:
        status = CANCELLED
    elif fulfillment is not None and fulfillment.lower() == "fulfilled":
        status = SHIPPED
    else:
        status = AWAITING_FULFILLMENT
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
    return ChannelOrder(mapping, status, updated_at, raw.where)


def _lines(items: Sequence[_Item], fields: Fields) -> list[dict[str, Any]]:
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
            title = _order_name(item.title)
            about = f"the item {title!r}" if title else "the item"
            item_fields.problem(
                item.sku.label,
                f"is missing: {about} requires shipping, so it needs a SKU to reserve stock for",
            )
        qty = item_fields.check(item.quantity.label, quantity, item.quantity.raw)
        if item_fields.ok:
            lines.append({"sku": sku, "qty": qty})
    return lines
