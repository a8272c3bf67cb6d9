"""Reading order files in JSON: `.json` (an array of orders) and `.jsonl` / `.ndjson`.

The readers are generators (`iter_json_array`, `iter_jsonl`) yielding each valid order with its
`file:line` as it is read, so an import can write chunk by chunk without holding the file's
orders. Each object goes through the quick path (`engine.io.quick`), else the full validator
`engine.io.fields.check_order_mapping`; every problem is appended as `<file>:<line>: <message>`
for `engine.io.imports`, which refuses the whole file.

- `.json`: an array of order objects; problems name the line where the object starts.
- `.jsonl` / `.ndjson`: one order object per line; blank lines are ignored.
- Numbers are decoded as `Decimal` straight from the text (see `_DECODER`); numbers with a
  fraction in `attributes` become `float` attributes (`engine.fields`).
- The same `id` twice is a problem on the second, naming the line of the first.

JSON Lines are first read by the fast path (`engine.io.wire.quick_line`: msgspec decodes the
line straight into typed structs, the quick path's checks follow). A line it does not take
(any syntax error, `NaN`, a lone surrogate escape, a float, an unknown key, a value the quick
path leaves to the full validator) is decoded again by the json module and goes the way it
always went, so every message and every decision is the json module's and the validators'
(tests/unit/io/test_jsonl_fast.py compares both readers on varied and hostile lines).
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
from engine.io.messages import json_reason
from engine.io.quick import quick_order
from engine.model import Order

# The JSON module's own notion of whitespace between tokens.
_JSON_WS = re.compile(r"[ \t\n\r]*")
# Totals are parsed as Decimal straight from the JSON text, so 19.99 never passes through a
# binary float. NaN/Infinity still arrive as floats and are rejected by the validators.
_DECODER = json.JSONDecoder(parse_float=Decimal)


def iter_json_array(
    handle: TextIO, name: str, now: datetime, problems: list[str]
) -> Iterator[tuple[Order, str]]:
    """Each valid order of a `.json` array with where it starts (`file:line`), as it is read;
    every problem is appended to `problems` (the caller refuses the file if there is any)."""
    text = handle.read()
    pos = _JSON_WS.match(text, 0).end()  # type: ignore[union-attr]  # [ \t\n\r]* always matches
    if pos == len(text):
        problems.append(f"{name}:1: empty file, expected a JSON array of orders")
        return
    if text[pos] != "[":
        hint = ""
        if text[pos] == "{":
            hint = " (for one order object per line, name the file .jsonl)"
        line, col = _line_col(text, pos)
        problems.append(f"{name}:{line}:{col}: expected a JSON array of orders{hint}")
        return
    seen: dict[str, int] = {}
    line, counted_to = 1, 0
    pos = _JSON_WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        _after_array(text, pos + 1, name, problems)
        return
    while True:
        try:
            obj, end = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            reason = json_reason(exc.msg)
            problems.append(f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {reason}")
            return
        except (RecursionError, ValueError) as exc:
            at, col = _line_col(text, pos)
            problems.append(f"{name}:{at}:{col}: invalid JSON: {_too_much(exc)}")
            return
        # Count newlines incrementally: one pass over the text in total, not one per element.
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        where = f"{name}:{line}"
        order = _checked(obj, where, line, now, seen, problems)
        if order is not None:
            yield order, where
        pos = _JSON_WS.match(text, end).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _JSON_WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            continue
        if text.startswith("]", pos):
            _after_array(text, pos + 1, name, problems)
            return
        line_no, col = _line_col(text, pos)
        found = "end of file" if pos >= len(text) else repr(text[pos])
        problems.append(f"{name}:{line_no}:{col}: invalid JSON: expected ',' or ']', got {found}")
        return


def _after_array(text: str, pos: int, name: str, problems: list[str]) -> None:
    pos = _JSON_WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos < len(text):
        line, col = _line_col(text, pos)
        problems.append(f"{name}:{line}:{col}: invalid JSON: unexpected data after the array")


def iter_jsonl(
    handle: TextIO, name: str, now: datetime, problems: list[str]
) -> Iterator[tuple[Order, str]]:
    """Each valid order of a JSON Lines file with its `file:line`, one line at a time; every
    problem is appended to `problems` (the caller refuses the file if there is any)."""
    seen: dict[str, int] = {}
    from engine.io.wire import quick_line as fast  # msgspec: 20 ms to import, JSONL only

    decode = _DECODER.decode
    # A JSON text cannot hold a raw newline inside a string, so physical lines are exact.
    # The handle was opened with newline="" so "\r\n" survives.
    for number, raw in enumerate(handle, 1):
        order = fast(raw, now)
        if order is not None:
            where = f"{name}:{number}"
            first = seen.setdefault(order.id, number)  # `_seen` in one dict operation
            if first != number:
                problems.append(f"{where}: {_duplicate(order.id, first)}")
            yield order, where
            continue
        raw = raw.rstrip("\r\n")  # so an error at the end of a line names its last column
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            obj = decode(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}:{exc.colno}: invalid JSON: {json_reason(exc.msg)}")
            continue
        except (RecursionError, ValueError) as exc:
            problems.append(f"{where}:1: invalid JSON: {_too_much(exc)}")
            continue
        order = _checked(obj, where, number, now, seen, problems)
        if order is not None:
            yield order, where


def _checked(
    obj: object, where: str, line: int, now: datetime, seen: dict[str, int], problems: list[str]
) -> Order | None:
    """The order of one decoded object (None with its problems added); a repeated id is a
    problem on the second, naming the line of the first, even when the copy is invalid."""
    order = quick_order(obj, now)
    if order is not None:
        _seen(order.id, line, where, seen, problems)
        return order
    _note_id(obj, line, where, seen, problems)
    return check_order_mapping(obj, where, now, problems)


def _note_id(obj: object, line: int, where: str, seen: dict[str, int], problems: list[str]) -> None:
    """Flag a repeated id, even on an otherwise invalid order: both need fixing."""
    if not isinstance(obj, Mapping):
        return
    try:
        order_id = order_id_of(obj.get("id"))
    except Invalid:
        return  # reported by the order's own validation
    _seen(order_id, line, where, seen, problems)


def _seen(order_id: str, line: int, where: str, seen: dict[str, int], problems: list[str]) -> None:
    # Line numbers, not `where` strings, are kept: a million ids stay a small dict.
    first = seen.get(order_id)
    if first is None:
        seen[order_id] = line
    else:
        problems.append(f"{where}: {_duplicate(order_id, first)}")


def _duplicate(order_id: str, first: int) -> str:
    return f"duplicate order id {quoted(order_id)} (first on line {first})"


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
