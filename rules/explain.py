"""Why a rule does or does not match an order: the first condition that failed, and what it saw.

Used by `dibs explain`. Pure: it evaluates one comparison at a time with the same compiled
predicates the runner uses, so an explanation can never disagree with what the rule does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from dsl.compile import Getter, compile_condition, compile_getter
from dsl.syntax import (
    And,
    Compare,
    Comparison,
    Condition,
    Contains,
    EventTrigger,
    InList,
    Literal,
    Matches,
    Not,
    Or,
)
from rules.ruleset import CompiledRule
from rules.vocabulary import ORDER_VOCABULARY


@dataclass(frozen=True)
class RuleVerdict:
    """Whether `rule` matches the order now and, if not, the first reason why not."""

    rule: str
    priority: int
    matches: bool
    trigger: str
    reason: str | None = None


def show_literal(literal: Literal) -> str:
    value = literal.value
    if literal.kind == "string":
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if literal.kind == "boolean":
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return show_duration(value)
    return str(value)


def show_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} seconds"


def show_value(value: Any) -> str:
    """A value as a rule author would write it."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, timedelta):
        return show_duration(value) if value >= timedelta(0) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, frozenset | set):
        return "[" + ", ".join(f'"{v}"' for v in sorted(value)) + "]"
    return repr(value)


def show_comparison(atom: Comparison) -> str:
    name = atom.field.name
    if isinstance(atom, Compare):
        return f"{name} {atom.op} {show_literal(atom.value)}"
    if isinstance(atom, InList):
        items = ", ".join(show_literal(v) for v in atom.values)
        return f"{name} {'not in' if atom.negated else 'in'} [{items}]"
    if isinstance(atom, Contains):
        return f"{name} {'not contains' if atom.negated else 'contains'} {show_literal(atom.value)}"
    return f"{name} matches {show_literal(atom.pattern)}"


@cache
def _getter(name: str) -> Getter:
    return compile_getter(name, ORDER_VOCABULARY)


def _holds(condition: Condition, order: Any, now: datetime) -> bool:
    return compile_condition(condition, ORDER_VOCABULARY)(order, now)


def first_failure(condition: Condition, order: Any, now: datetime) -> str | None:
    """None when `condition` holds; else the first comparison that failed and the value seen."""
    if _holds(condition, order, now):
        return None
    if isinstance(condition, And):
        for item in condition.items:
            reason = first_failure(item, order, now)
            if reason is not None:
                return reason
        return None
    if isinstance(condition, Or):
        reasons = [first_failure(item, order, now) for item in condition.items]
        return "none of the alternatives held: " + "; ".join(r for r in reasons if r)
    if isinstance(condition, Not):
        return f"not ({_describe(condition.item)}) failed: it held"
    name = condition.field.name
    seen = show_value(_getter(name)(order, now))
    return f"{show_comparison(condition)} failed: {name} was {seen}"


def _describe(condition: Condition) -> str:
    if isinstance(condition, And):
        return " and ".join(_describe(c) for c in condition.items)
    if isinstance(condition, Or):
        return " or ".join(_describe(c) for c in condition.items)
    if isinstance(condition, Not):
        return f"not ({_describe(condition.item)})"
    if isinstance(condition, Compare | InList | Contains | Matches):
        return show_comparison(condition)
    raise TypeError(condition)


def _trigger_text(rule: CompiledRule) -> str:
    return rule.text.split(" if ")[0].split(" then ")[0].strip()


def verdict(rule: CompiledRule, order: Any, now: datetime) -> RuleVerdict:
    """Whether the rule's channel filter and condition accept `order` now, and why not."""
    trigger = rule.trigger
    text = " ".join(_trigger_text(rule).split())
    if isinstance(trigger, EventTrigger) and not rule.accepts_channel(order.channel):
        channels = ", ".join(f'"{c}"' for c in trigger.channels or ())
        return RuleVerdict(
            rule.name,
            rule.priority,
            False,
            text,
            f"channel was {show_value(order.channel)}, the rule takes {channels}",
        )
    reason = None if rule.condition is None else first_failure(rule.condition, order, now)
    return RuleVerdict(rule.name, rule.priority, reason is None, text, reason)
