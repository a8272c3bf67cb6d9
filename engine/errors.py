"""The engine's one error hierarchy; the CLI maps each class to an exit code (SPEC §8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: How many characters of a quoted value a message shows (a 100 KB name is not repeated whole).
QUOTE_LIMIT = 80


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`repr(value)` for a message, cut to about `limit` characters with the full length noted."""
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{shown[: limit - 1]}…{size}"


def plural(number: int, noun: str) -> str:
    """ "1 problem", "2 problems"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


class DibsError(Exception):
    """Anything dibs refuses to do, with a message a user can act on."""

    exit_code = 1


class OperationFailed(DibsError):
    """The operation is valid input but cannot be done: unknown order, wrong state (exit 1)."""

    exit_code = 1


class UnknownOrder(OperationFailed):
    """An order id that does not exist (exit 1; HTTP 404)."""


class StateConflict(OperationFailed):
    """The order's state does not allow the operation: shipped, cancelled, nothing to split
    (exit 1; HTTP 409)."""


class BadInput(DibsError):
    """The input is malformed: usage, unreadable or invalid file, invalid value (exit 2).

    `problems` lists every problem found (one line each, already naming file and line), so a
    file with many bad rows is reported in one go.
    """

    exit_code = 2

    def __init__(
        self, message: str, problems: Sequence[str] = (), field: str | None = None
    ) -> None:
        super().__init__(message)
        self.problems = list(problems)
        #: The input field at fault, when one is (the HTTP API answers it as `field`).
        self.field = field

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return "\n".join([head, *self.problems])


class OrdersExist(BadInput):
    """New orders whose ids are already taken (exit 2); `ids` lets a caller say where they are,
    `places` (id -> `file:line`) where a streamed import found them."""

    def __init__(
        self, message: str, ids: Sequence[str], places: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.ids = list(ids)
        self.places = dict(places or {})


def check_text(what: str, text: str, limit: int) -> None:
    """A value given on the command line or by a caller that bypasses the importers: refused
    (exit 2) when no database could store it (too long, a NUL, a lone surrogate)."""
    if len(text) > limit:
        raise BadInput(
            f"{what} {quoted(text)} is too long: {len(text):,} characters, at most {limit}"
        )
    if "\x00" in text:
        raise BadInput(f"{what} {quoted(text)} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(f"{what} {quoted(text)} is not valid Unicode text") from None
