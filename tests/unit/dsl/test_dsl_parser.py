from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from dsl.errors import DslSyntaxError
from dsl.parser import parse_rule
from dsl.syntax import (
    Action,
    And,
    Compare,
    Contains,
    CronTrigger,
    DailyTrigger,
    EventTrigger,
    EveryTrigger,
    InList,
    Matches,
    Not,
    Or,
)


@pytest.mark.parametrize(
    ("text", "event", "channels"),
    [
        ("when new order then allocate", "new order", None),
        ("when order updated then allocate", "order updated", None),
        ("when inventory received then allocate", "inventory received", None),
        ("when inventory changed then allocate", "inventory changed", None),
        ('when new order from channel "amazon" then allocate', "new order", ("amazon",)),
        ('when new order from channel ["a", "b"] then allocate', "new order", ("a", "b")),
    ],
)
def test_event_triggers(text: str, event: str, channels: tuple[str, ...] | None) -> None:
    rule = parse_rule(text)
    assert rule.trigger == EventTrigger(event, channels)  # type: ignore[arg-type]
    assert rule.condition is None


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("every 1 minute then allocate", EveryTrigger(1, "minutes")),
        ("every 5 minutes then allocate", EveryTrigger(5, "minutes")),
        ("every 2 hours then allocate", EveryTrigger(2, "hours")),
        ("every 1 hour then allocate", EveryTrigger(1, "hours")),
        ("every 3 days then allocate", EveryTrigger(3, "days")),
        ("every 1 day then allocate", EveryTrigger(1, "days")),
        ("daily at 09:30 then allocate", DailyTrigger(9, 30)),
        ("daily at 0:05 then allocate", DailyTrigger(0, 5)),
        ('cron "0 2 * * 1" then allocate', CronTrigger("0 2 * * 1")),
    ],
)
def test_schedule_triggers(text: str, trigger: object) -> None:
    assert parse_rule(text).trigger == trigger


def test_every_interval() -> None:
    trigger = parse_rule("every 90 minutes then allocate").trigger
    assert isinstance(trigger, EveryTrigger)
    assert trigger.interval == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ("allocate", Action("allocate", policy="lines")),
        ("allocate by line", Action("allocate", policy="lines")),
        ("allocate by unit", Action("allocate", policy="units")),
        ("allocate all or nothing", Action("allocate", policy="all_or_nothing")),
        ("reallocate", Action("reallocate", policy="lines")),
        ("deallocate", Action("deallocate")),
        ("split", Action("split")),
        ('tag "vip"', Action("tag", tag="vip")),
        ('untag "vip"', Action("untag", tag="vip")),
        ("stop", Action("stop")),
    ],
)
def test_each_action(actions: str, expected: Action) -> None:
    assert parse_rule(f"when new order then {actions}").actions == (expected,)


def test_several_actions_and_order_by() -> None:
    rule = parse_rule('when new order then tag "a", allocate by unit, stop order by total desc, id')
    assert [a.kind for a in rule.actions] == ["tag", "allocate", "stop"]
    assert [(k.field.name, k.descending) for k in rule.order_by] == [
        ("total", True),
        ("id", False),
    ]
    asc = parse_rule("when new order then allocate order by placed_at asc")
    assert asc.order_by[0].descending is False


def test_condition_precedence_and_flattening() -> None:
    rule = parse_rule(
        'when new order if channel == "a" or channel == "b" and not total > 5 or id == "x" '
        "then allocate"
    )
    cond = rule.condition
    assert isinstance(cond, Or)
    assert len(cond.items) == 3  # a or (b and not ...) or x, flattened
    assert isinstance(cond.items[1], And)
    assert isinstance(cond.items[1].items[1], Not)


def test_parentheses() -> None:
    cond = parse_rule("when new order if (total > 1 or total < 0) and line_count == 2 then stop")
    assert isinstance(cond.condition, And)
    assert isinstance(cond.condition.items[0], Or)


def test_every_comparison_and_literal() -> None:
    rule = parse_rule(
        "when new order if total >= 10.50 and total != -3 and age > 3 days and age <= 12 hours "
        "and age < 30 minutes and age > 1 day and age > 2 weeks and attributes.gift == true "
        'and attributes.x == false and channel in ["a", "b"] and id not in [] '
        'and tags contains "vip" and skus not contains "X" and ship_to.city matches "^Ber" '
        "then allocate"
    )
    assert isinstance(rule.condition, And)
    items = rule.condition.items
    assert items[0] == Compare(items[0].field, ">=", items[0].value)  # type: ignore[union-attr]
    values = [getattr(i, "value", None) for i in items[:9]]
    assert [v.value for v in values if v is not None] == [
        Decimal("10.50"),
        -3,
        timedelta(days=3),
        timedelta(hours=12),
        timedelta(minutes=30),
        timedelta(days=1),
        timedelta(weeks=2),
        True,
        False,
    ]
    assert isinstance(items[9], InList) and not items[9].negated
    assert isinstance(items[10], InList) and items[10].negated and items[10].values == ()
    assert isinstance(items[11], Contains) and not items[11].negated
    assert isinstance(items[12], Contains) and items[12].negated
    assert isinstance(items[13], Matches) and items[13].pattern.value == "^Ber"


def test_string_escapes() -> None:
    rule = parse_rule(r'when new order if id matches "\d+\"x" then allocate')
    assert isinstance(rule.condition, Matches)
    assert rule.condition.pattern.value == r'\d+"x'


def test_positions_are_relative_to_rule_text() -> None:
    rule = parse_rule('when new order\n  if total > 5\n  then tag "x"')
    assert isinstance(rule.condition, Compare)
    assert (rule.condition.field.line, rule.condition.field.column) == (2, 6)
    assert (rule.condition.value.line, rule.condition.value.column) == (2, 14)
    assert (rule.actions[0].line, rule.actions[0].column) == (3, 8)


def test_positions_do_not_affect_equality() -> None:
    assert parse_rule("when new order if total > 5 then stop") == parse_rule(
        "when   new order\nif total>5 then   stop"
    )


def _error(text: str) -> DslSyntaxError:
    with pytest.raises(DslSyntaxError) as info:
        parse_rule(text)
    return info.value


def test_weeks_in_a_schedule_hint_at_days() -> None:
    """Durations have weeks (`age > 2 weeks`), schedules do not: say what to write."""
    err = _error("every 2 weeks then allocate")
    assert (err.line, err.column, err.text) == (1, 9, "weeks")
    assert err.hint == "`every` counts minutes, hours or days: write `every 14 days` for two weeks"


def test_single_equals_hint() -> None:
    err = _error('when new order if channel = "a" then allocate')
    assert (err.line, err.column, err.text) == (1, 27, "=")
    assert err.hint == "use == to compare"
    assert "a comparison (==, !=, <, <=, >, >=)" in err.expected


def test_single_quotes_hint() -> None:
    err = _error("when new order if channel == 'a' then allocate")
    assert (err.line, err.column) == (1, 30)
    assert err.hint is not None and "double quotes" in err.hint
    assert "a string in double quotes" in err.expected


def test_unquoted_string_hint() -> None:
    err = _error("when new order if channel == amazon then allocate")
    assert (err.column, err.text) == (30, "amazon")
    assert err.hint == 'put text in double quotes: "amazon"'


def test_missing_then_at_end() -> None:
    err = _error("when new order if total > 5")
    assert (err.line, err.column) == (1, 28)
    assert '"then"' in err.expected
    assert "end of rule" in err.message


def test_uppercase_keyword() -> None:
    err = _error("When new order then allocate")
    assert (err.line, err.column) == (1, 1)
    assert err.hint == "keywords are lowercase: write `when`"


def test_misspelt_keyword_is_reported_whole() -> None:
    err = _error("when new order then allocate by lines")
    assert (err.column, err.text) == (33, "lines")
    assert err.expected == ('"line"', '"unit"')
    assert err.hint == "did you mean `line`?"


def test_bad_time_of_day() -> None:
    err = _error("daily at 24:00 then allocate")
    assert (err.line, err.column) == (1, 10)


def test_expected_never_shows_internal_names() -> None:
    texts = ["", "when", "when new order if", "when new order if total", "every x", "cron 5"]
    for text in texts:
        err = _error(text)
        for word in err.expected:
            assert "ANON" not in word and not word.isupper(), (text, err.expected)


def test_error_str_has_position() -> None:
    assert str(_error("when new order then")).startswith("1:20: unexpected end of rule")


@pytest.mark.parametrize(
    ("number", "hint"),
    [
        ("1e4", "numbers are written out in digits, e.g. 10000 (no exponent)"),
        ("1.5e3", "numbers are written out in digits, e.g. 1500 (no exponent)"),
        ("12abc", "a number is digits, with an optional decimal part: 100, -3, 19.95"),
        (".5", "write a leading zero: 0.5"),
    ],
)
def test_a_malformed_number_is_reported_whole_with_how_to_write_it(number: str, hint: str) -> None:
    """`total > 1e4` said "unexpected `1`, expected … a number": the word was cut at its first
    digit, so the message named a number as what was wrong and as what was wanted."""
    err = _error(f"when new order if total > {number} then allocate")
    assert (err.column, err.text) == (27, number)
    assert err.message.startswith(f"unexpected `{number}`")
    assert err.hint == hint


def test_a_misspelt_action_gets_a_did_you_mean() -> None:
    """`then alocate` listed the seven actions but suggested none (a misspelt word that follows
    a space did not reach the did-you-mean a word glued to a keyword gets)."""
    err = _error("when new order then alocate")
    assert (err.column, err.text) == (21, "alocate")
    assert err.hint == "did you mean `allocate`?"


@pytest.mark.parametrize(
    ("text", "column", "what"),
    [
        ('when new order if id == "a\x00" then allocate', 27, "a NUL character"),
        ('every 1 hour then tag "\ud800"', 24, "a lone UTF-16 surrogate"),
    ],
)
def test_a_character_no_database_holds_is_refused_where_it_stands(
    text: str, column: int, what: str
) -> None:
    with pytest.raises(DslSyntaxError) as caught:
        parse_rule(text)
    assert (caught.value.line, caught.value.column) == (1, column)
    assert caught.value.message == f"the rule contains {what}, which no value can hold"


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("", 'tag "" is empty'),
        ("   ", 'tag "   " is empty'),
        ("x" * 101, "is 101 characters long; a tag has at most 100"),
        (" vip", 'tag " vip" starts or ends with a space'),
    ],
)
@pytest.mark.parametrize("action", ["tag", "untag"])
def test_a_tag_no_order_can_hold_is_refused_at_its_column(
    action: str, tag: str, message: str
) -> None:
    """`tag ""` and a 150-character tag passed `rules check`; the tag column holds 100
    characters, so on PostgreSQL every tick failed (and its events stayed pending), and on
    SQLite the order got a tag no import or `orders tag` can write (they trim and bound it)."""
    err = _error(f'when new order then allocate, {action} "{tag}"')
    assert (err.line, err.column) == (1, 32 + len(action))
    assert message in err.message


def test_a_tag_of_the_longest_length_is_accepted() -> None:
    rule = parse_rule(f'when new order then tag "{"x" * 100}"')
    assert rule.actions[0].tag == "x" * 100
