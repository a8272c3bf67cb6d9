"""Reading orders CSV files: one row per order *line*.

Required columns `id,channel,placed_at,sku,qty`; optional
`ship_to_name,country,state,city,postal_code,shipping_method,total,tags,warehouse` (also spelled
`ship_to.<part>` / `ship_to_<part>`), and `attr.<key>` or `attributes.<key>` for attributes.
Rows sharing an `id` form one order. Line 1 is the header (inventory: `import_inventory`).

Every problem is appended as `<file>:<line>: <message>` (the physical line a row starts on) for
`engine.imports`, which refuses the whole file. Cells are validated by `engine.fields`.

Decisions (also in tests/unit/engine/test_imports.py):

- Order-level cells may be left blank on an order's continuation rows (as shop exports do);
  a non-blank cell must mean what the order's other non-blank cells for that column mean:
  `vip,rush` and `rush;vip`, `123.00` and `123`, `gb` and `GB`, `…Z` and `…+00:00` agree.
- `tags` are separated by `,`, `;` or `|` (all accepted, so none can appear inside a tag; a
  comma-separated list is how shop exports and spreadsheets write one), each trimmed.
- Attribute values stay strings (no type guessing: "00123" must not become 123); use JSON
  for typed attributes.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TextIO

from engine.errors import quoted
from engine.io.fields import (
    NO_ADDRESS,
    NO_TAGS,
    SHIP_TO_KEYS,
    Invalid,
    bounded,
    country,
    csv_rows,
    money,
    order_id_of,
    qty,
    sku_of,
    storable,
    timestamp_text,
)
from engine.io.messages import separator_problem, unknown_column
from engine.model import DEFAULT_WAREHOUSE, MAX_QTY, Length, Line, Order, ShipTo

_TAG_SPLIT = re.compile(r"[,;|]")
_SKU_LENGTH = Length.SKU


# --------------------------------------------------------------------------------------------
# Orders CSV

# Accepted spellings of the ship_to columns: the short names, and the rule-language names.
_SHIP_TO_COLUMNS = {
    **{part: part for part in ("country", "state", "city", "postal_code")},
    **{f"ship_to_{part}": part for part in SHIP_TO_KEYS},
    **{f"ship_to.{part}": part for part in SHIP_TO_KEYS},
}
_ORDER_LEVEL_COLUMNS = ("channel", "placed_at", "shipping_method", "total", "tags", "warehouse")
REQUIRED_COLUMNS = ("id", "channel", "placed_at", "sku", "qty")
_KNOWN_COLUMNS = (
    *REQUIRED_COLUMNS,
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
    return frozenset(
        bounded(storable(tag), Length.TAG)
        for part in _TAG_SPLIT.split(text)
        if (tag := part.strip())
    )


# How an order-level column's (stripped, non-blank) text becomes a value; others stay text.
def _bounded_text(limit: int) -> Callable[[str], object]:
    def convert(text: str) -> str:
        return bounded(storable(text), limit)

    return convert


_COLUMN_CONVERTERS: dict[str, Callable[[str], object]] = {
    "placed_at": timestamp_text,
    "total": money,
    "tags": _split_tags,
    "country": country,
    "channel": _bounded_text(Length.CHANNEL),
    "shipping_method": _bounded_text(Length.SHIPPING_METHOD),
    "warehouse": _bounded_text(Length.WAREHOUSE),
    "ship_to_name": _bounded_text(Length.SHIP_TO_NAME),
    "state": _bounded_text(Length.STATE),
    "city": _bounded_text(Length.CITY),
    "postal_code": _bounded_text(Length.POSTAL_CODE),
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


def iter_orders_csv(
    handle: TextIO, name: str, now: datetime, problems: list[str]
) -> Iterator[tuple[Order, str]]:
    """Each valid order of an orders CSV with the `file:line` of its first row; every problem
    is appended to `problems`. Rows of one id may stand anywhere, so the rows are grouped
    first (as compact cells) and the orders built one by one as they are taken."""
    groups = _grouped_rows(handle, name, problems)
    if groups is None:
        return
    layout, rows = groups
    for order_id, group in rows.items():
        order = _csv_order(order_id, group, layout.columns, name, now, problems)
        if order is not None:
            yield order, f"{name}:{group.first}"


def _grouped_rows(
    handle: TextIO, name: str, problems: list[str]
) -> tuple[_CsvLayout, dict[str, _CsvOrder]] | None:
    reader, lines = csv_rows(handle, name, problems)
    header = next(lines, None)
    layout = _orders_layout(header, f"{name}:1", problems) if header is not None else None
    if header is None and not problems:
        problems.append(f"{name}:1: empty file, expected a header: {','.join(REQUIRED_COLUMNS)}")
    if header is None or layout is None:
        return None
    i_sku, i_qty, pick = layout.i_sku, layout.i_qty, layout.pick
    width = len(header)
    groups: dict[str, _CsvOrder] = {}
    previous_end = reader.line_num
    # The hot loop: plain local names and string methods only, since a benchmark file has
    # hundreds of thousands of rows.
    for row in lines:
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
        if sku and len(sku) <= _SKU_LENGTH and qty_text.isdigit() and group.lines is not None:
            qty = int(qty_text) if qty_text.isascii() and len(qty_text) < 12 else 0
            if 0 < qty <= MAX_QTY and "\x00" not in sku:
                group.lines.append(Line(sku, qty))
                continue
        if _line_problems(sku, qty_text, f"{name}:{line}: order {quoted(order_id)}: ", problems):
            group.lines = None
    return layout, groups


def _line_problems(sku: str, qty_text: str, prefix: str, problems: list[str]) -> bool:
    """Report what is wrong with one CSV line; False when nothing is (a valid later line)."""
    start = len(problems)
    if not sku:
        problems.append(f"{prefix}sku is required")
    try:
        sku_of(sku)
    except Invalid as exc:
        problems.append(f"{prefix}sku {exc}")
    try:
        qty(qty_text)
    except Invalid as exc:
        problems.append(f"{prefix}qty {exc}")
    return len(problems) > start


def _orders_layout(header: list[str], where: str, problems: list[str]) -> _CsvLayout | None:
    start = len(problems)
    separator = separator_problem(",".join(header)) if len(header) == 1 else None
    if separator:  # `--format dibs` skips detection, which says this for a plain import
        problems.append(f"{where}: the header {separator}")
        return None
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
                problems.append(f"{where}: column {quoted(raw_name)} names no attribute")
            elif key in attribute_columns:
                problems.append(
                    f"{where}: attribute {quoted(key)} appears twice "
                    f"(columns {quoted(attribute_columns[key])} and {quoted(raw_name)})"
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
            problems.append(f"{where}: {unknown_column(raw_name, i, known)}")
            continue
        if canonical in index:
            problems.append(f"{where}: column {quoted(canonical)} appears twice")
            continue
        index[canonical] = i
        convert = _COLUMN_CONVERTERS.get(canonical)
        if part is not None:
            positions.append(i)
            columns.append(_Column(canonical, _SHIP_TO, part, convert))
        elif canonical in _ORDER_LEVEL_COLUMNS:
            positions.append(i)
            columns.append(_Column(canonical, _TOP, canonical, convert))
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        problems.append(
            f"{where}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the header needs {','.join(REQUIRED_COLUMNS)})"
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
            header, convert = columns[pos].header, columns[pos].convert
            prefix = f"{where}: order {quoted(order_id)}: {header}"
            try:
                if _same_meaning(convert, known[0], value):
                    continue
            except Invalid as exc:  # this row's cell is wrong in itself: say how
                problems.append(f"{prefix} {exc}")
                continue
            problems.append(
                f"{prefix} {quoted(value)} differs from {quoted(known[0])} on line {known[1]} "
                "(every row of an order must agree)"
            )


def _same_meaning(convert: Callable[[str], object] | None, known: str, value: str) -> bool:
    """Whether two texts of a column give the same value (`vip,rush` and `rush;vip` name the
    same tags; `123.00` and `123` the same total). `Invalid` when `value` is not a value; an
    invalid `known` is reported where the order is built, so it is taken as no disagreement."""
    if convert is None:  # attribute cells stay text: only the same text is the same value
        return False
    try:
        meaning = convert(known)
    except Invalid:
        convert(value)  # a bad `value` is reported, too
        return True
    return convert(value) == meaning


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
    try:
        order_id_of(order_id)
    except Invalid as exc:
        problems.append(f"{name}:{first}: id {exc}")
        return None
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
            targets[target][key] = storable(text)  # attributes stay text
            continue
        try:
            targets[target][key] = convert(text)
        except Invalid as exc:
            line = first if from_line is None else from_line[pos]
            problems.append(f"{name}:{line}: order {quoted(order_id)}: {header} {exc}")
            ok = False
    if "channel" not in top:
        problems.append(f"{name}:{first}: order {quoted(order_id)}: channel is required")
        return None
    if not ok or group.lines is None:
        return None
    return Order(
        id=order_id,
        channel=top["channel"],
        placed_at=top.get("placed_at", now),
        lines=tuple(group.lines),
        ship_to=ShipTo(**ship_to) if ship_to else NO_ADDRESS,
        shipping_method=top.get("shipping_method"),
        total=top.get("total"),
        tags=top.get("tags", NO_TAGS),
        warehouse=top.get("warehouse", DEFAULT_WAREHOUSE),
        attributes=attributes,
    )
