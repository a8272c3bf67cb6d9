"""Decoding channel files and finding the order objects in their JSON containers.

Accepted containers (both JSON formats): one object, an array, `{"order": {...}}`,
`{"orders": [...]}`, or JSON Lines of those. Numbers with a fraction decode as `Decimal`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from engine.io.channels.common import ChannelError, Problem
from engine.io.channels.values import Invalid, kind
from engine.io.messages import json_reason

#: Integers longer than this are decoded as Decimal instead of int: Python refuses to convert
#: more than 4300 digits, and no real field needs more than 20.
_MAX_INT_DIGITS = 40


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
    """A JSON text does not parse; `line` and `column` (1-based) say where, when known.
    `first_text_end` is where a complete first JSON text ended when more followed it."""

    def __init__(
        self, message: str, line: int = 1, column: int = 1, first_text_end: int | None = None
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.first_text_end = first_text_end


def json_value(text: str) -> object:
    """One JSON text, or `BadJson` saying why not (never RecursionError or ValueError)."""
    try:
        return JSON_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        # "Extra data": a whole JSON text, then more (`exc.pos`); maybe JSON Lines.
        end = exc.pos if exc.msg == "Extra data" else None
        reason = json_reason(exc.msg)
        raise BadJson(f"is not valid JSON: {reason}", exc.lineno, exc.colno, end) from None
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
        # Not one JSON text: JSON Lines, if the first text is one line (a JSON string cannot
        # span lines). A first text over many lines (pretty-printed) with more after it is one
        # document with junk at its end: read line by line, each of its lines was a problem.
        end = whole.first_text_end
        if end is None or "\n" in text[:end].strip():
            problems.append(Problem(f"{name}:{whole.line}:{whole.column}", None, str(whole)))
            return
        yield from _json_lines(text, name, problems)
        return
    yield from _unwrap(value, name, problems)


def _json_lines(text: str, name: str, problems: list[Problem]) -> Iterator[Located]:
    # Lines end at "\n" ("\r\n" too) only: `str.splitlines` also breaks at U+2028, U+2029 and
    # U+0085, which a JSON string may hold as they are.
    for number, raw in enumerate(text.split("\n"), 1):
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
