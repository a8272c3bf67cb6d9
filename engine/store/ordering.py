"""`--order-by` keys: parsing them against the field table, and their SQL ORDER BY."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement

from engine.errors import BadInput, quoted
from engine.store.schema import FIELD_COLUMNS, orders

#: More sort keys than any real ordering needs; thousands made the database refuse the query.
MAX_KEYS = 32


def parse_order_by(text: str) -> list[tuple[str, bool]]:
    """`"total desc, placed_at"` -> [("total", True), ("placed_at", False)]; bad keys exit 2."""
    keys: list[tuple[str, bool]] = []
    parts = text.split(",")
    if len(parts) > MAX_KEYS:
        raise BadInput(f"--order-by: {len(parts):,} keys; at most {MAX_KEYS} are allowed")
    for part in parts:
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise BadInput(
                f"--order-by: cannot read {quoted(part.strip())}; use 'field [asc|desc]'"
            )
        name = words[0]
        if name.startswith("attributes.") and len(name) > len("attributes."):
            pass  # sorted in Python (engine.service), like a rule's `order by`
        elif name not in FIELD_COLUMNS and name != "age":
            close = difflib.get_close_matches(name, [*FIELD_COLUMNS, "age"], n=1)
            hint = f" (did you mean {quoted(close[0])}?)" if close else " (or attributes.<key>)"
            raise BadInput(f"--order-by: unknown field {quoted(name)}{hint}")
        keys.append((name, len(words) == 2 and words[1] == "desc"))
    return keys


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
