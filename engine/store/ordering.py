"""`--order-by` keys: parsing them against the field table, and their SQL ORDER BY."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Integer,
    Numeric,
    and_,
    false,
    literal,
    or_,
    tuple_,
)

from engine.errors import BadInput, quoted
from engine.model import MAX_TOTAL
from engine.store.schema import FIELD_COLUMNS, Money, orders

#: More sort keys than any real ordering needs; thousands made the database refuse the query.
MAX_KEYS = 32


def parse_order_by(text: str, label: str = "--order-by") -> list[tuple[str, bool]]:
    """`"total desc, placed_at"` -> [("total", True), ("placed_at", False)]; bad keys exit 2.

    `label` names the input in messages (`--order-by`, or the HTTP API's `order_by`)."""
    keys: list[tuple[str, bool]] = []
    parts = text.split(",")
    if len(parts) > MAX_KEYS:
        raise BadInput(f"{label}: {len(parts):,} keys; at most {MAX_KEYS} are allowed", field=label)
    for part in parts:
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise BadInput(
                f"{label}: cannot read {quoted(part.strip())}; {_direction_hint(words)}",
                field=label,
            )
        name = words[0]
        if name.startswith("attributes.") and len(name) > len("attributes."):
            pass  # sorted in Python (engine.service), like a rule's `order by`
        elif _is_a_set(name):  # a known field: "unknown field 'tags' (did you mean 'status'?)"
            raise BadInput(
                f"{label}: cannot order by {quoted(name)}: it is a set of strings; order by a "
                "single value such as placed_at, total or line_count",
                field=label,
            )
        elif name not in FIELD_COLUMNS and name != "age":
            close = difflib.get_close_matches(name, [*FIELD_COLUMNS, "age"], n=1)
            hint = f" (did you mean {quoted(close[0])}?)" if close else " (or attributes.<key>)"
            raise BadInput(f"{label}: unknown field {quoted(name)}{hint}", field=label)
        keys.append((name, len(words) == 2 and words[1] == "desc"))
    return keys


def _is_a_set(name: str) -> bool:
    from dsl.types import FieldType
    from rules.vocabulary import ORDER_FIELDS

    spec = ORDER_FIELDS.get(name)
    return spec is not None and spec.type is FieldType.STRING_SET


def _direction_hint(words: list[str]) -> str:
    """`total dsc` / `total DESC` / `placed_at ascending`: the direction meant, else the form."""
    if len(words) == 2:
        close = difflib.get_close_matches(words[1].lower(), ["asc", "desc"], n=1, cutoff=0.65)
        if words[1].lower().startswith(("asc", "desc")) or close:
            meant = "desc" if words[1].lower().startswith("desc") else (close or ["asc"])[0]
            return f"did you mean {quoted(f'{words[0]} {meant}')}?"
    return "use 'field [asc|desc]'"


def order_by_clauses(keys: Sequence[tuple[str, bool]]) -> list[ColumnElement[Any]]:
    """SQL ORDER BY for order-by keys, missing values last, then id (FIFO's tie-break).

    Attribute keys have no column: callers sort those in Python (`needs_python_sort`)."""
    clauses: list[ColumnElement[Any]] = []
    for name, desc in keys or [("placed_at", False)]:
        if name == "age":  # older first means larger age: age asc is placed_at desc
            column, desc = orders.c.placed_at, not desc
        else:
            column = FIELD_COLUMNS[name]
        clauses.append((column.desc() if desc else column.asc()).nulls_last())
    clauses.append(orders.c.id.asc())
    return clauses


def needs_python_sort(keys: Sequence[tuple[str, bool]]) -> bool:
    """True when a key is `attributes.<key>`: untyped JSON values sort like a rule's `order by`
    (numbers, then text, then booleans), which SQL cannot express portably."""
    return any(name.startswith("attributes.") for name, _ in keys)


# ---- keyset pagination (the HTTP API's cursors) ------------------------------------------------

SortColumn = tuple[Column[Any], bool]  # (column, descending)


def sort_columns(keys: Sequence[tuple[str, bool]]) -> list[SortColumn]:
    """The columns `order_by_clauses` sorts by, ending with `id` (unique, so every row has one
    place): what a keyset cursor records of the last row it returned."""
    if needs_python_sort(keys):
        raise BadInput(
            "order_by: attributes.<key> cannot page through a listing (it sorts in Python); "
            "use a column field",
            field="order_by",
        )
    out: list[SortColumn] = []
    for name, desc in keys or [("placed_at", False)]:
        if name == "age":
            out.append((orders.c.placed_at, not desc))
        else:
            out.append((FIELD_COLUMNS[name], desc))
        if name == "id":
            return out  # ids are unique: nothing after it can break a tie
    out.append((orders.c.id, False))
    return out


def sort_clauses(columns: Sequence[SortColumn]) -> list[ColumnElement[Any]]:
    """ORDER BY for keyset pages: missing values last. A required column gets no NULLS LAST:
    there is nothing to place, and SQLite cannot walk an index for `ASC NULLS LAST` (it sorts
    every row instead), so the default `placed_at, id` page would not use its index."""
    out: list[ColumnElement[Any]] = []
    for column, desc in columns:
        clause = column.desc() if desc else column.asc()
        out.append(clause.nulls_last() if column.nullable else clause)
    return out


def keyset_after(columns: Sequence[SortColumn], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after the row whose sort values are `values`, in `sort_clauses` order.

    Missing values sort last, so nothing but another missing value follows one. When every
    column is required and sorted one way (the default `placed_at, id`), one row-value
    comparison says it, which the `(placed_at, id)` index answers directly.
    """
    directions = {desc for _, desc in columns}
    typed = [literal(v, type_=c.type) for (c, _), v in zip(columns, values, strict=True)]
    if len(directions) == 1 and all(not c.nullable for c, _ in columns):
        left = tuple_(*(c for c, _ in columns))
        right = tuple_(*typed)
        return left < right if directions == {True} else left > right
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for (column, desc), value, bound in zip(columns, values, typed, strict=True):
        if value is not None:
            after = column < bound if desc else column > bound
            if column.nullable:
                after = or_(after, column.is_(None))
            alternatives.append(and_(*equal, after))
        equal.append(column.is_(None) if value is None else column == bound)
    return or_(false(), *alternatives)


def sort_values_to_json(values: Sequence[Any]) -> list[Any]:
    """A row's sort values as JSON scalars (a cursor's payload)."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            out.append(aware.astimezone(UTC).isoformat())
        elif isinstance(value, Decimal):
            out.append(str(value))
        else:
            out.append(value)
    return out


def _amount(name: str, value: Any) -> Decimal:
    """A cursor's amount: a finite number in the column's range (`Money` is a TypeDecorator,
    not `Numeric`: an edited cursor's `"abc"` or `"NaN"` reached the database as a 503)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{name} must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} must be a number") from None
    if not amount.is_finite() or abs(amount) >= MAX_TOTAL:
        raise ValueError(f"{name} must be a finite amount")
    return amount


def sort_values_from_json(columns: Sequence[SortColumn], raw: Sequence[Any]) -> list[Any]:
    """The inverse of `sort_values_to_json`; ValueError when `raw` does not fit the columns."""
    if len(raw) != len(columns):
        raise ValueError("wrong number of sort values")
    out: list[Any] = []
    for (column, _), value in zip(columns, raw, strict=True):
        if value is None:
            if not column.nullable:
                raise ValueError(f"{column.name} cannot be missing")
            out.append(None)
        elif isinstance(column.type, DateTime):
            out.append(datetime.fromisoformat(str(value)))
        elif isinstance(column.type, Numeric | Money):
            out.append(_amount(column.name, value))
        elif isinstance(column.type, Integer):
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
                raise ValueError(f"{column.name} must be an integer")
            out.append(value)
        else:
            if not isinstance(value, str):
                raise ValueError(f"{column.name} must be text")
            out.append(value)
    return out
