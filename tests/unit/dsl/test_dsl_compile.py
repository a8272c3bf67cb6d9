from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from dsl.compile import compile_condition, compile_getter, predicate_source
from dsl.errors import DslTypeError
from dsl.parser import parse_rule
from rules.vocabulary import ORDER_VOCABULARY


def pred(condition: str) -> Callable[[Any, Any], bool]:
    rule = parse_rule(f"when new order if {condition} then allocate")
    return compile_condition(rule.condition, ORDER_VOCABULARY)


def test_no_condition_matches_everything(make_order: Callable[..., Any], now: Any) -> None:
    assert compile_condition(None, ORDER_VOCABULARY)(make_order(), now) is True


@pytest.mark.parametrize(
    ("condition", "kwargs", "expected"),
    [
        ('channel == "shopify"', {}, True),
        ('channel == "Shopify"', {}, False),  # case-sensitive
        ('channel != "shopify"', {}, False),
        ("total > 49.99", {}, True),
        ("total > 50", {}, False),
        ("total >= 50", {}, True),
        ("total < 50.01", {}, True),
        ("total <= 49", {}, False),
        ('ship_to.country in ["US", "CA"]', {}, True),
        ('ship_to.country not in ["US", "CA"]', {}, False),
        ('tags contains "vip"', {"tags": frozenset({"vip"})}, True),
        ('tags not contains "vip"', {"tags": frozenset({"vip"})}, False),
        ('skus contains "B"', {"lines": "AB"}, True),
        ("line_count == 2", {"lines": "AB"}, True),
        ("unit_count > 2", {"lines": "AB"}, True),
        ("age > 23 hours", {}, True),
        ("age > 1 day", {}, False),
        ("age >= 1 day", {}, True),
        ('placed_at < "2026-01-09T13:00:00+00:00"', {}, True),
        ('placed_at == "2026-01-09T12:00:00Z"', {}, True),
        ('id matches "1$"', {}, True),  # re.search: anywhere in the value
        ('id matches "^1"', {}, False),
        ('channel contains "hop"', {}, True),
        ('not channel == "shopify"', {}, False),
        ('channel == "x" or (total > 1 and not tags contains "a")', {}, True),
        ("attributes.gift == true", {"attributes": {"gift": True}}, True),
        ("attributes.gift == true", {"attributes": {"gift": 1}}, False),
        ("attributes.gift != true", {"attributes": {}}, True),
        ("attributes.score > 5", {"attributes": {"score": 7.5}}, True),
        ("attributes.score > 5", {"attributes": {"score": "high"}}, False),  # no TypeError
        ('attributes.note matches "rush"', {"attributes": {"note": "a rush job"}}, True),
        ('attributes.note matches "1"', {"attributes": {"note": 1}}, False),
        ('attributes.source in ["pos", "web"]', {"attributes": {"source": "web"}}, True),
    ],
)
def test_semantics(
    make_order: Callable[..., Any],
    make_line: Any,
    now: Any,
    condition: str,
    kwargs: dict[str, Any],
    expected: bool,
) -> None:
    if kwargs.get("lines") == "AB":
        kwargs["lines"] = (make_line("A", 1), make_line("B", 2))
    assert pred(condition)(make_order(id="A1", **kwargs), now) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('shipping_method == "ground"', False),
        ('shipping_method != "ground"', True),
        ('shipping_method < "z"', False),
        ('shipping_method in ["ground"]', False),
        ('shipping_method not in ["ground"]', True),
        ('shipping_method contains "g"', False),
        ('shipping_method not contains "g"', True),
        ('shipping_method matches ".*"', False),
        ("total > 0", False),
        ("total <= 0", False),
        ("total == 0", False),
        ("total != 0", True),
        ("not total > 0", True),  # not is plain negation
        ('ship_to.country == "US"', False),
        ('attributes.x == "a"', False),
        ('attributes.x != "a"', True),
        ("attributes.x < 3", False),
    ],
)
def test_missing_values(
    make_order: Callable[..., Any], now: Any, condition: str, expected: bool
) -> None:
    order = make_order(shipping_method=None, total=None, country=None)
    assert pred(condition)(order, now) is expected


def test_generated_source_is_flat_python() -> None:
    rule = parse_rule(
        'when new order if channel == "amazon" and ship_to.country in ["US", "CA"] '
        "and total > 100 then allocate"
    )
    source, _ = predicate_source(rule.condition, ORDER_VOCABULARY)
    assert source.startswith("def _predicate(o, now):")
    assert "o.channel == 'amazon'" in source


def test_compile_refuses_unchecked_condition() -> None:
    rule = parse_rule("when new order if nope == 1 then allocate")
    with pytest.raises(DslTypeError):
        compile_condition(rule.condition, ORDER_VOCABULARY)


def test_getter(make_order: Callable[..., Any], now: Any) -> None:
    assert compile_getter("age", ORDER_VOCABULARY)(make_order(), now) == timedelta(days=1)
    assert compile_getter("total", ORDER_VOCABULARY)(make_order(), now) == Decimal("50.00")
