"""The one error hierarchy of the rule language."""

from __future__ import annotations


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
