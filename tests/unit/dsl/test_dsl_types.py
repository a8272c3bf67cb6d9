from __future__ import annotations

import pytest

from dsl.errors import DslTypeError
from dsl.parser import parse_rule
from dsl.types import FieldSpec, FieldType, Vocabulary, check_rule
from rules.vocabulary import ORDER_VOCABULARY


def _errors(condition: str, order_by: str = "") -> list[DslTypeError]:
    text = f"when new order if {condition} then allocate"
    if order_by:
        text += f" order by {order_by}"
    return check_rule(parse_rule(text), ORDER_VOCABULARY)


@pytest.mark.parametrize(
    "condition",
    [
        'id == "A1"',
        'channel != "x"',
        'status in ["shipped"]',
        'allocation_status not in ["allocated"]',
        'placed_at > "2026-01-01T00:00:00Z"',
        'placed_at <= "2026-01-01"',
        "age > 3 days",
        'shipping_method == "ground"',
        "total > 100",
        "total <= 99.5",
        'ship_to.country in ["US", "CA"]',
        'ship_to.state == "NY"',
        'ship_to.city matches "^New"',
        'ship_to.postal_code < "5"',
        'warehouse == "main"',
        'tags contains "vip"',
        'tags not contains "vip"',
        'skus contains "WIDGET"',
        "line_count > 1",
        "unit_count >= 10",
        "attributes.gift == true",
        'attributes.source == "pos"',
        "attributes.score > 5",
        'attributes.note matches "rush"',
        'channel contains "amaz"',
    ],
)
def test_valid_conditions(condition: str) -> None:
    assert _errors(condition) == []


def test_unknown_field_suggests_dotted_name() -> None:
    (err,) = _errors('country == "US"')
    assert err.message == "unknown field `country`"
    assert err.hint == "did you mean `ship_to.country`?"
    assert (err.line, err.column) == (1, 19)


def test_unknown_field_typo() -> None:
    (err,) = _errors("totl > 5")
    assert err.hint == "did you mean `total`?"


@pytest.mark.parametrize(
    ("condition", "column", "hint_part"),
    [
        ('total > "abc"', 27, "number"),
        ("age > 5", 25, "add a unit"),
        ('tags == "x"', 27, "contains"),
        ('tags in ["x"]', 19, "contains"),
        ('total matches "1"', 19, "text fields"),
        ("channel == 5", 30, "double quotes"),
        ("attributes.gift == 3 days", 38, None),
        ('placed_at > "yesterday"', 31, "2026"),
        ('line_count contains "x"', 19, "contains"),
        ("attributes.gift > true", 37, None),
    ],
)
def test_type_mismatches(condition: str, column: int, hint_part: str | None) -> None:
    (err,) = _errors(condition)
    assert (err.line, err.column) == (1, column)
    if hint_part:
        assert err.hint is not None and hint_part in err.hint


def test_bad_regex_is_positioned_on_the_pattern() -> None:
    (err,) = _errors('channel matches "(unclosed"')
    assert err.message.startswith("invalid regular expression")
    assert (err.line, err.column) == (1, 35)


def test_all_errors_are_collected() -> None:
    errors = _errors('foo == 1 and total > "x" and bar == 2', order_by="tags, nope")
    assert len(errors) == 5


def test_vocabulary_is_a_parameter() -> None:
    vocab = Vocabulary(fields={"size": FieldSpec("size", FieldType.INTEGER, "o.size")})
    rule = parse_rule("when new order if size > 2 and total > 1 then allocate")
    (err,) = check_rule(rule, vocab)
    assert err.text == "total"
