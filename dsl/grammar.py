"""The rule language's Lark parser (built once per process from grammar.lark) and the words
used to describe its terminals in messages."""

from __future__ import annotations

import functools
import importlib.util
import os
import stat
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


def cache_file() -> str | bool:
    """Where lark keeps the built parser between processes (building it takes ~0.1-0.3 s, loading
    it ~10 ms): a file in this user's own cache directory, ``$XDG_CACHE_HOME/dibs`` or
    ``~/.cache/dibs``; False (build it every time) when there is none we can trust.

    Not lark's default (``cache=True``), a predictable name in the shared temporary directory: the
    file is a pickle, loaded before its checksum is compared, so another local user could plant
    one there. Lark rebuilds and rewrites the file when the grammar, its options, lark or Python
    change (the file starts with their hash), and carries on when it cannot write it.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base) / "dibs"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
        return False
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False  # someone else's, or writable by others: not trusted with a pickle
    return str(directory / "rule-grammar.lark-cache")


@functools.cache
def lark_parser() -> Lark:
    """Build the LALR parser once per process (loaded from `cache_file` when it can be).

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
        cache=cache_file(),
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
