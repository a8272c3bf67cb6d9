"""How the readers word their problems: values shown short, did-you-mean hints."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from engine.errors import QUOTE_LIMIT, quoted


def json_reason(msg: str) -> str:
    """A JSON decoder's message, whole: Python's leaves some hanging on the position it expects
    its caller to add ("Unterminated string starting at", "Invalid control character at");
    dibs puts LINE:COLUMN in front, so the column is "here"."""
    return msg[: -len(" at")] + " here" if msg.endswith(" at") else msg


def unknown_key(key: object, known: Sequence[str], prefix: str = "", what: str = "key") -> str:
    """'unknown key ...' with the closest known name as a hint, or the list of known ones."""
    text = str(key)
    if len(text) > QUOTE_LIMIT:
        text = quoted(text)[1:-1] if len(quoted(text)) <= QUOTE_LIMIT else quoted(text)
    close = difflib.get_close_matches(text, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; known: {', '.join(known)}"
    return f"unknown {what} '{prefix}{text}'{hint}"


def unknown_column(cell: str, position: int, known: Sequence[str]) -> str:
    """An unknown header cell, as `unknown_key` words it; an empty one (a trailing comma, a
    column a spreadsheet kept) by its position: "unknown column ''" named nothing to find."""
    if not cell.strip():
        return (
            f"column {position + 1} of the header has no name (a trailing comma, or an empty "
            "column the spreadsheet kept?): name it or delete it"
        )
    name = cell.strip()
    # Header cells match without regard to case, so the hint does too (`On Hand` -> on_hand).
    folded = "_".join(name.lower().replace("-", " ").split())
    close = difflib.get_close_matches(folded, known, n=1, cutoff=0.6)
    if close and len(name) <= QUOTE_LIMIT:
        return f"unknown column {quoted(name)}; did you mean '{close[0]}'?"
    return unknown_key(name, known, what="column")


def order_ref(obj: Mapping[str, Any]) -> str:
    raw_id = obj.get("id")
    if isinstance(raw_id, str) and raw_id.strip():
        return f"order {quoted(raw_id.strip())}: "
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        return f"order '{raw_id}': "
    return ""


def show(value: object) -> str:
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return _sized(value < 0, value.bit_length() * 3 // 10)
    if isinstance(value, str | int | float | bool) or value is None:
        return json.dumps(value) if not isinstance(value, str) else quoted(value)
    return kind_of(value)


def _decimal(value: Decimal) -> str:
    """A number as JSON would write it: `1e400`, not Decimal's `1E+400`; a very long one by
    its size."""
    text = str(value)
    if len(text) > QUOTE_LIMIT and value.is_finite():
        return _sized(value < 0, len(value.as_tuple().digits))
    return text.replace("E+", "e").replace("E", "e")


def _sized(negative: bool, digits: int) -> str:
    return f"a {'negative ' if negative else ''}number of about {digits} digits"


def kind_of(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    for kind, label in names.items():
        if isinstance(value, kind):
            return label
    if value is None:
        return "null"
    if isinstance(value, int | float | Decimal):
        return "a number"
    return type(value).__name__


def line_of(where: str) -> str:
    """ "line 12" from "<file>:12", for pointing at an earlier row of the same file."""
    # `where` is "<file>:<line>"; the file is already named at the start of the message.
    return f"line {where.rpartition(':')[2]}"


def separator_problem(header_line: str) -> str | None:
    """What to say of a header split by `;` or tabs instead of commas (a spreadsheet's CSV in a
    locale whose decimal separator is the comma), or None for any other header."""
    if "," in header_line:
        return None
    separator = "';'" if ";" in header_line else "tabs" if "\t" in header_line else None
    if separator is None:
        return None
    return (
        f"separates its columns with {separator}: dibs reads comma-separated CSV (in a "
        "spreadsheet, save as CSV UTF-8, comma-delimited)"
    )
