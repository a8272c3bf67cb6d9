"""Order fields: validating each value, building an `Order` from a mapping, and the messages.

Shared by every reader. The JSON and JSON Lines readers (`engine.import_json`) hand each object
to `check_order_mapping`; the CSV reader (`engine.import_csv`) runs the same validators cell by
cell; `dibs orders add` and rule-file test fixtures come in through
`engine.io.imports.order_from_mapping`. A validator returns the clean value or raises `Invalid`
with the rest of the sentence ("must be ..."), which the caller prefixes with where and what.

Validators of single values (text a database can store, money, counts, timestamps) live in
`engine.io.values`; the longest text of each field is `engine.model.Length`, the table the
schema's column types are built from, so an import is refused alike on every backend.

Decisions (also in tests/unit/engine/test_imports.py):

- Surrounding whitespace is stripped from every string value; an empty string is "absent".
- `country` is normalised to upper case ("us" -> "US"); it must be two ASCII letters.
- `placed_at`: ISO-8601; `Z` accepted; no zone means UTC; a bare date means midnight UTC;
  absent means `now` (one instant for the whole file).
- `total`: a decimal >= 0 with at most 4 decimal places, given as a number or a string.
- `qty` / `on_hand`: integers, also accepted as digit strings; `qty` >= 1, `on_hand` >= 0 on
  import (a negative count in a file is a mistake; `inventory adjust` can go below zero).
  Both are capped at 2**31 - 1 so they fit a database INTEGER.
- `id` may be given as a JSON integer (stored as its decimal string).
- `status` is accepted only as `awaiting_fulfillment`, `allocation_status` only as
  `unallocated`: an import creates new orders.
- Attribute numbers with a fraction (JSON/JSONL) become `float` attributes: attributes are
  free-form, with no money semantics. CSV attribute values stay strings (`engine.import_csv`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from engine.errors import quoted
from engine.io.messages import kind_of, order_ref, show, unknown_key
from engine.io.values import Invalid as Invalid
from engine.io.values import bounded as bounded
from engine.io.values import count as count
from engine.io.values import csv_rows as csv_rows
from engine.io.values import money as money
from engine.io.values import qty as qty
from engine.io.values import storable as storable
from engine.io.values import timestamp_text as timestamp_text
from engine.io.values import utc as utc
from engine.model import (
    DEFAULT_WAREHOUSE,
    MONEY_STEP,
    AllocationStatus,
    Length,
    Line,
    Order,
    OrderStatus,
    ShipTo,
)

Scalar = str | int | float | bool | None
_T = TypeVar("_T")

#: Top-level keys of an order object (SPEC §2).
ORDER_KEYS = (
    "id",
    "channel",
    "placed_at",
    "status",
    "allocation_status",
    "ship_to",
    "shipping_method",
    "total",
    "tags",
    "warehouse",
    "attributes",
    "lines",
)
SHIP_TO_KEYS = ("name", "country", "state", "city", "postal_code")
LINE_KEYS = ("sku", "qty")
_MONEY_STEP = MONEY_STEP


_ORDER_KEY_SET = frozenset(ORDER_KEYS)
_SHIP_TO_KEY_SET = frozenset(SHIP_TO_KEYS)
_LINE_KEY_SET = frozenset(LINE_KEYS)
NO_ADDRESS = ShipTo()
NO_TAGS: frozenset[str] = frozenset()


# --------------------------------------------------------------------------------------------
# Building one order from a mapping (JSON, JSONL, YAML fixtures, the CLI)


def check_order_mapping(
    obj: object, where: str, now: datetime, problems: list[str]
) -> Order | None:
    """Like `engine.io.imports.order_from_mapping`, but appends problems and returns None."""
    if not isinstance(obj, Mapping):
        problems.append(f"{where}: expected an order object, got {kind_of(obj)}")
        return None
    start = len(problems)
    for key in obj:
        if key not in _ORDER_KEY_SET:
            problems.append(f"{where}: {order_ref(obj)}{unknown_key(key, ORDER_KEYS)}")
    # Validate the known fields even after an unknown key, so one pass reports everything.
    order = _build_order(obj, where, now, problems)
    return order if len(problems) == start else None


def _build_order(
    obj: Mapping[str, Any], where: str, now: datetime, problems: list[str]
) -> Order | None:
    """Validate every field of one order mapping; None (with problems added) if any is wrong."""
    start = len(problems)
    ref = order_ref(obj)

    def check(
        column: str, convert: Callable[[object], _T], default: _T, required: bool = False
    ) -> _T:
        value = obj.get(column)
        try:
            if value is None:
                if required:
                    raise Invalid("is required")
                return default
            return convert(value)
        except Invalid as exc:
            problems.append(f"{where}: {ref}{column} {exc}")
            return default

    order_id = check("id", order_id_of, "", required=True)
    channel = check("channel", _channel, "", required=True)
    placed_at = check("placed_at", _timestamp, now)
    check("status", _new_status, None)
    check("allocation_status", _new_allocation_status, None)
    shipping_method = check("shipping_method", _shipping_method, None)
    total = check("total", money, None)
    tags: frozenset[str] = check("tags", _tags, NO_TAGS)
    warehouse = check("warehouse", warehouse_of, None) or DEFAULT_WAREHOUSE
    attributes: dict[str, Scalar] = check("attributes", _attributes, {})
    ship_to = _ship_to(obj.get("ship_to"), where, ref, problems)
    lines = _lines(obj.get("lines"), where, ref, problems)
    if len(problems) > start:
        return None
    assert ship_to is not None and lines is not None  # else a problem was recorded
    return Order(
        id=order_id,
        channel=channel,
        placed_at=placed_at,
        lines=lines,
        ship_to=ship_to,
        shipping_method=shipping_method,
        total=total,
        tags=tags,
        warehouse=warehouse,
        attributes=attributes,
    )


def _ship_to(value: object, where: str, ref: str, problems: list[str]) -> ShipTo | None:
    if value is None:
        return NO_ADDRESS
    if not isinstance(value, Mapping):
        problems.append(f"{where}: {ref}ship_to must be an object, got {kind_of(value)}")
        return None
    ok = True
    parts: dict[str, str | None] = {}
    for key, part in value.items():
        if key not in _SHIP_TO_KEY_SET:
            problems.append(f"{where}: {ref}{unknown_key(key, SHIP_TO_KEYS, 'ship_to.')}")
            ok = False
            continue
        try:
            if part is not None:
                parts[key] = (
                    country(part) if key == "country" else _text(part, _SHIP_TO_LENGTHS[key])
                )
        except Invalid as exc:
            problems.append(f"{where}: {ref}ship_to.{key} {exc}")
            ok = False
    return ShipTo(**parts) if ok else None


def _lines(value: object, where: str, ref: str, problems: list[str]) -> tuple[Line, ...] | None:
    if value is None or (isinstance(value, list) and not value):
        problems.append(f"{where}: {ref}needs at least one line")
        return None
    if not isinstance(value, list):
        problems.append(f"{where}: {ref}lines must be a list, got {kind_of(value)}")
        return None
    ok = True
    lines: list[Line] = []
    for index, item in enumerate(value):
        prefix = f"lines[{index}]."
        if not isinstance(item, Mapping):
            problems.append(
                f"{where}: {ref}lines[{index}] must be an object {{sku, qty}}, got {kind_of(item)}"
            )
            ok = False
            continue
        for key in item:
            if key not in _LINE_KEY_SET:
                problems.append(f"{where}: {ref}{unknown_key(key, LINE_KEYS, prefix)}")
                ok = False
        sku: str | None = None
        quantity = 0
        try:
            raw_sku = item.get("sku")
            sku = None if raw_sku is None else sku_of(raw_sku)
            if sku is None:
                raise Invalid("is required")
        except Invalid as exc:
            problems.append(f"{where}: {ref}{prefix}sku {exc}")
            ok = False
        try:
            quantity = qty(item.get("qty"))
        except Invalid as exc:
            problems.append(f"{where}: {ref}{prefix}qty {exc}")
            ok = False
        if ok and sku is not None:
            lines.append(Line(sku, quantity))
    return tuple(lines) if ok else None


# --------------------------------------------------------------------------------------------
# Field validators: value -> clean value, or raise Invalid("<rest of the sentence>")


_SHIP_TO_LENGTHS = {
    "name": Length.SHIP_TO_NAME,
    "state": Length.STATE,
    "city": Length.CITY,
    "postal_code": Length.POSTAL_CODE,
}


def _text(value: object, limit: int | None = None) -> str | None:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {show(value)}")
    text = storable(value).strip()
    if limit is not None:
        bounded(text, limit)
    return text or None


def _required_text(value: object, limit: int | None = None) -> str:
    text = _text(value, limit)
    if text is None:
        raise Invalid("must not be empty")
    return text


def _channel(value: object) -> str:
    return _required_text(value, Length.CHANNEL)


def _shipping_method(value: object) -> str | None:
    return _text(value, Length.SHIPPING_METHOD)


def warehouse_of(value: object) -> str | None:
    """A warehouse name (None when blank), at most `Length.WAREHOUSE` characters."""
    return _text(value, Length.WAREHOUSE)


def sku_of(value: object) -> str | None:
    """A SKU (None when blank), at most `Length.SKU` characters."""
    return _text(value, Length.SKU)


def order_id_of(value: object) -> str:
    """An order id: a non-empty string, or an integer (kept as its decimal string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            text = str(value)  # numeric ids are common in channel exports
        except ValueError:  # more digits than Python converts (4,300)
            raise Invalid(f"is too long: at most {Length.ORDER_ID} characters") from None
        return bounded(text, Length.ORDER_ID)
    return _required_text(value, Length.ORDER_ID)


def country(value: object) -> str | None:
    """A two-letter country code, upper-cased; None when blank."""
    text = _text(value)
    if text is None:
        return None
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        hint = " (use the ISO-3166 alpha-2 code, e.g. US, GB, DE)"
        raise Invalid(f"must be a two-letter country code, got {quoted(text)}{hint}")
    return text.upper()


def _timestamp(value: object) -> datetime:
    if isinstance(value, datetime):  # YAML fixtures parse unquoted timestamps themselves
        return utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise Invalid(f"must be an ISO-8601 timestamp string, got {show(value)}")
    return timestamp_text(value.strip())


def _tags(value: object) -> frozenset[str]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise Invalid(f"must be a list of strings, got {show(value)}")
    tags: set[str] = set()
    for tag in value:
        if not isinstance(tag, str):
            raise Invalid(f"must be a list of strings, got an element {show(tag)}")
        cleaned = bounded(storable(tag).strip(), Length.TAG)
        if cleaned:  # "vip;;gift" and trailing separators are harmless
            tags.add(cleaned)
    return frozenset(tags)


def _attributes(value: object) -> dict[str, Scalar]:
    if not isinstance(value, Mapping):
        raise Invalid(f"must be an object of scalar values, got {show(value)}")
    clean: dict[str, Scalar] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise Invalid(f"keys must be non-empty strings, got {show(key)}")
        storable(key)
        if isinstance(item, str):
            storable(item)
        if isinstance(item, Decimal):
            item = float(item)  # attributes are free-form: no money semantics
        if isinstance(item, float) and not math.isfinite(item):
            raise Invalid(f"{quoted(key)} must be a finite number, got {item}")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise Invalid(
                f"{quoted(key)} must be a string, number, true/false or null, got {kind_of(item)}"
            )
        clean[key] = item
    return clean


def _new_status(value: object) -> None:
    if value != OrderStatus.AWAITING_FULFILLMENT:
        raise Invalid(
            f"must be 'awaiting_fulfillment' (an import creates new orders), got {show(value)}"
        )


def _new_allocation_status(value: object) -> None:
    if value != AllocationStatus.UNALLOCATED:
        raise Invalid(f"must be 'unallocated' (an import creates new orders), got {show(value)}")


# --------------------------------------------------------------------------------------------
# Edits by hand (`dibs orders edit`, `tag`, `untag`): the same validators, one value at a time


def _warehouse(value: object) -> str:
    return _required_text(value)


#: The order fields `dibs orders edit` sets, each with the validator the importers use.
#: Blank text clears an optional field (a warehouse cannot be blank).
EDIT_FIELDS: Mapping[str, Callable[[object], Any]] = {
    "shipping_method": _text,
    "ship_to.country": country,
    "ship_to.state": _text,
    "ship_to.city": _text,
    "ship_to.postal_code": _text,
    "warehouse": _warehouse,
    "total": lambda value: None if isinstance(value, str) and not value.strip() else money(value),
}


def edit_value(field_name: str, value: object) -> Any:
    """One field of an edit by hand, validated like an imported one; `Invalid` when wrong."""
    return EDIT_FIELDS[field_name](value)


def tag_text(value: object) -> str:
    """A tag given by hand: a non-empty string (stripped) that fits an order's tags."""
    return _required_text(value, Length.TAG)


def attribute_pair(spec: str) -> tuple[str, str | None]:
    """`KEY=VALUE` of `--attr` as (key, value); `KEY=` (no value) means remove the attribute.

    Values stay strings, as in the CSV importer: attributes are free-form."""
    key, sep, value = spec.partition("=")
    key = key.strip()
    if not sep or not key:
        raise Invalid(f"must be KEY=VALUE (e.g. gift_wrap=yes), got {show(spec)}")
    _attributes({key: value})  # the importers' checks on keys and values
    return key, value.strip() or None
