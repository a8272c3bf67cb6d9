"""The fast path of order validation: the common, clean order object, checked in one pass.

`quick_order` accepts an order mapping only when every value has the plain shape a shop export
writes (ASCII text, integer quantities, a decimal-string or integer total, a `Z`/offset or bare
timestamp, no attributes or simple ones) and builds the `Order`; anything else (a problem, or
merely a value it does not take, such as non-ASCII text or a `Decimal` total) returns None and
the caller runs the full validator `engine.io.fields.check_order_mapping`, which words every
problem. So the quick path never decides a refusal, and what it accepts is exactly what the
full validator accepts, value for value (tests/unit/io/test_quick.py compares the two).

Measured on a 100k-order JSONL file: the full validator took about 14 µs per order, this
takes about 3.

The order is made by `frozen_maker(Order)`, which fills the frozen dataclass's `__dict__`
directly instead of calling its `__init__` (one `object.__setattr__` per field): that was a
quarter of the quick path's time. The object is the same as `Order(...)` makes, field for field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from engine.io.fields import NO_ADDRESS, NO_TAGS, ORDER_KEYS, SHIP_TO_KEYS
from engine.model import (
    DEFAULT_WAREHOUSE,
    MAX_QTY,
    AllocationStatus,
    Length,
    Line,
    Order,
    OrderStatus,
    ShipTo,
)

_T = TypeVar("_T")
_ORDER_KEY_SET = frozenset(ORDER_KEYS)
_SHIP_TO_KEY_SET = frozenset(SHIP_TO_KEYS)
_LINE_KEY_SET = frozenset(("sku", "qty"))
# A total the full validator takes as it is: at most 14 digits before the point (below
# MAX_TOTAL) and at most 4 after (MONEY_STEP), no sign, no exponent.
_PLAIN_TOTAL = re.compile(r"[0-9]{1,14}(?:\.[0-9]{1,4})?\Z")
_SHIP_TO_LENGTHS = {
    "name": Length.SHIP_TO_NAME,
    "state": Length.STATE,
    "city": Length.CITY,
    "postal_code": Length.POSTAL_CODE,
}
# Integer ids whose decimal string fits `Length.ORDER_ID`, and integer totals below MAX_TOTAL.
_ID_BOUND = 10 ** (Length.ORDER_ID - 1)
_TOTAL_BOUND = 10**14
_AWAITING = OrderStatus.AWAITING_FULFILLMENT
_UNALLOCATED = AllocationStatus.UNALLOCATED


# Validated values by their raw form: lines and addresses are immutable and repeat across the
# orders of a file (a SKU and a quantity; a country alone), so each is checked and built once.
# Bounded, so a file of unique addresses costs a little memory, never a lot.
_LINES: dict[tuple[object, object], Line] = {}
_ADDRESSES: dict[tuple[tuple[str, object], ...], ShipTo] = {}
_CACHE_SIZE = 50_000


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


def frozen_maker(cls: type[_T]) -> Callable[..., _T]:
    """A constructor of the frozen dataclass `cls` for the hot path, called with every field by
    name: it fills the instance's `__dict__` at once (a frozen `__init__` sets each field with
    `object.__setattr__`). The class's own constructor when it has slots or a `__post_init__`."""
    if hasattr(cls, "__slots__") or hasattr(cls, "__post_init__"):
        return cls
    bare = object.__new__

    def make(**fields: Any) -> _T:
        made = bare(cls)
        made.__dict__.update(fields)
        return made

    return make


_new_order = frozen_maker(Order)


class _NotQuick(Exception):
    """This value needs the full validator (it may be fine, or a problem to word)."""


def _text(value: object, limit: int) -> str | None:
    """ASCII text without NUL, stripped, within `limit`; None when blank (as `fields._text`)."""
    if type(value) is not str or not value.isascii() or "\x00" in value:
        raise _NotQuick
    text = value.strip()
    if len(text) > limit:
        raise _NotQuick
    return text or None


def _timestamp(value: object) -> datetime:
    if type(value) is not str or not value.isascii():
        raise _NotQuick
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _NotQuick from None
    zone = moment.tzinfo
    if zone is UTC:
        return moment
    if zone is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _NotQuick from None


def _total(value: object) -> Decimal:
    if type(value) is str:
        text = value.strip()
        if _PLAIN_TOTAL.match(text):
            return Decimal(text)
    elif type(value) is int and 0 <= value < _TOTAL_BOUND:
        return Decimal(value)
    raise _NotQuick


def _ship_to(value: object) -> ShipTo:
    if value is None:
        return NO_ADDRESS
    if type(value) is not dict:
        raise _NotQuick
    try:
        key = tuple(value.items())
        return _ADDRESSES[key]
    except TypeError:  # an unhashable part: a problem for the full validator to word
        raise _NotQuick from None
    except KeyError:
        pass
    address = _new_ship_to(value)
    _remember(_ADDRESSES, key, address)
    return address


def _new_ship_to(value: dict[str, object]) -> ShipTo:
    if not _SHIP_TO_KEY_SET.issuperset(value):
        raise _NotQuick
    parts: dict[str, str | None] = {}
    for key, part in value.items():
        if part is None:
            continue
        if key == "country":
            text = _text(part, 2)
            if text is not None:
                if len(text) != 2 or not text.isalpha():
                    raise _NotQuick
                text = text.upper()
            parts[key] = text
        else:
            parts[key] = _text(part, _SHIP_TO_LENGTHS[key])
    return ShipTo(**parts) if parts else NO_ADDRESS


def _lines(value: object) -> tuple[Line, ...]:
    if type(value) is not list or not value:
        raise _NotQuick
    lines: list[Line] = []
    for item in value:
        if type(item) is not dict or len(item) != 2:
            raise _NotQuick
        raw_sku, qty = item.get("sku"), item.get("qty")
        key = (raw_sku, qty)
        line = _LINES.get(key) if type(raw_sku) is str and type(qty) is int else None
        if line is None:
            sku = _text(raw_sku, Length.SKU)
            if sku is None or type(qty) is not int or not 0 < qty <= MAX_QTY:
                raise _NotQuick
            line = Line(sku, qty)
            _remember(_LINES, key, line)
        lines.append(line)
    return tuple(lines)


def _tags(value: object) -> frozenset[str]:
    if value is None:
        return NO_TAGS
    if type(value) is not list:
        raise _NotQuick
    if not value:
        return NO_TAGS
    tags = {_text(tag, Length.TAG) for tag in value}
    tags.discard(None)
    return frozenset(tags)  # type: ignore[arg-type]  # None discarded


def _attributes(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if type(value) is not dict:
        raise _NotQuick
    for key, item in value.items():
        # Plain ASCII keys and text, integers and booleans only: floats and Decimals (JSON
        # numbers with a fraction) go through the full validator's conversion.
        if type(key) is not str or not key.isascii() or "\x00" in key or not key.strip():
            raise _NotQuick
        kind = type(item)
        if kind is str:
            if "\x00" in item or not item.isascii():
                raise _NotQuick
        elif not (item is None or kind is int or kind is bool):
            raise _NotQuick
    return dict(value)


def _order_id(value: object) -> str:
    if type(value) is int:
        if not -_ID_BOUND < value < _ID_BOUND:
            raise _NotQuick
        return str(value)
    text = _text(value, Length.ORDER_ID)
    if text is None:
        raise _NotQuick
    return text


def quick_order(obj: object, now: datetime) -> Order | None:
    """The order of a plain, valid mapping, or None: then ask `fields.check_order_mapping`."""
    if type(obj) is not dict or not _ORDER_KEY_SET.issuperset(obj):
        return None
    get: Any = obj.get
    try:
        status = get("status")
        if status is not None and status != _AWAITING:
            return None
        allocation = get("allocation_status")
        if allocation is not None and allocation != _UNALLOCATED:
            return None
        channel = _text(get("channel"), Length.CHANNEL)
        if channel is None:
            return None
        placed = get("placed_at")
        total = get("total")
        method = get("shipping_method")
        warehouse = get("warehouse")
        return _new_order(  # every field of Order, in its order
            id=_order_id(get("id")),
            channel=channel,
            placed_at=now if placed is None else _timestamp(placed),
            lines=_lines(get("lines")),
            status=_AWAITING,
            allocation_status=_UNALLOCATED,
            ship_to=_ship_to(get("ship_to")),
            shipping_method=None if method is None else _text(method, Length.SHIPPING_METHOD),
            total=None if total is None else _total(total),
            tags=_tags(get("tags")),
            warehouse=(
                DEFAULT_WAREHOUSE
                if warehouse is None
                else _text(warehouse, Length.WAREHOUSE) or DEFAULT_WAREHOUSE
            ),
            attributes=_attributes(get("attributes")),
        )
    except _NotQuick:
        return None
