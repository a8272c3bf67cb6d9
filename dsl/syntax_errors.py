"""Lark's UnexpectedInput as the rule language's own syntax errors: what was expected, in
words a user knows (never `__ANON_3`), where, and a hint."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from typing import Any, cast

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from dsl.errors import DslSyntaxError, shorten
from dsl.grammar import keywords, lark_parser, terminal_words
from dsl.limits import MAX_NUMBER_DIGITS


def _describe_expected(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    words = terminal_words()
    return tuple(sorted({words.get(name, name.lower()) for name in names}))


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _word_at(text: str, pos: int) -> str:
    # A word starting with a digit is taken whole (`1e4`, `12abc`, `.5`): cut at its first
    # digit it would be reported as "unexpected `1`, expected … a number".
    match = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]*|\.[0-9]+|\S").match(text, pos)
    return match.group(0) if match else ""


def syntax_error(text: str, exc: UnexpectedInput) -> DslSyntaxError:
    if isinstance(exc, UnexpectedCharacters):
        start = exc.pos_in_stream or 0
        if start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
            # The lexer matched a keyword prefix ("line" of "lines"): report the whole word, and
            # what the parser accepted before it.
            return _word_error(text, _word_start(text, start))
        offending = _word_at(text, start)
        # The lexer's "allowed" set comes from a merged LALR state and can list terminals that
        # are not valid here; ask the parser what it really accepts at this point.
        names = set(exc.allowed or ())
        interactive = getattr(exc, "interactive_parser", None)
        if interactive is not None:
            names = _accepts(interactive) or names
        expected = _describe_expected(names)
        line, column = exc.line, exc.column
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        start = exc.token.start_pos or 0
        if start > 0 and _is_word_char(text[start - 1]):
            return _word_error(text, _word_start(text, start))
        offending = str(exc.token)
        expected = _describe_expected(set(exc.accepts or exc.expected))
        line, column = exc.token.line or 1, exc.token.column or 1
    else:
        # Unexpected end of input: point just past the last character.
        if isinstance(exc, UnexpectedEOF):
            names = {str(n) for n in exc.expected}
        else:
            token_exc = cast(UnexpectedToken, exc)
            names = set(token_exc.accepts or token_exc.expected)
        offending = ""
        expected = _describe_expected(set(names))
        line, column = _end_position(text.rstrip())
    offending = shorten(offending)
    shown = f"`{offending}`" if offending else "end of rule"
    message = f"unexpected {shown}"
    if expected:
        message += f", expected {_join_words(expected)}"
    return DslSyntaxError(
        message,
        line=line,
        column=column,
        text=offending,
        expected=expected,
        hint=_hint(text, offending, expected) or _did_you_mean(offending, expected),
    )


def _did_you_mean(word: str, expected: tuple[str, ...]) -> str | None:
    """`alocate` where a keyword was expected: the keyword it is closest to."""
    if not re.fullmatch(r"[A-Za-z_]+", word):
        return None
    keywords = [w.strip('"') for w in expected if w.startswith('"')]
    close = difflib.get_close_matches(word, keywords, n=1)
    return f"did you mean `{close[0]}`?" if close else None


def _accepts(interactive: Any) -> set[str]:
    # lark's InteractiveParser.accepts is untyped; it returns terminal names.
    return {str(name) for name in interactive.accepts()}


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _word_start(text: str, pos: int) -> int:
    # back over word characters, and over the point of a decimal (`1.5e3` is one word)
    while pos > 0 and (
        _is_word_char(text[pos - 1]) or (text[pos - 1] == "." and text[pos - 2 : pos - 1].isdigit())
    ):
        pos -= 1
    return pos


def _word_error(text: str, start: int) -> DslSyntaxError:
    word = shorten(_word_at(text, start))
    names: set[str] = set()
    try:
        interactive = lark_parser().parse_interactive(text[:start])
        interactive.exhaust_lexer()
        names = _accepts(interactive)
    except UnexpectedInput:
        pass
    expected = _describe_expected(names)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    message = f"unexpected `{word}`"
    if expected:
        message += f", expected {_join_words(expected)}"
    close = difflib.get_close_matches(word, [w.strip('"') for w in expected], n=1)
    hint = f"did you mean `{close[0]}`?" if close else _hint(text, word, expected)
    return DslSyntaxError(
        message, line=line, column=column, text=word, expected=expected, hint=hint
    )


def _join_words(words: tuple[str, ...]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _hint(text: str, offending: str, expected: tuple[str, ...]) -> str | None:
    """Recognise the common slips (taken from other rule languages) and say how to write them."""
    if offending.startswith("'"):
        return 'strings need double quotes, e.g. "like this"'
    if offending == '"':
        return "close the string with a double quote on the same line"
    if offending == "=":
        return "use == to compare"
    if offending in ("&", "|", "!"):
        return "use `and`, `or` and `not`"
    if offending.lower() in keywords() and offending != offending.lower():
        return f"keywords are lowercase: write `{offending.lower()}`"
    if "a string in double quotes" in expected and re.fullmatch(r"[A-Za-z_][\w.-]*", offending):
        return f'put text in double quotes: "{offending}"'
    if "a number" in expected and re.match(r"-?\.?[0-9]", offending):
        return _number_hint(offending)
    if offending in ("week", "weeks") and '"days"' in expected:
        return "`every` counts minutes, hours or days: write `every 14 days` for two weeks"
    if expected == ('"then"',) or ('"then"' in expected and offending in ("do", ":")):
        return "actions follow the word `then`"
    if offending == "" and not text.strip():
        return 'a rule looks like: when new order if channel == "shopify" then allocate'
    return None


def _number_hint(word: str) -> str:
    """How to write a number the language reads (whole or decimal, no exponent)."""
    if re.fullmatch(r"-?\.[0-9]+", word):
        return f"write a leading zero: {word.replace('.', '0.', 1)}"
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]{1,3}", word):
        digits = format(Decimal(word), "f")
        if len(digits.lstrip("-").split(".")[0]) <= MAX_NUMBER_DIGITS:
            return f"numbers are written out in digits, e.g. {digits} (no exponent)"
        return (
            "numbers are written out in digits (no exponent), with at most "
            f"{MAX_NUMBER_DIGITS} digits before the decimal point"
        )
    return "a number is digits, with an optional decimal part: 100, -3, 19.95"
