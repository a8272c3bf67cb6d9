"""Value checks every channel adapter shares: value -> clean value, or `Invalid`.

Standard library only, on purpose: the adapters must keep working whatever happens to the rest
of `engine`. The checks mirror the native order validator (`engine/io/fields.py`: strings
stripped, two-letter countries, money >= 0 with at most 4 decimal places, quantities
1..2**31-1, aware timestamps) so that every mapping an adapter returns is one the native
importer accepts; they differ only in naming the *channel's* field (`line_items[2].quantity`,
`Lineitem quantity`) in messages, which is what a merchant can find in their export.

Strings additionally refuse lone surrogates and NUL characters: JSON can carry both, and
neither can be stored in a UTF-8 / PostgreSQL text column.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

#: Largest line quantity: what a 32-bit database INTEGER holds (as the native reader).
MAX_QTY = 2**31 - 1
_MONEY_STEP = Decimal("0.0001")


class Invalid(Exception):
    """One value is wrong; the message completes "<field> ..."."""


# --------------------------------------------------------------------------------------------
# Value checks: value -> clean value, or raise Invalid("<rest of the sentence>")


def text(value: object) -> str | None:
    """A string, stripped; None when absent or blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {show(value)}")
    cleaned = value.strip()
    if "\x00" in cleaned:
        raise Invalid("must not contain a NUL character")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("contains an invalid character (a lone UTF-16 surrogate)") from None
    return cleaned or None


def required_text(value: object) -> str:
    """A non-blank string."""
    cleaned = text(value)
    if cleaned is None:
        raise Invalid("is required")
    return cleaned


def identifier(value: object) -> str:
    """A channel id: a non-negative integer or a non-blank string, kept as its text."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or value.bit_length() > 128:
            raise Invalid(f"must be a channel id, got {show(value)}")
        return str(value)
    if isinstance(value, Decimal):
        raise Invalid(f"must be an integer or a string, got {show(value)}")
    return required_text(value)


def country(value: object) -> str | None:
    """A two-letter ISO-3166 code, upper-cased; None when blank."""
    code = text(value)
    if code is None:
        return None
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise Invalid(f"must be a two-letter country code such as US or DE, got {code!r}")
    return code.upper()


def money(value: object) -> str | None:
    """An amount >= 0 with at most 4 decimal places, as its decimal string; None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Invalid(f'must be a decimal amount such as "19.99", got {show(value)}')
    if isinstance(value, float):
        value = repr(value)  # a caller's json.loads: 19.99, not 19.989999999999998436...
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise Invalid(f'must be a decimal amount such as "19.99", got {show(value)}') from None
    if not amount.is_finite():
        raise Invalid(f"must be a finite amount, got {show(value)}")
    if amount < 0:
        raise Invalid(f"must not be negative, got {show(value)}")
    try:
        exact = amount.quantize(_MONEY_STEP) == amount
    except InvalidOperation:
        raise Invalid(f"is too large, got {show(value)}") from None
    if not exact:
        raise Invalid(f"has more than 4 decimal places, got {show(value)}")
    return format(amount, "f")  # "100000", never "1E+5"


def quantity(value: object) -> int:
    """A positive integer (or digit string) up to `MAX_QTY`."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if value.adjusted() > 12:
            raise Invalid(f"is too large (at most {MAX_QTY})")
        number = int(value)  # "2.0" in a hand-edited file
    elif isinstance(value, str) and (digits := value.strip()).isascii() and digits.isdigit():
        if len(digits) > 12:
            raise Invalid(f"is too large (at most {MAX_QTY})")
        number = int(digits)
    elif value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid("is required")
    else:
        raise Invalid(f"must be a positive integer, got {show(value)}")
    if number < 1:
        raise Invalid(f"must be a positive integer, got {number}")
    if number > MAX_QTY:
        raise Invalid(f"is too large (at most {MAX_QTY}), got {number}")
    return number


def timestamp(value: object) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime; no zone means UTC; None when blank.

    Accepts `2026-03-02T09:15:00-05:00`, `...Z`, and Shopify's CSV form
    `2026-03-02 09:15:00 -0500`.
    """
    stamp = text(value)
    if stamp is None:
        return None
    try:
        parsed = datetime.fromisoformat(_TIMESTAMP_SPACE.sub(r"\1\2", stamp))
    except ValueError:
        raise Invalid(
            f"must be an ISO-8601 timestamp such as 2026-03-02T09:15:00-05:00, got {stamp!r}"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC equivalent
        raise Invalid(f"is out of range, got {stamp!r}") from None


def required_timestamp(value: object) -> datetime:
    """`timestamp`, but blank is a problem."""
    moment = timestamp(value)
    if moment is None:
        raise Invalid("is required")
    return moment


# The space Shopify's CSV export puts before the UTC offset ("09:15:00 -0500").
_TIMESTAMP_SPACE = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2})$")


def iso(moment: datetime) -> str:
    """The native mapping's spelling of a timestamp."""
    return moment.isoformat()


def tag_list(value: object) -> list[str]:
    """Tags from a comma-separated string (Shopify) or a list of strings; trimmed, deduplicated."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: list[object] = list(value.split(","))
    elif isinstance(value, list):
        parts = list(value)
    else:
        raise Invalid(f"must be a comma-separated string, got {show(value)}")
    tags: dict[str, None] = {}
    for part in parts:
        if not isinstance(part, str):
            raise Invalid(f"must be a list of strings, got an element {show(part)}")
        tag = text(part)
        if tag:
            tags[tag] = None
    return list(tags)


def flag(value: object, default: bool) -> bool:
    """A true/false field: JSON booleans, or CSV's `true`/`false` (any case); blank = default."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "1"):
            return True
        if word in ("false", "no", "0"):
            return False
    raise Invalid(f"must be true or false, got {show(value)}")


def kind(value: object) -> str:
    """A JSON kind for messages: 'an object', 'a list', 'a string', 'a number', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float | Decimal):
        return "a number"
    return type(value).__name__


def show(value: object) -> str:
    """A short rendering of a bad value for a message (never an enormous one)."""
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return ascii(shown) if _unencodable(shown) else repr(shown)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int) and value.bit_length() > 128:
        return "a very large number"
    if isinstance(value, int | Decimal | float):
        rendered = str(value)
        return rendered if len(rendered) <= 40 else f"a number of {len(rendered)} digits"
    return kind(value)


def _unencodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
