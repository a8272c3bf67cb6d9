"""The rule language's Lark parser (built once per process from grammar.lark) and the words
used to describe its terminals in messages."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from lark import Lark
from lark.lexer import PatternStr

GRAMMAR = Path(__file__).with_name("grammar.lark")

# Words for the named terminals; keyword terminals are described by their literal text.
TERMINAL_WORDS = {
    "STRING": "a string in double quotes",
    "NUMBER": "a number",
    "INT": "a number",
    "TIME": "a time of day (HH:MM)",
    "FIELD": "a field name",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)",
    "$END": "the end of the rule",
}


@functools.cache
def lark_parser() -> Lark:
    """Build the LALR parser once per process.

    ``strict`` needs the optional ``interegular`` package (``lark[interegular]``); without it we
    still parse correctly, only the build-time check for colliding terminals is skipped.
    """
    strict = importlib.util.find_spec("interegular") is not None
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        strict=strict,
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


@functools.cache
def terminal_words() -> dict[str, str]:
    words = dict(TERMINAL_WORDS)
    for term in lark_parser().terminals:
        if term.name not in words and isinstance(term.pattern, PatternStr):
            words[term.name] = f'"{term.pattern.value}"'
    return words


@functools.cache
def keywords() -> frozenset[str]:
    """The grammar's keywords, read from its literal terminals so the list cannot drift."""
    return frozenset(
        term.pattern.value
        for term in lark_parser().terminals
        if isinstance(term.pattern, PatternStr) and term.pattern.value.isalpha()
    )
