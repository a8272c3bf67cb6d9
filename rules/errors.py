"""The one error hierarchy of rule files: positioned diagnostics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from dsl.errors import shorten

Severity = Literal["error", "warning"]

#: The longest message or hint a diagnostic keeps. Values quoted in messages are already cut
#: (dsl.errors.shorten); this is the backstop, so no input can make a message huge.
MAX_MESSAGE = 500


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a rule file, at a 1-based line and column of that file."""

    file: str
    line: int
    column: int
    severity: Severity
    message: str
    hint: str | None = None

    def __post_init__(self) -> None:
        # Frozen: set the cut values through object.__setattr__.
        object.__setattr__(self, "message", shorten(self.message, MAX_MESSAGE))
        if self.hint is not None:
            object.__setattr__(self, "hint", shorten(self.hint, MAX_MESSAGE))

    def __str__(self) -> str:
        out = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        if self.hint:
            out += f"\n  hint: {self.hint}"
        return out


class RuleFileError(Exception):
    """A rule file that cannot be used; ``diagnostics`` holds every problem found in it."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))
