"""Inventory CSV (`sku,on_hand[,warehouse]`): every problem with its file:line, refused whole."""

from __future__ import annotations

from typing import TextIO

from engine.errors import quoted
from engine.io.fields import Invalid, count, csv_rows, sku_of, warehouse_of
from engine.io.messages import line_of, separator_problem, unknown_column
from engine.model import DEFAULT_WAREHOUSE

_INVENTORY_COLUMNS = ("sku", "on_hand", "warehouse")


def read_inventory_csv(
    handle: TextIO, name: str, problems: list[str], places: dict[str, str] | None = None
) -> list[tuple[str, str, int]]:
    """`(sku, warehouse, on_hand)` rows of an inventory CSV; problems go to `problems`, and
    each SKU's first `file:line` to `places` when given."""
    reader, lines = csv_rows(handle, name, problems)
    header = next(lines, None)
    if header is None:
        if problems:
            return []
        problems.append(f"{name}:1: empty file, expected a header: sku,on_hand[,warehouse]")
        return []
    index = _header_index(header, name, problems)
    if problems:
        return []
    i_sku, i_on_hand, i_warehouse = index["sku"], index["on_hand"], index.get("warehouse")

    width = len(header)
    rows: list[tuple[str, str, int]] = []
    seen: dict[tuple[str, str], str] = {}
    previous_end = reader.line_num
    for row in lines:
        where = f"{name}:{previous_end + 1}"
        previous_end = reader.line_num
        if len(row) != width:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            problems.append(f"{where}: expected {width} columns as in the header, got {len(row)}")
            continue
        parsed = _stock_row(row, where, (i_sku, i_on_hand, i_warehouse), problems)
        if parsed is None:
            continue
        sku, warehouse, _ = parsed
        first = seen.setdefault((sku, warehouse), where)
        if first is not where:
            problems.append(
                f"{where}: duplicate sku {quoted(sku)} in warehouse {quoted(warehouse)} "
                f"(first on {line_of(first)})"
            )
            continue
        rows.append(parsed)
        if places is not None:
            places.setdefault(sku, where)
    return rows


def _stock_row(
    row: list[str], where: str, columns: tuple[int, int, int | None], problems: list[str]
) -> tuple[str, str, int] | None:
    """One row's `(sku, warehouse, on_hand)`, or None with its problems in `problems`."""
    i_sku, i_on_hand, i_warehouse = columns
    try:
        sku = sku_of(row[i_sku]) or ""
    except Invalid as exc:
        problems.append(f"{where}: sku {exc}")
        return None
    try:
        named = warehouse_of(row[i_warehouse]) if i_warehouse is not None else None
    except Invalid as exc:
        problems.append(f"{where}: warehouse {exc}")
        return None
    ok = True
    if not sku:
        problems.append(f"{where}: sku is required")
        ok = False
    try:
        on_hand = count(row[i_on_hand], minimum=0, what="a whole number >= 0")
    except Invalid as exc:
        problems.append(f"{where}: on_hand {exc}")
        ok = False
    return (sku, named or DEFAULT_WAREHOUSE, on_hand) if ok else None


def _header_index(header: list[str], name: str, problems: list[str]) -> dict[str, int]:
    """Column name -> position; unknown, repeated and missing columns go to `problems`."""
    index: dict[str, int] = {}
    separator = separator_problem(",".join(header)) if len(header) == 1 else None
    if separator:
        problems.append(f"{name}:1: the header {separator}")
        return index
    for i, cell in enumerate(header):
        column = cell.strip().lower()
        if column not in _INVENTORY_COLUMNS:
            problems.append(f"{name}:1: {unknown_column(cell, i, _INVENTORY_COLUMNS)}")
        elif column in index:
            problems.append(f"{name}:1: column {quoted(column)} appears twice")
        else:
            index[column] = i
    missing = [c for c in ("sku", "on_hand") if c not in index]
    if missing:
        problems.append(
            f"{name}:1: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the header needs sku,on_hand[,warehouse])"
        )
    return index
