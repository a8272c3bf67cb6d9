"""What every channel adapter shares: the result types, the error, and value checks.

Standard library only, on purpose: the adapters must keep working whatever happens to the rest
of `engine` (readers move, the store changes). The checks here mirror the native order
validator (`fields.py`: strings stripped, two-letter countries, money >= 0 with at most 4
decimal places, quantities 1..2**31-1, aware timestamps) so that every mapping an adapter
returns is one the native importer accepts; they differ only in naming the *channel's* field
(`line_items[2].quantity`, `Lineitem quantity`) in messages, which is what a merchant can find in
their export.

Strings additionally refuse lone surrogates and NUL characters: JSON can carry both, and
neither can be stored in a UTF-8 / PostgreSQL text column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

#: dibs order statuses a channel can report (SPEC §2); the values of `engine.model.OrderStatus`.
AWAITING_FULFILLMENT = "awaiting_fulfillment"
SHIPPED = "shipped"
CANCELLED = "cancelled"

#: Largest line quantity: what a 32-bit database INTEGER holds (as the native reader).
MAX_QTY = 2**31 - 1
_MONEY_STEP = Decimal("0.0001")
#: Integers longer than this are decoded as Decimal instead of int: Python refuses to convert
#: more than 4300 digits, and no real field needs more than 20.
_MAX_INT_DIGITS = 40
#: How many problems `ChannelError`'s message spells out (all are in `.problems`).
_SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a channel file.

    `where` locates it (`file:line` for CSV and JSON Lines, `file:orders[3]` for JSON);
    `order` is the order's id as the merchant sees it, when known; `field` the channel's own
    name for the field (`line_items[1].sku`, `Lineitem sku`), when there is one; `message`
    completes the sentence that starts with the field.
    """

    where: str
    field: str | None
    message: str
    order: str | None = None

    def __str__(self) -> str:
        ref = f"order {self.order!r}: " if self.order else ""
        subject = f"{self.field} " if self.field else ""
        return f"{self.where}: {ref}{subject}{self.message}"


class ChannelError(Exception):
    """A channel file (or payload) is bad input; `problems` lists everything wrong in it."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        shown = [str(problem) for problem in self.problems[:_SHOWN_PROBLEMS]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more")
        count = len(self.problems)
        head = f"{count} problem{'' if count == 1 else 's'}"
        super().__init__(f"{head}:\n" + "\n".join(shown))


@dataclass(frozen=True)
class ChannelOrder:
    """One channel order as dibs sees it.

    `mapping` is a native order mapping (SPEC §2, the shape `check_order_mapping` accepts:
    id, channel, placed_at, ship_to, shipping_method, total, tags, attributes, lines) *without*
    `status`: the native importer only accepts new, awaiting orders, while a channel also
    reports cancelled and shipped ones, so the channel's status travels separately in `status`
    (`awaiting_fulfillment`, `cancelled` or `shipped`). `updated_at` is the channel's last-change
    time (aware, UTC) or None when the format has none (Shopify's CSV export); sync uses it to
    ignore stale copies. `where` locates the order in its file, for messages.
    """

    mapping: dict[str, Any]
    status: str
    updated_at: datetime | None
    where: str

    @property
    def id(self) -> str:
        """The dibs order id (the channel's order name or number)."""
        return str(self.mapping["id"])


@dataclass(frozen=True)
class Skipped:
    """An order of the file that holds nothing to ship (gift cards, digital goods only)."""

    where: str
    order: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: order {self.order!r}: {self.reason}"


@dataclass(frozen=True)
class ChannelRead:
    """Everything a channel file held: its orders (in file order) and the orders skipped."""

    orders: tuple[ChannelOrder, ...]
    skipped: tuple[Skipped, ...] = field(default=())


class Invalid(Exception):
    """One value is wrong; the message completes "<field> ..."."""


# --------------------------------------------------------------------------------------------
# Decoding


def decode_text(data: bytes | str, name: str) -> str:
    """The file's text: UTF-8, a leading BOM dropped; invalid bytes are a `ChannelError`."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        message = f"is not UTF-8 text ({exc.reason}, byte 0x{bad}); save the file as UTF-8"
        raise ChannelError([Problem(f"{name}:{line}:{column}", None, message)]) from None


def _parse_int(text: str) -> int | Decimal:
    return int(text) if len(text) <= _MAX_INT_DIGITS else Decimal(text)


# Numbers with a fraction become Decimal, so "19.99" never goes through a binary float; very
# long integers too (see `_MAX_INT_DIGITS`). NaN / Infinity stay floats and fail the checks.
JSON_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=_parse_int)


class BadJson(Invalid):
    """A JSON text does not parse; `line` and `column` (1-based) say where, when known."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def json_value(text: str) -> object:
    """One JSON text, or `BadJson` saying why not (never RecursionError or ValueError)."""
    try:
        return JSON_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BadJson(f"is not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise BadJson("is nested too deeply to be an order") from None
    except ValueError as exc:  # defensive: any other refusal by the decoder
        raise BadJson(f"is not valid JSON: {exc}") from None


@dataclass(frozen=True)
class Located:
    """One order object of a JSON file and where it was found."""

    where: str
    obj: object


def json_orders(data: bytes | str, name: str, problems: list[Problem]) -> Iterator[Located]:
    """The order objects of a channel JSON file, whatever the container.

    Accepted: one object, an array of objects, `{"order": {...}}`, `{"orders": [...]}`, or JSON
    Lines (one of those per line; blank lines skipped). Problems with the container itself are
    appended to `problems`; the objects are yielded for the adapter to check.
    """
    text = decode_text(data, name)
    if not text.strip():
        problems.append(Problem(f"{name}:1", None, "is empty: expected channel order JSON"))
        return
    try:
        value = json_value(text)
    except BadJson as whole:
        # Not one JSON text: try JSON Lines, where a string cannot span lines.
        if "Extra data" not in str(whole):
            problems.append(Problem(f"{name}:{whole.line}:{whole.column}", None, str(whole)))
            return
        yield from _json_lines(text, name, problems)
        return
    yield from _unwrap(value, name, problems)


def _json_lines(text: str, name: str, problems: list[Problem]) -> Iterator[Located]:
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            value = json_value(raw)
        except BadJson as exc:
            problems.append(Problem(f"{where}:{exc.column}", None, str(exc)))
            continue
        yield from _unwrap(value, where, problems, join=" ")


def _unwrap(
    value: object, base: str, problems: list[Problem], join: str = ":"
) -> Iterator[Located]:
    """Orders inside one JSON value: an order object, a list, or an order/orders wrapper.

    Each is located as `base` plus its JSON path (`orders.json:[3]`, `orders.json:orders[3]`,
    `hooks.jsonl:7 order`); a lone object is just `base`.
    """
    items: list[tuple[str, object]]
    if isinstance(value, list):
        items = [(f"[{index}]", item) for index, item in enumerate(value)]
    elif (
        isinstance(value, dict)
        and "line_items" not in value
        and isinstance(value.get("orders"), list)
    ):
        items = [(f"orders[{index}]", item) for index, item in enumerate(value["orders"])]
    elif (
        isinstance(value, dict)
        and "line_items" not in value
        and isinstance(value.get("order"), dict)
    ):
        items = [("order", value["order"])]
    else:
        items = [("", value)]
    for path, item in items:
        place = f"{base}{join}{path}" if path else base
        if isinstance(item, dict):
            yield Located(place, item)
        else:
            problems.append(Problem(place, None, f"expected an order object, got {kind(item)}"))


# --------------------------------------------------------------------------------------------
# Value checks: value -> clean value, or raise Invalid("<rest of the sentence>")


def text(value: object) -> str | None:
    """A string, stripped; None when absent or blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {show(value)}")
    cleaned = value.strip()
    if "\x00" in cleaned:
        raise Invalid("must not contain a NUL character")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("contains an invalid character (a lone UTF-16 surrogate)") from None
    return cleaned or None


def required_text(value: object) -> str:
    """A non-blank string."""
    cleaned = text(value)
    if cleaned is None:
        raise Invalid("is required")
    return cleaned


def identifier(value: object) -> str:
    """A channel id: a non-negative integer or a non-blank string, kept as its text."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or value.bit_length() > 128:
            raise Invalid(f"must be a channel id, got {show(value)}")
        return str(value)
    if isinstance(value, Decimal):
        raise Invalid(f"must be an integer or a string, got {show(value)}")
    return required_text(value)


def country(value: object) -> str | None:
    """A two-letter ISO-3166 code, upper-cased; None when blank."""
    code = text(value)
    if code is None:
        return None
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise Invalid(f"must be a two-letter country code such as US or DE, got {code!r}")
    return code.upper()


def money(value: object) -> str | None:
    """An amount >= 0 with at most 4 decimal places, as its decimal string; None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Invalid(f'must be a decimal amount such as "19.99", got {show(value)}')
    if isinstance(value, float):
        value = repr(value)  # a caller's json.loads: 19.99, not 19.989999999999998436...
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise Invalid(f'must be a decimal amount such as "19.99", got {show(value)}') from None
    if not amount.is_finite():
        raise Invalid(f"must be a finite amount, got {show(value)}")
    if amount < 0:
        raise Invalid(f"must not be negative, got {show(value)}")
    try:
        exact = amount.quantize(_MONEY_STEP) == amount
    except InvalidOperation:
        raise Invalid(f"is too large, got {show(value)}") from None
    if not exact:
        raise Invalid(f"has more than 4 decimal places, got {show(value)}")
    return format(amount, "f")  # "100000", never "1E+5"


def quantity(value: object) -> int:
    """A positive integer (or digit string) up to `MAX_QTY`."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if value.adjusted() > 12:
            raise Invalid(f"is too large (at most {MAX_QTY})")
        number = int(value)  # "2.0" in a hand-edited file
    elif isinstance(value, str) and (digits := value.strip()).isascii() and digits.isdigit():
        if len(digits) > 12:
            raise Invalid(f"is too large (at most {MAX_QTY})")
        number = int(digits)
    elif value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid("is required")
    else:
        raise Invalid(f"must be a positive integer, got {show(value)}")
    if number < 1:
        raise Invalid(f"must be a positive integer, got {number}")
    if number > MAX_QTY:
        raise Invalid(f"is too large (at most {MAX_QTY}), got {number}")
    return number


def timestamp(value: object) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime; no zone means UTC; None when blank.

    Accepts `2026-03-02T09:15:00-05:00`, `...Z`, and Shopify's CSV form
    `2026-03-02 09:15:00 -0500`.
    """
    stamp = text(value)
    if stamp is None:
        return None
    try:
        parsed = datetime.fromisoformat(_TIMESTAMP_SPACE.sub(r"\1\2", stamp))
    except ValueError:
        raise Invalid(
            f"must be an ISO-8601 timestamp such as 2026-03-02T09:15:00-05:00, got {stamp!r}"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC equivalent
        raise Invalid(f"is out of range, got {stamp!r}") from None


def required_timestamp(value: object) -> datetime:
    """`timestamp`, but blank is a problem."""
    moment = timestamp(value)
    if moment is None:
        raise Invalid("is required")
    return moment


# The space Shopify's CSV export puts before the UTC offset ("09:15:00 -0500").
_TIMESTAMP_SPACE = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2})$")


def iso(moment: datetime) -> str:
    """The native mapping's spelling of a timestamp."""
    return moment.isoformat()


def tag_list(value: object) -> list[str]:
    """Tags from a comma-separated string (Shopify) or a list of strings; trimmed, deduplicated."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: list[object] = list(value.split(","))
    elif isinstance(value, list):
        parts = list(value)
    else:
        raise Invalid(f"must be a comma-separated string, got {show(value)}")
    tags: dict[str, None] = {}
    for part in parts:
        if not isinstance(part, str):
            raise Invalid(f"must be a list of strings, got an element {show(part)}")
        tag = text(part)
        if tag:
            tags[tag] = None
    return list(tags)


def flag(value: object, default: bool) -> bool:
    """A true/false field: JSON booleans, or CSV's `true`/`false` (any case); blank = default."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "1"):
            return True
        if word in ("false", "no", "0"):
            return False
    raise Invalid(f"must be true or false, got {show(value)}")


# --------------------------------------------------------------------------------------------
# Building the native mapping


class Fields:
    """Collects one order's checked values and problems; the adapters' workbench."""

    def __init__(self, where: str, order: str | None, problems: list[Problem]) -> None:
        self.where = where
        self.order = order
        self.problems = problems
        self.start = len(problems)

    def problem(self, field_name: str | None, message: str) -> None:
        self.problems.append(Problem(self.where, field_name, message, self.order))

    def check(self, field_name: str, convert: Any, value: object, *args: Any) -> Any:
        """`convert(value, *args)`, or None with the problem recorded."""
        try:
            return convert(value, *args)
        except Invalid as exc:
            self.problem(field_name, str(exc))
            return None

    @property
    def ok(self) -> bool:
        return len(self.problems) == self.start


def ship_to(parts: Mapping[str, str | None]) -> dict[str, str] | None:
    """A native ship_to with the blank parts left out; None when nothing is known."""
    clean = {key: value for key, value in parts.items() if value}
    return clean or None


def native_mapping(
    *,
    order_id: str,
    channel: str,
    placed_at: datetime,
    ship_to_parts: Mapping[str, str | None],
    shipping_method: str | None,
    total: str | None,
    tags: list[str],
    attributes: dict[str, str],
    lines: list[dict[str, Any]],
) -> dict[str, Any]:
    """The native order mapping (SPEC §2), with absent optional fields left out."""
    mapping: dict[str, Any] = {"id": order_id, "channel": channel, "placed_at": iso(placed_at)}
    address = ship_to(ship_to_parts)
    if address:
        mapping["ship_to"] = address
    if shipping_method:
        mapping["shipping_method"] = shipping_method
    if total is not None:
        mapping["total"] = total
    if tags:
        mapping["tags"] = tags
    if attributes:
        mapping["attributes"] = attributes
    mapping["lines"] = lines
    return mapping


def channel_name(channel: str | None, default: str) -> str:
    """The `--channel` given, else the adapter's own name; a blank one is a usage mistake."""
    if channel is None:
        return default
    cleaned = channel.strip()
    if not cleaned:
        raise ChannelError([Problem("--channel", None, "must not be empty")])
    return cleaned


def note_duplicates(orders: list[ChannelOrder], problems: list[Problem]) -> None:
    """The same order twice in one file is a problem on the second, naming the first."""
    first: dict[str, str] = {}
    for order in orders:
        seen = first.setdefault(order.id, order.where)
        if seen is not order.where:
            problems.append(
                Problem(order.where, None, f"appears twice in the file (first at {seen})", order.id)
            )


def finish(
    orders: list[ChannelOrder], skipped: list[Skipped], problems: list[Problem]
) -> ChannelRead:
    """The file's result, or `ChannelError` with every problem: a file is taken whole or not."""
    note_duplicates(orders, problems)
    if problems:
        raise ChannelError(problems)
    return ChannelRead(tuple(orders), tuple(skipped))


def kind(value: object) -> str:
    """A JSON kind for messages: 'an object', 'a list', 'a string', 'a number', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float | Decimal):
        return "a number"
    return type(value).__name__


def show(value: object) -> str:
    """A short rendering of a bad value for a message (never an enormous one)."""
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return ascii(shown) if _unencodable(shown) else repr(shown)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int) and value.bit_length() > 128:
        return "a very large number"
    if isinstance(value, int | Decimal | float):
        rendered = str(value)
        return rendered if len(rendered) <= 40 else f"a number of {len(rendered)} digits"
    return kind(value)


def _unencodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
