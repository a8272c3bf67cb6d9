"""Shopify's order export (Admin -> Orders -> Export, CSV) -> native dibs order mappings.

One row per line item; rows belong together by `Name`; the order's own columns are read from the
first row that fills them. The field-by-field mapping is in `engine.io.channels.shopify` and
docs/channels.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence

from engine.io.channels.common import (
    ChannelError,
    ChannelOrder,
    ChannelRead,
    Problem,
    Skipped,
    channel_name,
    finish,
)
from engine.io.channels.containers import decode_text
from engine.io.channels.shopify import DEFAULT_CHANNEL, RawItem, RawOrder, RawValue, collect
from engine.io.channels.values import Invalid, required_text
from engine.io.values import csv_problem

__all__ = ["CSV_COLUMNS", "read_shopify_csv"]

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
        collect(raw, label, orders, skipped, problems)
    return finish(orders, skipped, problems)


class _Columns:
    """Where each column of the header is (case-insensitive names, first occurrence wins)."""

    def __init__(self, header: Sequence[str]) -> None:
        self.index: dict[str, int] = {}
        for position, cell in enumerate(header):
            self.index.setdefault(cell.strip().casefold(), position)

    def value(self, row: Sequence[str], column: str) -> str | None:
        position = self.index.get(column.casefold())
        if position is None or position >= len(row):
            return None
        return row[position]


def _header(reader: Iterator[list[str]], name: str) -> _Columns:
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ChannelError(
            [Problem(f"{name}:1", None, f"is not readable CSV: {csv_problem(exc)}")]
        ) from None
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
    columns = _Columns(header)
    missing = [column for column in _REQUIRED if column.casefold() not in columns.index]
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
    return columns


def _csv_groups(text_: str, name: str, problems: list[Problem]) -> list[RawOrder]:
    # strict: a quoted cell never closed (an export cut short) is an error, not the rest of
    # the file read silently as that one cell
    reader = csv.reader(io.StringIO(text_, newline=""), strict=True)
    columns = _header(reader, name)
    groups: dict[str, RawOrder] = {}
    previous_end = reader.line_num
    previous: list[str | None] = [None]  # the Name of the row before
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:
            where = f"{name}:{previous_end + 1}"  # where the unreadable row starts
            problems.append(Problem(where, None, f"is not readable CSV: {csv_problem(exc)}"))
            break
        if row is None:
            break
        where = f"{name}:{previous_end + 1}"
        previous_end = reader.line_num
        if any(value.strip() for value in row):
            _add_row(groups, row, where, columns, problems, previous)
    for key, raw in groups.items():
        raw.values.setdefault("name", RawValue(key, "Name"))
        for field_key, column in CSV_COLUMNS.items():
            raw.values.setdefault(field_key, RawValue(None, column))
    return list(groups.values())


_AGAIN = (
    "appears twice in the file (first at {}): the same export appended twice, or two shops' "
    "orders of one name? import each shop's export on its own, with its own --channel"
)


def _starts_again(raw: RawOrder, row: Sequence[str], columns: _Columns, follows: bool) -> bool:
    """Whether a row of a name already read is the first row of another order of that name:
    it fills `Created at` (Shopify fills it on an order's first row only) after rows of other
    orders, or with another `Created at` or `Id` than the order's. Merged, its lines would be
    counted twice (the export appended twice) or two shops' orders made one."""
    created = (columns.value(row, "Created at") or "").strip()
    if not created or "created_at" not in raw.values:
        return False
    if not follows:
        return True
    known_id = raw.values.get("id")
    row_id = (columns.value(row, "Id") or "").strip()
    differs_id = bool(row_id) and known_id is not None and str(known_id.raw).strip() != row_id
    return differs_id or str(raw.values["created_at"].raw).strip() != created


def _add_row(
    groups: dict[str, RawOrder],
    row: Sequence[str],
    where: str,
    columns: _Columns,
    problems: list[Problem],
    previous: list[str | None],
) -> None:
    """One non-blank row: the order's columns it fills first, and its line item if any."""
    try:
        key = required_text(columns.value(row, "Name"))
    except Invalid as exc:
        problems.append(Problem(where, "Name", f"{exc} (the order's name, e.g. #1001)"))
        return
    follows, previous[0] = previous[0] == key, key
    raw = groups.get(key)
    if raw is None:
        raw = groups[key] = RawOrder(where)
    elif _starts_again(raw, row, columns, follows):
        problems.append(Problem(where, None, _AGAIN.format(raw.where), key))
        return
    for field_key, column in CSV_COLUMNS.items():
        value = columns.value(row, column)
        if field_key not in raw.values and value is not None and value.strip():
            if field_key == "ship.zip":
                value = value.strip().removeprefix("'")  # Shopify's guard against Excel
            raw.values[field_key] = RawValue(value, column)
    item = {key_: columns.value(row, column) for key_, column in _ITEM_COLUMNS.items()}
    if not any((item[key_] or "").strip() for key_ in ("sku", "quantity", "title")):
        return  # not a line item row
    raw.items.append(
        RawItem(
            where=where,
            sku=RawValue(item["sku"], _ITEM_COLUMNS["sku"]),
            quantity=RawValue(item["quantity"], _ITEM_COLUMNS["quantity"]),
            requires_shipping=RawValue(
                item["requires_shipping"], _ITEM_COLUMNS["requires_shipping"]
            ),
            title=item["title"],
        )
    )
