"""The one error hierarchy of the rule language."""

from __future__ import annotations

#: How much of a user's value a message quotes; longer values are cut with an ellipsis, so a
#: 100 KB rule name gives a readable message, not a 100 KB one.
QUOTE_LIMIT = 60


def shorten(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``str(value)`` cut to ``limit`` characters (ending in "…" when cut), for messages.

    Lone surrogates are shown as ``\\udxxx`` escapes so the message can always be printed.
    """
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    # A lone surrogate (from a YAML escape or an undecodable argv byte) cannot be printed.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class DslError(Exception):
    """A problem in a rule's text, positioned inside that text (1-based line and column).

    ``text`` is the offending piece of the rule, ``expected`` says in words what would have been
    valid there, ``hint`` suggests a fix. Callers that embed rules in files (rules.loader) translate
    the position into the file.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int,
        column: int,
        text: str = "",
        expected: tuple[str, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.text = text
        self.expected = expected
        self.hint = hint

    def __str__(self) -> str:
        out = f"{self.line}:{self.column}: {self.message}"
        if self.hint:
            out += f" (hint: {self.hint})"
        return out


class DslSyntaxError(DslError):
    """The rule text does not follow the grammar of SPEC §7."""


class DslTypeError(DslError):
    """The rule parses but uses an unknown field or compares values of incompatible types."""
