"""Reading order and inventory files into domain objects: parsing and validation, no database.

A file is accepted whole or not at all: every problem in it is collected (as
`<file>:<line>: <message>`) and reported in one `BadInput`, so a user fixes a bad export in one
pass and nothing half-imported is ever written (SPEC §8).

Formats (SPEC §2, §8):

- `.json`: an array of order objects; problems name the line where the object starts.
- `.jsonl` / `.ndjson`: one order object per line; blank lines are ignored.
- `.csv` (orders): one row per order *line*. Required columns `id,channel,placed_at,sku,qty`;
  optional `ship_to_name,country,state,city,postal_code,shipping_method,total,tags,warehouse`
  (also spelled `ship_to.<part>` / `ship_to_<part>`), and `attr.<key>` or `attributes.<key>` for
  attributes. Rows sharing an `id` form one order. Line 1 is the header.
- `.csv` (inventory): `sku,on_hand[,warehouse]`, header required.

Decisions (also in the module's tests):

- Surrounding whitespace is stripped from every string value; an empty string is "absent".
- CSV order-level cells may be left blank on an order's continuation rows (as shop exports do);
  a non-blank cell must equal the order's other non-blank cells for that column.
- CSV `tags` are separated by `;` or `|` (both accepted, so neither can appear inside a tag).
- CSV attribute values stay strings (no type guessing: "00123" must not become 123); use JSON
  for typed attributes. JSON/JSONL numbers with a fraction become `float` attributes.
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
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple, TextIO, TypeVar

from engine.bulk import collector_paused
from engine.errors import BadInput
from engine.model import (
    DEFAULT_WAREHOUSE,
    AllocationStatus,
    Line,
    Order,
    OrderStatus,
    ShipTo,
)

__all__ = [
    "ORDER_KEYS",
    "check_order_mapping",
    "order_from_mapping",
    "parse_line_spec",
    "read_inventory",
    "read_orders",
]

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
#: Largest quantity accepted: what a 32-bit database INTEGER holds.
MAX_QTY = 2**31 - 1
#: Money keeps 4 decimal places at most (the storage precision).
_MONEY_STEP = Decimal("0.0001")

# The JSON module's own notion of whitespace between tokens.
_JSON_WS = re.compile(r"[ \t\n\r]*")
# Totals are parsed as Decimal straight from the JSON text, so 19.99 never passes through a
# binary float. NaN/Infinity still arrive as floats and are rejected by the validators.
_DECODER = json.JSONDecoder(parse_float=Decimal)
_TAG_SPLIT = re.compile(r"[;|]")


class _Invalid(Exception):
    """One field is wrong; the message completes "<label> ..."."""


# --------------------------------------------------------------------------------------------
# Public entry points


def read_orders(path: Path, now: datetime | None = None) -> list[Order]:
    """Parse and validate an order file (`.json`, `.jsonl`/`.ndjson` or `.csv`).

    `now` is the `placed_at` of orders that give none (default: the current time, taken once).
    Raises `BadInput` listing every problem when anything in the file is invalid; then no
    order is returned at all.
    """
    readers: dict[str, Callable[[TextIO, str, datetime, list[str]], list[Order]]] = {
        ".json": _read_json_array,
        ".jsonl": _read_jsonl,
        ".ndjson": _read_jsonl,
        ".csv": _read_orders_csv,
    }
    name = str(path)
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise BadInput(
            f"{name}: unknown order file type {path.suffix or '(none)'!r}; "
            "expected .json (an array), .jsonl (one order per line) or .csv (one row per line)"
        )
    when = _utc(now) if now is not None else datetime.now(UTC)
    problems: list[str] = []
    with _open_text(path) as handle, collector_paused():
        orders = _guard_decoding(lambda: reader(handle, name, when, problems), name)
    _refuse_if(problems, name)
    return orders


def read_inventory(path: Path) -> list[tuple[str, str, int]]:
    """Parse an inventory CSV `sku,on_hand[,warehouse]` into `(sku, warehouse, on_hand)` rows.

    The warehouse defaults to `main`. `on_hand` must be a whole number >= 0. The same
    `(sku, warehouse)` twice is an error. Raises `BadInput` listing every problem.
    """
    name = str(path)
    if path.suffix.lower() != ".csv":
        raise BadInput(
            f"{name}: unknown inventory file type {path.suffix or '(none)'!r}; "
            "expected .csv with columns sku,on_hand[,warehouse]"
        )
    problems: list[str] = []
    with _open_text(path) as handle:
        rows = _guard_decoding(lambda: _read_inventory_csv(handle, name, problems), name)
    _refuse_if(problems, name)
    return rows


def order_from_mapping(obj: object, where: str, now: datetime) -> Order:
    """Validate one order given as a mapping (SPEC §2 shape) and build it.

    For `dibs orders add` and rule-file test fixtures. `where` prefixes every problem
    (e.g. `rules.yaml:12:9`). Raises `BadInput` listing every problem.
    """
    problems: list[str] = []
    order = check_order_mapping(obj, where, now, problems)
    if order is None:
        count = _plural(len(problems), "problem")
        raise BadInput(f"{where}: invalid order ({count})", problems=problems)
    return order


def check_order_mapping(
    obj: object, where: str, now: datetime, problems: list[str]
) -> Order | None:
    """Like `order_from_mapping`, but appends problems to `problems` and returns None instead."""
    if not isinstance(obj, Mapping):
        problems.append(f"{where}: expected an order object, got {_kind(obj)}")
        return None
    start = len(problems)
    for key in obj:
        if key not in _ORDER_KEY_SET:
            problems.append(f"{where}: {_order_ref(obj)}{_unknown_key(key, ORDER_KEYS)}")
    # Validate the known fields even after an unknown key, so one pass reports everything.
    order = _build_order(obj, where, now, problems)
    return order if len(problems) == start else None


def parse_line_spec(spec: str) -> tuple[str, int]:
    """Parse the CLI's `--line SKU:QTY` into `(sku, qty)`; raises `BadInput` when malformed."""
    sku, sep, qty_text = spec.rpartition(":")  # rpartition: a SKU may itself contain ':'
    sku = sku.strip()
    if not sep or not sku:
        raise BadInput(f"--line {spec!r}: expected SKU:QTY, e.g. TSHIRT-BLK-M:2")
    try:
        return sku, _qty(qty_text)
    except _Invalid as exc:
        raise BadInput(f"--line {spec!r}: qty {exc}") from None


# --------------------------------------------------------------------------------------------
# File handling


def _open_text(path: Path) -> TextIO:
    """Open for reading as UTF-8 (a BOM, as spreadsheet tools write, is skipped)."""
    name = str(path)
    try:
        if path.is_dir():
            raise BadInput(f"{name}: is a directory, expected a file")
        # newline="" lets the csv module see quoted newlines; JSON does not care.
        return path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise BadInput(f"{name}: no such file") from None
    except PermissionError:
        raise BadInput(f"{name}: permission denied") from None
    except OSError as exc:
        raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None


def _line_number(problem: str, start: int) -> int:
    digits = problem[start : problem.find(":", start)]
    return int(digits) if digits.isdigit() else 0


def _guard_decoding(read: Callable[[], _T], name: str) -> _T:
    try:
        return read()
    except UnicodeDecodeError as exc:
        raise BadInput(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None


def _refuse_if(problems: list[str], name: str) -> None:
    if problems:
        # CSV order-level problems are found after the rows: report everything in file order.
        problems.sort(key=lambda problem: _line_number(problem, len(name) + 1))
        raise BadInput(
            f"{name}: {_plural(len(problems), 'problem')}, nothing imported", problems=problems
        )


# --------------------------------------------------------------------------------------------
# JSON array and JSON Lines


def _read_json_array(handle: TextIO, name: str, now: datetime, problems: list[str]) -> list[Order]:
    text = handle.read()
    pos = _JSON_WS.match(text, 0).end()  # type: ignore[union-attr]  # [ \t\n\r]* always matches
    if pos == len(text):
        problems.append(f"{name}:1: empty file, expected a JSON array of orders")
        return []
    if text[pos] != "[":
        hint = ""
        if text[pos] == "{":
            hint = " (for one order object per line, name the file .jsonl)"
        line, col = _line_col(text, pos)
        problems.append(f"{name}:{line}:{col}: expected a JSON array of orders{hint}")
        return []
    orders: list[Order] = []
    seen: dict[str, str] = {}
    line, counted_to = 1, 0
    pos = _JSON_WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        return _after_array(text, pos + 1, name, problems, orders)
    while True:
        try:
            obj, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            problems.append(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}")
            return []
        # Count newlines incrementally: one pass over the text in total, not one per element.
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        where = f"{name}:{line}"
        _note_id(obj, where, seen, problems)
        order = check_order_mapping(obj, where, now, problems)
        if order is not None:
            orders.append(order)
        pos = _JSON_WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _JSON_WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        if text.startswith("]", pos):
            return _after_array(text, pos + 1, name, problems, orders)
        line_no, col = _line_col(text, pos)
        found = "end of file" if pos >= len(text) else repr(text[pos])
        problems.append(f"{name}:{line_no}:{col}: invalid JSON: expected ',' or ']', got {found}")
        return []


def _after_array(
    text: str, pos: int, name: str, problems: list[str], orders: list[Order]
) -> list[Order]:
    pos = _JSON_WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos < len(text):
        line, col = _line_col(text, pos)
        problems.append(f"{name}:{line}:{col}: invalid JSON: unexpected data after the array")
    return orders


def _read_jsonl(handle: TextIO, name: str, now: datetime, problems: list[str]) -> list[Order]:
    orders: list[Order] = []
    seen: dict[str, str] = {}
    # A JSON text cannot hold a raw newline inside a string, so physical lines are exact.
    for number, raw in enumerate(_physical_lines(handle), 1):
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            obj = _DECODER.decode(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}:{exc.colno}: invalid JSON: {exc.msg}")
            continue
        _note_id(obj, where, seen, problems)
        order = check_order_mapping(obj, where, now, problems)
        if order is not None:
            orders.append(order)
    return orders


def _physical_lines(handle: TextIO) -> Iterator[str]:
    # The handle was opened with newline="" so "\r\n" survives; strip it ourselves.
    for raw in handle:
        yield raw.rstrip("\r\n")


def _note_id(obj: object, where: str, seen: dict[str, str], problems: list[str]) -> None:
    """Flag a repeated id, even on an otherwise invalid order: both need fixing."""
    if not isinstance(obj, Mapping):
        return
    try:
        order_id = _order_id(obj.get("id"))
    except _Invalid:
        return  # reported by the order's own validation
    first = seen.setdefault(order_id, where)
    if first is not where:
        problems.append(f"{where}: duplicate order id {order_id!r} (first on {_line_of(first)})")


def _line_of(where: str) -> str:
    # `where` is "<file>:<line>"; the file is already named at the start of the message.
    return f"line {where.rpartition(':')[2]}"


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


# --------------------------------------------------------------------------------------------
# Field validators: value -> clean value, or raise _Invalid("<rest of the sentence>")


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, got {_show(value)}")
    return value.strip() or None


def _required_text(value: object) -> str:
    text = _text(value)
    if text is None:
        raise _Invalid("must not be empty")
    return text


def _order_id(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids are common in channel exports
    return _required_text(value)


def _country(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        hint = " (use the ISO-3166 alpha-2 code, e.g. US, GB, DE)"
        raise _Invalid(f"must be a two-letter country code, got {text!r}{hint}")
    return text.upper()


def _timestamp(value: object) -> datetime:
    if isinstance(value, datetime):  # YAML fixtures parse unquoted timestamps themselves
        return _utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise _Invalid(f"must be an ISO-8601 timestamp string, got {_show(value)}")
    return _timestamp_text(value.strip())


def _timestamp_text(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(
            f"must be an ISO-8601 timestamp such as 2026-11-28T14:30:00Z, got {text!r}"
        ) from None
    return _utc(parsed)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)  # SPEC §2: no zone means UTC
    return moment.astimezone(UTC)


def _money(value: object) -> Decimal:
    if isinstance(value, bool):
        raise _Invalid(f"must be a decimal number, got {_show(value)}")
    try:
        if isinstance(value, Decimal | int):
            amount = Decimal(value)
        elif isinstance(value, float):
            amount = Decimal(repr(value))  # repr: 19.99, not 19.989999999999998436805981327779591
        elif isinstance(value, str):
            amount = Decimal(value.strip())
        else:
            raise _Invalid(f"must be a decimal number, got {_show(value)}")
    except InvalidOperation:
        raise _Invalid(f"must be a decimal number, got {_show(value)}") from None
    if not amount.is_finite():
        raise _Invalid(f"must be a finite number, got {_show(value)}")
    if amount < 0:
        raise _Invalid(f"must not be negative, got {_show(value)}")
    try:
        exact = amount.quantize(_MONEY_STEP) == amount
    except InvalidOperation:  # too many digits to quantize: far beyond any real total
        raise _Invalid(f"is too large, got {_show(value)}") from None
    if not exact:
        raise _Invalid(f"has more than 4 decimal places, got {_show(value)}")
    return amount


def _qty(value: object) -> int:
    return _count(value, minimum=1, what="a positive integer")


def _count(value: object, minimum: int, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and (text := value.strip()).isascii() and text.isdigit():
        number = int(text)
    else:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _Invalid("is required")
        raise _Invalid(f"must be {what}, got {_show(value)}")
    if number < minimum:
        raise _Invalid(f"must be {what}, got {number}")
    if number > MAX_QTY:
        raise _Invalid(f"is too large (at most {MAX_QTY}), got {number}")
    return number


def _tags(value: object) -> frozenset[str]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise _Invalid(f"must be a list of strings, got {_show(value)}")
    tags: set[str] = set()
    for tag in value:
        if not isinstance(tag, str):
            raise _Invalid(f"must be a list of strings, got an element {_show(tag)}")
        cleaned = tag.strip()
        if cleaned:  # "vip;;gift" and trailing separators are harmless
            tags.add(cleaned)
    return frozenset(tags)


def _attributes(value: object) -> dict[str, Scalar]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"must be an object of scalar values, got {_show(value)}")
    clean: dict[str, Scalar] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            raise _Invalid(f"keys must be non-empty strings, got {_show(key)}")
        if isinstance(item, Decimal):
            item = float(item)  # attributes are free-form: no money semantics
        if isinstance(item, float) and not math.isfinite(item):
            raise _Invalid(f"{key!r} must be a finite number, got {item}")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise _Invalid(
                f"{key!r} must be a string, number, true/false or null, got {_kind(item)}"
            )
        clean[key] = item
    return clean


def _new_status(value: object) -> None:
    if value != OrderStatus.AWAITING_FULFILLMENT:
        raise _Invalid(
            f"must be 'awaiting_fulfillment' (an import creates new orders), got {_show(value)}"
        )


def _new_allocation_status(value: object) -> None:
    if value != AllocationStatus.UNALLOCATED:
        raise _Invalid(f"must be 'unallocated' (an import creates new orders), got {_show(value)}")


# --------------------------------------------------------------------------------------------
# Orders CSV

# Accepted spellings of the ship_to columns: the short names, and the rule-language names.
_SHIP_TO_COLUMNS = {
    **{part: part for part in ("country", "state", "city", "postal_code")},
    **{f"ship_to_{part}": part for part in SHIP_TO_KEYS},
    **{f"ship_to.{part}": part for part in SHIP_TO_KEYS},
}
_ORDER_LEVEL_COLUMNS = ("channel", "placed_at", "shipping_method", "total", "tags", "warehouse")
_REQUIRED_COLUMNS = ("id", "channel", "placed_at", "sku", "qty")
_KNOWN_COLUMNS = (
    *_REQUIRED_COLUMNS,
    "ship_to_name",
    "country",
    "state",
    "city",
    "postal_code",
    "shipping_method",
    "total",
    "tags",
    "warehouse",
)
_ATTRIBUTE_PREFIXES = ("attr.", "attributes.")


def _split_tags(text: str) -> frozenset[str]:
    return frozenset(tag for part in _TAG_SPLIT.split(text) if (tag := part.strip()))


# How an order-level column's (stripped, non-blank) text becomes a value; others stay text.
_COLUMN_CONVERTERS: dict[str, Callable[[str], object]] = {
    "placed_at": _timestamp_text,
    "total": _money,
    "tags": _split_tags,
    "country": _country,
}


_TOP, _SHIP_TO, _ATTRIBUTES = 0, 1, 2


class _Column(NamedTuple):
    """An order-level CSV column: its name in messages, and where its value goes.

    A tuple, not a dataclass: the per-order loop unpacks it, which is the cheapest access.
    """

    header: str
    target: int  # _TOP | _SHIP_TO | _ATTRIBUTES
    key: str
    convert: Callable[[str], object] | None


@dataclass(frozen=True)
class _CsvLayout:
    i_sku: int
    i_qty: int
    # Cells 0.. of `pick(row)` are: the id, then one per column of `columns[1:]`.
    pick: Callable[[Sequence[str]], tuple[str, ...]]
    columns: tuple[_Column, ...]


class _CsvOrder:
    """The rows of one order id collected so far."""

    __slots__ = ("first", "lines", "raw", "values")

    def __init__(self, first: int, raw: tuple[str, ...]) -> None:
        self.first = first  # line of its first row
        self.raw = raw  # order-level cells of the first row
        # Built only once a later row's cells differ from `raw`: position -> (value, line).
        self.values: dict[int, tuple[str, int]] | None = None
        self.lines: list[Line] | None = []  # None once a line was invalid


def _read_orders_csv(handle: TextIO, name: str, now: datetime, problems: list[str]) -> list[Order]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        problems.append(f"{name}:1: empty file, expected a header: {','.join(_REQUIRED_COLUMNS)}")
        return []
    layout = _orders_layout(header, f"{name}:1", problems)
    if layout is None:
        return []
    i_sku, i_qty, pick = layout.i_sku, layout.i_qty, layout.pick
    width = len(header)
    groups: dict[str, _CsvOrder] = {}
    previous_end = reader.line_num
    # The hot loop: plain local names and string methods only, since a benchmark file has
    # hundreds of thousands of rows.
    for row in reader:
        # A row starts on the physical line after the previous one ended (quoted fields may
        # span lines), which is the line a user sees in an editor.
        line = previous_end + 1
        previous_end = reader.line_num
        if len(row) != width:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            problems.append(
                f"{name}:{line}: expected {width} columns as in the header, got {len(row)}"
            )
            continue
        raw = pick(row)
        order_id = raw[0].strip()
        if not order_id:
            problems.append(f"{name}:{line}: id is required")
            continue
        group = groups.get(order_id)
        if group is None:
            group = groups[order_id] = _CsvOrder(line, raw)
        elif raw != group.raw:
            _merge_row(group, layout.columns, raw, line, f"{name}:{line}", order_id, problems)
        sku = row[i_sku].strip()
        qty_text = row[i_qty].strip()
        if sku and qty_text.isdigit() and qty_text.isascii() and group.lines is not None:
            qty = int(qty_text)
            if 0 < qty <= MAX_QTY:
                group.lines.append(Line(sku, qty))
                continue
        if _line_problems(sku, qty_text, f"{name}:{line}: order {order_id!r}: ", problems):
            group.lines = None
    orders: list[Order] = []
    for order_id, group in groups.items():
        order = _csv_order(order_id, group, layout.columns, name, now, problems)
        if order is not None:
            orders.append(order)
    return orders


def _line_problems(sku: str, qty_text: str, prefix: str, problems: list[str]) -> bool:
    """Report what is wrong with one CSV line; False when nothing is (a valid later line)."""
    start = len(problems)
    if not sku:
        problems.append(f"{prefix}sku is required")
    try:
        _qty(qty_text)
    except _Invalid as exc:
        problems.append(f"{prefix}qty {exc}")
    return len(problems) > start


def _orders_layout(header: list[str], where: str, problems: list[str]) -> _CsvLayout | None:
    start = len(problems)
    index: dict[str, int] = {}
    positions: list[int] = []
    columns: list[_Column] = [_Column("id", _TOP, "id", None)]
    attribute_columns: dict[str, str] = {}
    for i, cell in enumerate(header):
        raw_name = cell.strip()
        lower = raw_name.lower()
        prefix = next((p for p in _ATTRIBUTE_PREFIXES if lower.startswith(p)), None)
        if prefix is not None:
            key = raw_name[len(prefix) :]  # attribute keys keep their case
            if not key.strip():
                problems.append(f"{where}: column {raw_name!r} names no attribute")
            elif key in attribute_columns:
                problems.append(
                    f"{where}: attribute {key!r} appears twice "
                    f"(columns {attribute_columns[key]!r} and {raw_name!r})"
                )
            else:
                attribute_columns[key] = raw_name
                positions.append(i)
                columns.append(_Column(raw_name, _ATTRIBUTES, key, None))
            continue
        part = _SHIP_TO_COLUMNS.get(lower)
        canonical = lower if part is None else ("ship_to_name" if part == "name" else part)
        if part is None and canonical not in _KNOWN_COLUMNS:
            known = [*_KNOWN_COLUMNS, "attr.<key>"]
            problems.append(f"{where}: {_unknown_key(raw_name, known, what='column')}")
            continue
        if canonical in index:
            problems.append(f"{where}: column {canonical!r} appears twice")
            continue
        index[canonical] = i
        convert = _COLUMN_CONVERTERS.get(canonical)
        if part is not None:
            positions.append(i)
            columns.append(_Column(canonical, _SHIP_TO, part, convert))
        elif canonical in _ORDER_LEVEL_COLUMNS:
            positions.append(i)
            columns.append(_Column(canonical, _TOP, canonical, convert))
    missing = [c for c in _REQUIRED_COLUMNS if c not in index]
    if missing:
        problems.append(
            f"{where}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the header needs {','.join(_REQUIRED_COLUMNS)})"
        )
    if len(problems) > start:
        return None
    # itemgetter picks the cells in C; with the id always first it returns a tuple.
    pick = operator.itemgetter(index["id"], *positions)
    return _CsvLayout(index["sku"], index["qty"], pick, tuple(columns))


def _merge_row(
    group: _CsvOrder,
    columns: Sequence[_Column],
    raw: tuple[str, ...],
    line: int,
    where: str,
    order_id: str,
    problems: list[str],
) -> None:
    """Fold a continuation row's order-level cells in; a blank cell means "as the other rows"."""
    values = group.values
    if values is None:
        values = group.values = {
            pos: (text, group.first)
            for pos, cell in enumerate(group.raw)
            if pos and (text := cell.strip())
        }
    for pos in range(1, len(raw)):
        value = raw[pos].strip()
        if not value:
            continue
        known = values.get(pos)
        if known is None:
            values[pos] = (value, line)
        elif known[0] != value:
            problems.append(
                f"{where}: order {order_id!r}: {columns[pos].header} {value!r} differs from "
                f"{known[0]!r} on line {known[1]} (every row of an order must agree)"
            )


def _csv_order(
    order_id: str,
    group: _CsvOrder,
    columns: Sequence[_Column],
    name: str,
    now: datetime,
    problems: list[str],
) -> Order | None:
    """Convert one order's merged order-level cells, reporting each at the row it came from."""
    first = group.first
    if group.values is None:  # every row agreed with the first: the common, fast case
        texts = [cell.strip() for cell in group.raw]
        from_line = None
    else:
        blank = ("", first)
        merged = [group.values.get(pos, blank) for pos in range(len(group.raw))]
        texts = [text for text, _ in merged]
        from_line = [line for _, line in merged]
    ok = group.lines is not None
    top: dict[str, Any] = {}
    ship_to: dict[str, Any] = {}
    attributes: dict[str, Any] = {}  # CSV attribute values are always text
    targets = (top, ship_to, attributes)
    for pos in range(1, len(texts)):
        text = texts[pos]
        if not text:
            continue
        header, target, key, convert = columns[pos]
        if convert is None:
            targets[target][key] = text
            continue
        try:
            targets[target][key] = convert(text)
        except _Invalid as exc:
            line = first if from_line is None else from_line[pos]
            problems.append(f"{name}:{line}: order {order_id!r}: {header} {exc}")
            ok = False
    if "channel" not in top:
        problems.append(f"{name}:{first}: order {order_id!r}: channel is required")
        return None
    if not ok or group.lines is None:
        return None
    return Order(
        id=order_id,
        channel=top["channel"],
        placed_at=top.get("placed_at", now),
        lines=tuple(group.lines),
        ship_to=ShipTo(**ship_to) if ship_to else _NO_ADDRESS,
        shipping_method=top.get("shipping_method"),
        total=top.get("total"),
        tags=top.get("tags", _NO_TAGS),
        warehouse=top.get("warehouse", DEFAULT_WAREHOUSE),
        attributes=attributes,
    )


_NO_ADDRESS = ShipTo()
_NO_TAGS: frozenset[str] = frozenset()


# --------------------------------------------------------------------------------------------
# Building one order from a mapping (JSON, JSONL, YAML fixtures, the CLI)


_ORDER_KEY_SET = frozenset(ORDER_KEYS)
_SHIP_TO_KEY_SET = frozenset(SHIP_TO_KEYS)
_LINE_KEY_SET = frozenset(LINE_KEYS)


def _build_order(
    obj: Mapping[str, Any], where: str, now: datetime, problems: list[str]
) -> Order | None:
    """Validate every field of one order mapping; None (with problems added) if any is wrong."""
    start = len(problems)
    ref = _order_ref(obj)

    def check(
        column: str, convert: Callable[[object], _T], default: _T, required: bool = False
    ) -> _T:
        value = obj.get(column)
        try:
            if value is None:
                if required:
                    raise _Invalid("is required")
                return default
            return convert(value)
        except _Invalid as exc:
            problems.append(f"{where}: {ref}{column} {exc}")
            return default

    order_id = check("id", _order_id, "", required=True)
    channel = check("channel", _required_text, "", required=True)
    placed_at = check("placed_at", _timestamp, now)
    check("status", _new_status, None)
    check("allocation_status", _new_allocation_status, None)
    shipping_method = check("shipping_method", _text, None)
    total = check("total", _money, None)
    tags: frozenset[str] = check("tags", _tags, _NO_TAGS)
    warehouse = check("warehouse", _text, None) or DEFAULT_WAREHOUSE
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
        return _NO_ADDRESS
    if not isinstance(value, Mapping):
        problems.append(f"{where}: {ref}ship_to must be an object, got {_kind(value)}")
        return None
    ok = True
    parts: dict[str, str | None] = {}
    for key, part in value.items():
        if key not in _SHIP_TO_KEY_SET:
            problems.append(f"{where}: {ref}{_unknown_key(key, SHIP_TO_KEYS, 'ship_to.')}")
            ok = False
            continue
        try:
            if part is not None:
                parts[key] = _country(part) if key == "country" else _text(part)
        except _Invalid as exc:
            problems.append(f"{where}: {ref}ship_to.{key} {exc}")
            ok = False
    return ShipTo(**parts) if ok else None


def _lines(value: object, where: str, ref: str, problems: list[str]) -> tuple[Line, ...] | None:
    if value is None or (isinstance(value, list) and not value):
        problems.append(f"{where}: {ref}needs at least one line")
        return None
    if not isinstance(value, list):
        problems.append(f"{where}: {ref}lines must be a list, got {_kind(value)}")
        return None
    ok = True
    lines: list[Line] = []
    for index, item in enumerate(value):
        prefix = f"lines[{index}]."
        if not isinstance(item, Mapping):
            problems.append(
                f"{where}: {ref}lines[{index}] must be an object {{sku, qty}}, got {_kind(item)}"
            )
            ok = False
            continue
        for key in item:
            if key not in _LINE_KEY_SET:
                problems.append(f"{where}: {ref}{_unknown_key(key, LINE_KEYS, prefix)}")
                ok = False
        sku: str | None = None
        qty = 0
        try:
            raw_sku = item.get("sku")
            sku = None if raw_sku is None else _text(raw_sku)
            if sku is None:
                raise _Invalid("is required")
        except _Invalid as exc:
            problems.append(f"{where}: {ref}{prefix}sku {exc}")
            ok = False
        try:
            qty = _qty(item.get("qty"))
        except _Invalid as exc:
            problems.append(f"{where}: {ref}{prefix}qty {exc}")
            ok = False
        if ok and sku is not None:
            lines.append(Line(sku, qty))
    return tuple(lines) if ok else None


# --------------------------------------------------------------------------------------------
# Inventory CSV

_INVENTORY_COLUMNS = ("sku", "on_hand", "warehouse")


def _read_inventory_csv(
    handle: TextIO, name: str, problems: list[str]
) -> list[tuple[str, str, int]]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        problems.append(f"{name}:1: empty file, expected a header: sku,on_hand[,warehouse]")
        return []
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        column = cell.strip().lower()
        if column not in _INVENTORY_COLUMNS:
            problems.append(
                f"{name}:1: {_unknown_key(cell.strip(), _INVENTORY_COLUMNS, what='column')}"
            )
        elif column in index:
            problems.append(f"{name}:1: column {column!r} appears twice")
        else:
            index[column] = i
    missing = [c for c in ("sku", "on_hand") if c not in index]
    if missing:
        problems.append(
            f"{name}:1: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the header needs sku,on_hand[,warehouse])"
        )
    if problems:
        return []
    i_sku, i_on_hand, i_warehouse = index["sku"], index["on_hand"], index.get("warehouse")
    width = len(header)
    rows: list[tuple[str, str, int]] = []
    seen: dict[tuple[str, str], str] = {}
    previous_end = reader.line_num
    for row in reader:
        where = f"{name}:{previous_end + 1}"
        previous_end = reader.line_num
        if len(row) != width:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            problems.append(f"{where}: expected {width} columns as in the header, got {len(row)}")
            continue
        sku = row[i_sku].strip()
        warehouse = (row[i_warehouse].strip() if i_warehouse is not None else "") or (
            DEFAULT_WAREHOUSE
        )
        ok = True
        if not sku:
            problems.append(f"{where}: sku is required")
            ok = False
        try:
            on_hand = _count(row[i_on_hand], minimum=0, what="a whole number >= 0")
        except _Invalid as exc:
            problems.append(f"{where}: on_hand {exc}")
            ok = False
        if not ok:
            continue
        first = seen.setdefault((sku, warehouse), where)
        if first is not where:
            problems.append(
                f"{where}: duplicate sku {sku!r} in warehouse {warehouse!r} "
                f"(first on {_line_of(first)})"
            )
            continue
        rows.append((sku, warehouse, on_hand))
    return rows


# --------------------------------------------------------------------------------------------
# Messages


def _unknown_key(key: object, known: Sequence[str], prefix: str = "", what: str = "key") -> str:
    text = str(key)
    close = difflib.get_close_matches(text, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; known: {', '.join(known)}"
    return f"unknown {what} '{prefix}{text}'{hint}"


def _order_ref(obj: Mapping[str, Any]) -> str:
    raw_id = obj.get("id")
    if isinstance(raw_id, str) and raw_id.strip():
        return f"order {raw_id.strip()!r}: "
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        return f"order '{raw_id}': "
    return ""


def _show(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return json.dumps(value) if not isinstance(value, str) else repr(value)
    return _kind(value)


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    for kind, label in names.items():
        if isinstance(value, kind):
            return label
    if value is None:
        return "null"
    if isinstance(value, int | float | Decimal):
        return "a number"
    return type(value).__name__


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
