"""Reading order files in JSON: `.json` (an array of orders) and `.jsonl` / `.ndjson`.

Each object is validated by `engine.io.fields.check_order_mapping`; every problem is appended as
`<file>:<line>: <message>` for `engine.io.imports.read_orders`, which refuses the whole file.

- `.json`: an array of order objects; problems name the line where the object starts.
- `.jsonl` / `.ndjson`: one order object per line; blank lines are ignored.
- Numbers are decoded as `Decimal` straight from the text (see `_DECODER`); numbers with a
  fraction in `attributes` become `float` attributes (`engine.fields`).
- The same `id` twice is a problem on the second, naming the line of the first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TextIO

from engine.errors import quoted
from engine.io.fields import Invalid, check_order_mapping, order_id_of
from engine.io.messages import line_of
from engine.model import Order

# The JSON module's own notion of whitespace between tokens.
_JSON_WS = re.compile(r"[ \t\n\r]*")
# Totals are parsed as Decimal straight from the JSON text, so 19.99 never passes through a
# binary float. NaN/Infinity still arrive as floats and are rejected by the validators.
_DECODER = json.JSONDecoder(parse_float=Decimal)


def read_json_array(
    handle: TextIO,
    name: str,
    now: datetime,
    problems: list[str],
    places: dict[str, str] | None = None,
) -> list[Order]:
    """The valid orders of a `.json` array; every problem is appended to `problems`."""
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
        except (RecursionError, ValueError) as exc:
            at, col = _line_col(text, pos)
            problems.append(f"{name}:{at}:{col}: invalid JSON: {_too_much(exc)}")
            return []
        # Count newlines incrementally: one pass over the text in total, not one per element.
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        where = f"{name}:{line}"
        _note_id(obj, where, seen, problems)
        order = check_order_mapping(obj, where, now, problems)
        if order is not None:
            orders.append(order)
            if places is not None:
                places[order.id] = where
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


def read_jsonl(
    handle: TextIO,
    name: str,
    now: datetime,
    problems: list[str],
    places: dict[str, str] | None = None,
) -> list[Order]:
    """The valid orders of a JSON Lines file; every problem is appended to `problems`."""
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
        except (RecursionError, ValueError) as exc:
            problems.append(f"{where}:1: invalid JSON: {_too_much(exc)}")
            continue
        _note_id(obj, where, seen, problems)
        order = check_order_mapping(obj, where, now, problems)
        if order is not None:
            orders.append(order)
            if places is not None:
                places[order.id] = where
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
        order_id = order_id_of(obj.get("id"))
    except Invalid:
        return  # reported by the order's own validation
    first = seen.setdefault(order_id, where)
    if first is not where:
        problems.append(
            f"{where}: duplicate order id {quoted(order_id)} (first on {line_of(first)})"
        )


def _too_much(exc: Exception) -> str:
    """What the decoder refused beyond the syntax: nesting too deep, an integer too long."""
    if isinstance(exc, RecursionError):
        return "nested too deeply (an order is a few levels deep)"
    if "digits" in str(exc):
        return "a number with more than 4,300 digits"
    return str(exc)[:200]


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1
