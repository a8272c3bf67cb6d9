"""`matches` runs on RE2: re.search semantics on ordinary patterns, linear time on any pattern."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from dsl.compile import compile_condition
from dsl.parser import parse_rule
from dsl.regex import RegexError, compile_regex, regex_search
from dsl.types import check_rule
from rules.vocabulary import ORDER_VOCABULARY

PATTERNS = [
    "rush", "^A", "1$", "^A[0-9]+$", "a|b", "(ab)+", "colou?r", "^$", "", ".", "x*", "[^a-z]",
    r"\d{3}-\d{4}", r"^\w+@\w+\.com$", r"\bgift\b", r"\s", "(?i)RUSH", "^(?:US|CA)-[0-9]{5}$",
    "a.c", r"\.", "[.]", "a{2,3}", "é", "^ü", "(?P<x>ab)c", "a+?b", r"\$", "^-", "[-a]",
]  # fmt: skip
VALUES = [
    "", "a", "ab", "abab", "rush", "a RUSH job", "A123", "A12b", "xa1", "555-1234", "x@y.com",
    "the gift card", "gifted", "a c", "abc", "a.c", "color", "colour", "US-12345", "aa", "aaaa",
    "café", "über", "$5", "-x", "\n", "line\nbreak",
]  # fmt: skip


@pytest.mark.parametrize("pattern", PATTERNS)
def test_same_results_as_re_search_on_ordinary_patterns(pattern: str) -> None:
    for value in VALUES:
        assert regex_search(pattern, value) == (re.search(pattern, value) is not None), value


def test_catastrophic_pattern_returns_quickly() -> None:
    # With re, "(a+)+$" against 30 a's and a b backtracks for seconds (2^30 ways).
    value = "a" * 100_000 + "b"
    start = time.perf_counter()
    for pattern in ["(a+)+$", "(a|aa)+$", "(a*)*b$", "^(a|a?)+$"]:
        assert regex_search(pattern, value) is (pattern == "(a*)*b$")
    assert time.perf_counter() - start < 2.0


def test_the_compiled_predicate_uses_re2(make_order: Callable[..., Any], now: Any) -> None:
    rule = parse_rule('when new order if id matches "(a+)+$" then allocate')
    predicate = compile_condition(rule.condition, ORDER_VOCABULARY)
    start = time.perf_counter()
    assert predicate(make_order(id="a" * 50_000 + "b"), now) is False
    assert predicate(make_order(id="xaaa"), now) is True
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\\1", "invalid escape sequence"),
        ("a(?=b)", "invalid perl operator"),
        ("a(?!b)", "invalid perl operator"),
        ("(?<=a)b", "invalid perl operator"),
        ("(?<!a)b", "invalid perl operator"),
        ("(?P<n>a)(?P=n)", "invalid"),
        ("(unclosed", "missing )"),
        ("a{1001}", "invalid repetition size"),
        ("x" * 1001, "at most 1,000"),
    ],
)
def test_patterns_re2_refuses_are_positioned_errors_with_a_hint(pattern: str, reason: str) -> None:
    text = f'when new order if channel matches "{pattern}" then allocate'
    (err,) = check_rule(parse_rule(text), ORDER_VOCABULARY)
    assert err.message.startswith("invalid regular expression: ")
    assert reason in err.message
    assert (err.line, err.column) == (1, text.index('"') + 1)  # on the pattern
    assert err.hint is not None and "RE2" in err.hint
    assert len(err.message) < 200


def test_backreference_hint_says_why() -> None:
    (err,) = check_rule(
        parse_rule(r'when new order if id matches "(a)\\1" then allocate'), ORDER_VOCABULARY
    )
    assert err.hint is not None and "backreferences" in err.hint and "linear time" in err.hint


def test_helpers() -> None:
    assert regex_search("a", 5) is False  # only text matches
    assert regex_search("(", "(") is False  # an invalid pattern matches nothing
    with pytest.raises(RegexError):
        compile_regex("(")
    assert compile_regex("a") is compile_regex("a")  # cached


@pytest.mark.parametrize("pattern", ["a$", "^a$", "^$", "a\n$", "(?m)^b$", "$"])
@pytest.mark.parametrize("value", ["a", "a\n", "a\n\n", "\n", "", "b\na\n", "a\nb"])
def test_dollar_before_a_final_newline_like_python(pattern: str, value: str) -> None:
    assert regex_search(pattern, value) == (re.search(pattern, value) is not None)


def test_unicode_classes_are_ascii_only_the_documented_difference() -> None:
    assert re.search(r"\d", "٣") and not regex_search(r"\d", "٣")
    assert regex_search(r"\pN", "٣") and regex_search(r"\pL", "é")
