"""The regexes of ``matches``: RE2, so matching takes linear time whatever the pattern.

Python's :mod:`re` backtracks: ``matches "(a+)+$"`` against 30 characters takes seconds, and a
rule file is user input. RE2 (the ``google-re2`` package) guarantees time linear in the value and
refuses what it cannot do in linear time: backreferences (``\\1``, ``(?P=name)``) and lookaround
(``(?=``, ``(?!``, ``(?<=``, ``(?<!``). Such patterns are errors when the rule is checked.

Semantics are those of :func:`re.search`: the pattern may match anywhere in the value; anchor it
with ``^`` and ``$``. Python's ``$`` also matches just before a final newline, RE2's only at
the end: a value ending in a newline is searched a second time without it, which gives
Python's answer. One difference remains, for non-ASCII text: RE2's ``\\d``, ``\\w``, ``\\s``
and ``\\b`` are ASCII-only (``\\d`` does not match "٣"); use ``\\pN``, ``\\pL`` for Unicode classes.

The engine's SQL filter uses :func:`regex_search` too, so SQL and Python select the same orders.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import re2

from dsl.limits import MAX_PATTERN_LENGTH

# RE2 also refuses programs over its memory budget (max_mem, 8 MB by default).
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would otherwise log every bad pattern on stderr

#: A compiled pattern: whether it matches anywhere in a string.
Search = Callable[[str], bool]


class RegexError(ValueError):
    """A pattern RE2 cannot compile; ``message`` says why in RE2's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Search:
    """The ``search`` of ``pattern`` compiled with RE2; raises :class:`RegexError`."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RegexError(
            f"the pattern is {len(pattern):,} characters long; at most {MAX_PATTERN_LENGTH:,}"
        )
    try:
        compiled = re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        raise RegexError(_reason(exc)) from None
    except (TypeError, ValueError, UnicodeError) as exc:  # e.g. a lone surrogate
        raise RegexError(str(exc)) from None
    find: Callable[[str], Any] = compiled.search
    if "$" not in pattern:
        return lambda value: find(value) is not None

    def search(value: str) -> bool:
        # Python's `$` matches at the end and before a final newline (see module docstring).
        return find(value) is not None or (value.endswith("\n") and find(value[:-1]) is not None)

    return search


def regex_search(pattern: str, value: object) -> bool:
    """Whether ``pattern`` matches anywhere in ``value`` (only text values can match).

    An invalid pattern matches nothing (rules are checked before they run, so this only happens
    for conditions that skipped the check).
    """
    if not isinstance(value, str):
        return False
    try:
        search = compile_regex(pattern)
    except RegexError:
        return False
    try:
        return search(value)
    except UnicodeError:  # a lone surrogate in the value cannot be encoded for RE2
        return False


def _reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else str(exc)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return str(reason)
