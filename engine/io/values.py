"""Validators of single values that every reader shares: text a database can store, money,
counts, timestamps; and CSV rows read within the csv module's limits. A validator returns the
clean value or raises `Invalid` with the rest of the sentence ("must be ...")."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from engine.errors import quoted
from engine.io.messages import show
from engine.model import MAX_QTY, MAX_TOTAL, MONEY_STEP


class Invalid(Exception):
    """One field is wrong; the message completes "<label> ..."."""


def storable(text: str) -> str:
    """`text` if every database can store it: no NUL character (PostgreSQL refuses it), no
    lone surrogate (from a JSON `\\ud800` escape or undecodable bytes; not encodable as UTF-8)."""
    if "\x00" in text:
        raise Invalid("must not contain a NUL character (\\u0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Invalid(
            f"is not valid Unicode text (a lone surrogate U+{ord(text[exc.start]):04X} at "
            f"character {exc.start + 1})"
        ) from None
    return text


def bounded(text: str, limit: int) -> str:
    """`text` (already stripped) if it fits a column of `limit` characters."""
    if len(text) > limit:
        raise Invalid(f"is too long: {len(text):,} characters, at most {limit}")
    return text


def timestamp_text(text: str) -> datetime:
    """An ISO-8601 timestamp (already stripped) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"must be an ISO-8601 timestamp such as 2026-11-28T14:30:00Z, got {quoted(text)}"
        ) from None
    return utc(parsed)


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already.

    An instant that UTC cannot show (`0001-01-01T00:00:00+01:00` is in year 0) is `Invalid`.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)  # SPEC §2: no zone means UTC
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise Invalid(
            f"is out of range: {moment.isoformat()} is outside years 1-9999 in UTC"
        ) from None


def money(value: object) -> Decimal:
    """An amount >= 0 with at most 4 decimal places, from a number or a string."""
    if isinstance(value, bool):
        raise Invalid(f"must be a decimal number, got {show(value)}")
    try:
        if isinstance(value, Decimal | int):
            amount = Decimal(value)
        elif isinstance(value, float):
            amount = Decimal(repr(value))  # repr: 19.99, not 19.989999999999998436805981327779591
        elif isinstance(value, str):
            amount = Decimal(value.strip())
        else:
            raise Invalid(f"must be a decimal number, got {show(value)}")
    except InvalidOperation:
        raise Invalid(f"must be a decimal number, got {show(value)}") from None
    if not amount.is_finite():
        raise Invalid(f"must be a finite number, got {show(value)}")
    if amount < 0:
        raise Invalid(f"must not be negative, got {show(value)}")
    try:
        exact = amount.quantize(MONEY_STEP) == amount
    except InvalidOperation:  # too many digits to quantize: far beyond any real total
        raise Invalid(f"is too large, got {show(value)}") from None
    if not exact:
        raise Invalid(f"has more than 4 decimal places, got {show(value)}")
    if amount >= MAX_TOTAL:
        raise Invalid(f"is too large (below {MAX_TOTAL:,} required), got {show(value)}")
    return amount


def qty(value: object) -> int:
    """A line quantity: an integer (or digit string) from 1 to `MAX_QTY`."""
    return count(value, minimum=1, what="a positive integer")


def count(value: object, minimum: int, what: str) -> int:
    """An integer (or digit string) from `minimum` to `MAX_QTY`; `what` describes it."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and (text := value.strip()).isascii() and text.isdigit():
        if len(text.lstrip("0")) > 10:  # int() of 4,301 digits raises; and it is out of range
            raise Invalid(f"is too large (at most {MAX_QTY}), got {show(text)}")
        number = int(text)
    else:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise Invalid("is required")
        raise Invalid(f"must be {what}, got {show(value)}")
    if number < minimum:
        raise Invalid(f"must be {what}, got {show(number)}")
    if number > MAX_QTY:
        raise Invalid(f"is too large (at most {MAX_QTY}), got {show(number)}")
    return number


def whole_number(text: str) -> int:
    """A signed whole number a person typed (a command-line argument, a form field): ASCII
    digits with an optional sign, spaces around. `int()` alone also took `1_000`, `１２` and
    `١٢`, which every file reader refuses; the caller checks the sign and the range."""
    value = text.strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not (digits.isascii() and digits.isdigit()):
        raise Invalid(f"must be a whole number, got {show(value)}")
    if len(digits.lstrip("0")) > 20:  # int() of 4,301 digits raises; any of these is too big
        raise Invalid(f"is out of range (at most {MAX_QTY:,} either way), got {show(value)}")
    return int(value)


# --------------------------------------------------------------------------------------------
# CSV rows


def csv_rows(handle: TextIO, name: str, problems: list[str]) -> tuple[Any, Iterator[list[str]]]:
    """A csv reader over `handle` and its rows; a row the csv module cannot read ends the rows
    with a problem at the line where that row starts: a cell over its 128 KiB limit, a quoted
    cell never closed (strict mode: else the rest of the file would silently become that one
    cell), text after a closing quote (`"Bob" Smith`)."""
    reader = csv.reader(handle, strict=True)

    def rows() -> Iterator[list[str]]:
        start = reader.line_num + 1
        try:
            for row in reader:
                yield row
                start = reader.line_num + 1
        except csv.Error as exc:
            problems.append(f"{name}:{start}: cannot read this CSV row: {csv_problem(exc)}")

    return reader, rows()


def csv_problem(exc: csv.Error) -> str:
    """What the csv module's error means, in a merchant's words."""
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    if "unexpected end of data" in text:
        return 'a quoted cell (") is never closed; it runs to the end of the file'
    if "expected after" in text:
        return (
            "text follows the closing quote of a cell; write a quote inside a quoted cell "
            'as two ("")'
        )
    return text
