"""`allocate from [...]` (SPEC §12) in the rule language and through the tick plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dsl.errors import DslSyntaxError
from dsl.parser import parse_rule
from rules.tick import plan_tick
from tests.unit.rules.test_tick import at, fire_all, ruleset


@pytest.mark.parametrize(
    ("text", "policy", "warehouses"),
    [
        ('when new order then allocate from ["east", "west"]', "lines", ("east", "west")),
        ('when new order then allocate by line from "east"', "lines", ("east",)),
        ('when new order then allocate by unit from ["west", "east"]', "units", ("west", "east")),
        (
            'when new order then allocate all or nothing from ["east", "main"], tag "x"',
            "all_or_nothing",
            ("east", "main"),
        ),
        ('when new order then reallocate from ["east"]', "lines", ("east",)),
        ("when new order then allocate", "lines", None),
    ],
)
def test_from_lists_parse_after_any_policy(
    text: str, policy: str, warehouses: tuple[str, ...] | None
) -> None:
    action = parse_rule(text).actions[0]
    assert (action.policy, action.warehouses) == (policy, warehouses)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'when new order then allocate from ["east", "east"]',
            '1:44: warehouse "east" is listed twice',
        ),
        ('when new order then allocate from [""]', '1:36: warehouse "" is empty'),
        ("when new order then allocate from []", "1:36: unexpected `]`"),
        ('when new order then allocate from ["east"] by unit', "1:44: unexpected `by`"),
        ('when new order then tag "x" from ["east"]', "1:29: unexpected `from`"),
    ],
)
def test_bad_from_lists_are_positioned_errors(text: str, message: str) -> None:
    with pytest.raises(DslSyntaxError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_rule(text)


def test_the_deciding_rule_brings_its_from_list(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - name: canada
          priority: 10
          rule: when new order if ship_to.country == "CA" then allocate by unit from ["to", "main"]
        - name: rest
          rule: when new order then allocate from ["main", "toronto"]
        """,
    )
    ca = make_order(id="C1", placed_at=at(9), country="CA")
    us = make_order(id="U1", placed_at=at(8), country="US")
    plan = plan_tick(fire_all(rs, [ca, us]), now)
    queue = [(r.order_id, r.rule, r.policy, r.warehouses) for r in plan.allocation_queue]
    assert queue == [
        ("C1", "canada", "units", ("to", "main")),
        ("U1", "rest", "lines", ("main", "toronto")),
    ]
