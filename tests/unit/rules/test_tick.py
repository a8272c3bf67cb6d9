from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rules.loader import load_ruleset
from rules.ruleset import RuleSet
from rules.tick import plan_tick


def ruleset(tmp_path: Path, rules: str) -> RuleSet:
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\nrules:\n" + textwrap.indent(textwrap.dedent(rules), "  "))
    return load_ruleset(path)


def at(hour: int) -> datetime:
    return datetime(2026, 1, 1, hour, tzinfo=UTC)


def fire_all(rs: RuleSet, orders: list[Any]) -> list[tuple[Any, list[Any]]]:
    return [(rule, orders) for rule in rs.active]


def test_priority_beats_fifo(tmp_path: Path, make_order: Callable[..., Any], now: Any) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - name: express-first
          priority: 100
          rule: when new order if shipping_method == "overnight" then allocate
        - name: rest
          rule: when new order then allocate
        """,
    )
    old = make_order(id="A1", placed_at=at(9), shipping_method="ground")
    new = make_order(id="A2", placed_at=at(10), shipping_method="overnight")
    plan = plan_tick(fire_all(rs, [old, new]), now)
    assert [r.order_id for r in plan.allocation_queue] == ["A2", "A1"]
    assert plan.orders["A2"].matched_rules == ("express-first", "rest")
    assert plan.orders["A2"].allocation is not None
    assert plan.orders["A2"].allocation.rule == "express-first"


def test_fifo_then_id_within_a_rule(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(tmp_path, "- {name: all, rule: when new order then allocate}\n")
    orders = [
        make_order(id="B", placed_at=at(9)),
        make_order(id="A", placed_at=at(9)),
        make_order(id="C", placed_at=at(8)),
    ]
    plan = plan_tick(fire_all(rs, orders), now)
    assert [r.order_id for r in plan.allocation_queue] == ["C", "A", "B"]


def test_stop_ends_the_rules_for_that_order(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - name: hold-fraud
          priority: 10
          rule: when new order if tags contains "fraud" then tag "held", stop
        - name: rest
          rule: when new order then allocate
        """,
    )
    fraud = make_order(id="F", tags=frozenset({"fraud"}))
    fine = make_order(id="G")
    plan = plan_tick(fire_all(rs, [fraud, fine]), now)
    assert plan.orders["F"].matched_rules == ("hold-fraud",)
    assert plan.orders["F"].stopped_by == "hold-fraud"
    assert plan.orders["F"].allocation is None
    assert [r.order_id for r in plan.allocation_queue] == ["G"]
    assert plan.tag_changes == {"F": (frozenset({"held"}), frozenset())}


def test_tags_and_untags_fold_and_conditions_see_start_of_tick(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - name: a
          priority: 2
          rule: when new order then tag "x", untag "old", tag "y"
        - name: b
          priority: 1
          rule: when new order if tags contains "x" then untag "y"
        """,
    )
    plan = plan_tick(fire_all(rs, [make_order(id="A", tags=frozenset({"old"}))]), now)
    order = plan.orders["A"]
    assert order.matched_rules == ("a",)  # b saw the tags as they were: no "x"
    assert (order.tags_add, order.tags_remove) == (frozenset({"x", "y"}), frozenset({"old"}))


def test_first_allocating_rule_decides_policy_and_place(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - name: tagger
          priority: 50
          rule: when new order then tag "seen"
        - name: units
          priority: 20
          rule: when new order if total > 10 then allocate by unit
        - name: whole
          priority: 10
          rule: when new order then allocate all or nothing
        """,
    )
    big = make_order(id="BIG", total=Decimal(100))
    small = make_order(id="SMALL", total=Decimal(5))
    plan = plan_tick(fire_all(rs, [small, big]), now)
    queue = plan.allocation_queue
    assert [(r.order_id, r.rule, r.policy) for r in queue] == [
        ("BIG", "units", "units"),
        ("SMALL", "whole", "all_or_nothing"),
    ]
    assert plan.orders["BIG"].matched_rules == ("tagger", "units", "whole")


def test_order_by_desc_and_missing_values_last(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        "- {name: big-first, rule: 'when new order then allocate order by total desc, id desc'}\n",
    )
    orders = [
        make_order(id="A", total=Decimal(5)),
        make_order(id="B", total=None),
        make_order(id="C", total=Decimal(50)),
        make_order(id="D", total=Decimal(5)),
    ]
    plan = plan_tick(fire_all(rs, orders), now)
    assert [r.order_id for r in plan.allocation_queue] == ["C", "D", "A", "B"]


def test_order_by_string_desc_and_asc_none_last(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - name: a
          priority: 1
          rule: when new order if total > 10 then allocate order by shipping_method desc
        - {name: b, rule: when new order then allocate order by shipping_method}
        """,
    )
    orders = [
        make_order(id="A", total=Decimal(20), shipping_method="air"),
        make_order(id="B", total=Decimal(20), shipping_method="zeppelin"),
        make_order(id="C", total=Decimal(1), shipping_method=None),
        make_order(id="D", total=Decimal(1), shipping_method="boat"),
    ]
    plan = plan_tick(fire_all(rs, orders), now)
    assert [r.order_id for r in plan.allocation_queue] == ["B", "A", "D", "C"]


def test_deallocate_then_allocate_is_reallocate(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - {name: drop, priority: 3, rule: when order updated then deallocate}
        - {name: again, priority: 2, rule: when order updated then allocate}
        - {name: split-it, priority: 1, rule: when order updated then split}
        """,
    )
    plan = plan_tick(fire_all(rs, [make_order(id="A")]), now)
    (request,) = plan.allocation_queue
    assert request.reallocate and request.rule == "again"
    assert plan.deallocations == ()
    assert plan.splits == ("A",)


def test_allocate_then_deallocate_leaves_it_deallocated(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - {name: take, priority: 3, rule: when order updated then allocate}
        - {name: drop, priority: 2, rule: when order updated then deallocate}
        """,
    )
    plan = plan_tick(fire_all(rs, [make_order(id="A")]), now)
    assert plan.allocation_queue == ()
    assert plan.deallocations == ("A",)


def test_channel_filter_duplicates_and_disabled_rules(
    tmp_path: Path, make_order: Callable[..., Any], now: Any
) -> None:
    rs = ruleset(
        tmp_path,
        """\
        - {name: amazon, rule: 'when new order from channel "amazon" then allocate'}
        - {name: off, enabled: false, priority: 9, rule: when new order then stop}
        """,
    )
    a = make_order(id="A", channel="amazon")
    s = make_order(id="S", channel="shopify")
    rule = rs.get("amazon")
    plan = plan_tick([(rule, [a, s]), (rule, [a]), (rs.get("off"), [a, s])], now)
    assert list(plan.orders) == ["A"]
    assert plan.orders["A"].matched_rules == ("amazon",)
