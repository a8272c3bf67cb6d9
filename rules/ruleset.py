"""RuleSet: the compiled rules of one file, in the order they apply, plus lint.

Rules are ordered by priority (higher first), then by their position in the file. Disabled rules
are kept (``RuleSet.rules``) but are not active (``RuleSet.active``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dsl.compile import Predicate
from dsl.syntax import (
    Action,
    And,
    Compare,
    Condition,
    CronTrigger,
    EventTrigger,
    EveryTrigger,
    FieldRef,
    InList,
    LiteralValue,
    OrderKey,
    Rule,
    Trigger,
)
from rules.cron import CronError, parse_cron
from rules.errors import Diagnostic

#: The sort used when a rule has no ``order by``: oldest first (FIFO); ties by id.
DEFAULT_ORDER_BY = (OrderKey(FieldRef("placed_at"), descending=False),)

# Outbox event types (SPEC §5) -> rule events they fire (SPEC §7).
_EVENT_RULES: Mapping[str, tuple[str, ...]] = {
    "order.created": ("new order",),
    "order.updated": ("order updated",),
    "stock.released": ("stock released",),
}


@dataclass(frozen=True)
class CompiledRule:
    """One rule of a file, parsed, type-checked and compiled.

    ``index`` is the rule's position in the file (0-based) and breaks priority ties;
    ``line``/``column`` locate its ``rule:`` string in the file.
    """

    name: str
    priority: int
    index: int
    text: str
    syntax: Rule
    predicate: Predicate
    description: str = ""
    enabled: bool = True
    line: int = 0
    column: int = 0

    @property
    def trigger(self) -> Trigger:
        """The rule's trigger (an event or a schedule)."""
        return self.syntax.trigger

    @property
    def condition(self) -> Condition | None:
        """The rule's condition, None when it has no ``if``."""
        return self.syntax.condition

    @property
    def actions(self) -> tuple[Action, ...]:
        """The actions after ``then``, in the order written."""
        return self.syntax.actions

    @property
    def order_by(self) -> tuple[OrderKey, ...]:
        """The allocation sort keys; ``placed_at asc`` when the rule has none (``id`` follows)."""
        return self.syntax.order_by or DEFAULT_ORDER_BY

    @property
    def is_scheduled(self) -> bool:
        """True for ``every``, ``daily at`` and ``cron`` rules."""
        return not isinstance(self.syntax.trigger, EventTrigger)

    @property
    def stops(self) -> bool:
        """True when the rule says ``stop``: lower rules do not apply to the orders it matches."""
        return any(a.kind == "stop" for a in self.actions)

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key of application order: priority descending, then file order."""
        return (-self.priority, self.index)

    def accepts_channel(self, channel: str | None) -> bool:
        """Whether the trigger's ``from channel`` filter (if any) lets this channel through."""
        trigger = self.syntax.trigger
        if not isinstance(trigger, EventTrigger) or trigger.channels is None:
            return True
        return channel in trigger.channels

    def matches(self, order: Any, now: datetime) -> bool:
        """The channel filter and the condition, evaluated for one order."""
        return self.accepts_channel(order.channel) and self.predicate(order, now)


@dataclass(frozen=True)
class RuleTest:
    """One entry of the file's ``tests:`` section (orders are the raw mappings of the file)."""

    name: str
    inventory: Mapping[str, int]
    orders: tuple[Mapping[str, Any], ...]
    expect: Mapping[str, str]
    line: int = 0


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file, ordered by priority (desc) then file order."""

    path: str
    hash: str
    timezone_name: str
    rules: tuple[CompiledRule, ...]
    tests: tuple[RuleTest, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    full_hash: str = ""
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @property
    def active(self) -> tuple[CompiledRule, ...]:
        """The enabled rules, in application order."""
        return tuple(r for r in self.rules if r.enabled)

    def get(self, name: str) -> CompiledRule:
        """The rule called ``name`` (KeyError when there is none)."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def rules_for_event(self, event_type: str, kind: str | None = None) -> tuple[CompiledRule, ...]:
        """Active rules an outbox event fires (``order.created``, ``inventory.changed``, ...).

        ``kind`` is the ``inventory.changed`` kind: ``received`` fires both ``inventory
        received`` and ``inventory changed`` rules, other kinds only ``inventory changed``; for
        ``allocation.changed`` it is the new status: ``overallocated`` fires ``order
        overallocated`` rules.
        Channel filters are applied per order by :meth:`CompiledRule.matches`.
        """
        if event_type == "inventory.changed":
            events: tuple[str, ...] = ("inventory changed",)
            if kind == "received":
                events += ("inventory received",)
        elif event_type == "allocation.changed":
            # ``kind`` is the status the order changed to (the event's ``after``).
            events = ("order overallocated",) if kind == "overallocated" else ()
        else:
            events = _EVENT_RULES.get(event_type, ())
        return tuple(
            r
            for r in self.active
            if isinstance(r.trigger, EventTrigger) and r.trigger.event in events
        )

    def scheduled_rules(self) -> tuple[CompiledRule, ...]:
        """Active rules with a schedule trigger (every / daily at / cron)."""
        return tuple(r for r in self.active if r.is_scheduled)


def order_rules(rules: Sequence[CompiledRule]) -> tuple[CompiledRule, ...]:
    """Rules in application order: priority descending, then file order."""
    return tuple(sorted(rules, key=lambda r: r.rank))


# ---- lint -----------------------------------------------------------------------------------

Finding = tuple[CompiledRule, str, str | None]


def lint(rules: Sequence[CompiledRule]) -> list[Finding]:
    """Warnings about active rules: (rule, message, hint) for shadowed, ambiguous, dead rules.

    The checks are conservative (syntactic): a warning means the problem is certain (shadowing,
    schedules that never fire) or not ruled out (overlapping equal-priority rules).
    """
    active = order_rules([r for r in rules if r.enabled])
    findings: list[Finding] = []
    for rule in active:
        findings.extend(_never_fires(rule))
    for i, later in enumerate(active):
        for earlier in active[:i]:
            if _shadows(earlier, later):
                findings.append(
                    (
                        later,
                        f"rule `{later.name}` never applies: `{earlier.name}` (priority "
                        f"{earlier.priority}) matches the same orders first and says stop",
                        f"give it a higher priority, or narrow the condition of `{earlier.name}`",
                    )
                )
                break
        for earlier in active[:i]:
            if earlier.priority == later.priority and _ambiguous(earlier, later):
                findings.append(
                    (
                        later,
                        f"rules `{earlier.name}` and `{later.name}` have the same priority "
                        f"({later.priority}) and can match the same order; file order decides",
                        "give one of them a higher priority if the order matters",
                    )
                )
    return findings


def _never_fires(rule: CompiledRule) -> list[Finding]:
    trigger = rule.trigger
    if isinstance(trigger, EveryTrigger) and trigger.amount == 0:
        return [(rule, f"`every 0 {trigger.unit}` never fires", "use an interval of at least 1")]
    if isinstance(trigger, CronTrigger):
        try:
            spec = parse_cron(trigger.expr)
        except CronError:
            return []  # reported as an error by the loader
        if not spec.can_fire():
            return [(rule, f'cron "{trigger.expr}" names a date that never exists', None)]
    return []


def _trigger_covers(wide: Trigger, narrow: Trigger) -> bool:
    if isinstance(wide, EventTrigger) and isinstance(narrow, EventTrigger):
        same_event = wide.event == narrow.event or (
            wide.event == "inventory changed" and narrow.event == "inventory received"
        )
        if not same_event:
            return False
        if wide.channels is None:
            return True
        return narrow.channels is not None and set(narrow.channels) <= set(wide.channels)
    return wide == narrow


def _shadows(earlier: CompiledRule, later: CompiledRule) -> bool:
    return (
        earlier.stops
        and _trigger_covers(earlier.trigger, later.trigger)
        and (earlier.condition is None or earlier.condition == later.condition)
    )


def _order_matters(rule: CompiledRule) -> bool:
    # Tagging commutes with everything a tick does before allocation; other actions do not.
    return any(a.kind not in ("tag", "untag") for a in rule.actions)


def _ambiguous(a: CompiledRule, b: CompiledRule) -> bool:
    if not (_order_matters(a) or _order_matters(b)):
        return False
    if not (_trigger_covers(a.trigger, b.trigger) or _trigger_covers(b.trigger, a.trigger)):
        ta, tb = a.trigger, b.trigger
        if not (
            isinstance(ta, EventTrigger)
            and isinstance(tb, EventTrigger)
            and ta.event == tb.event
            and (ta.channels is None or tb.channels is None or set(ta.channels) & set(tb.channels))
        ):
            return False
    return not _provably_disjoint(a.condition, b.condition)


def _allowed_values(condition: Condition | None) -> dict[str, tuple[bool, set[LiteralValue]]]:
    """Per field, from top-level conjuncts: (True, values it must be in) / (False, excluded)."""
    if condition is None:
        return {}
    items = condition.items if isinstance(condition, And) else (condition,)
    out: dict[str, tuple[bool, set[LiteralValue]]] = {}
    for item in items:
        if isinstance(item, Compare) and item.op in ("==", "!="):
            out.setdefault(item.field.name, (item.op == "==", {item.value.value}))
        elif isinstance(item, InList):
            out.setdefault(item.field.name, (not item.negated, {v.value for v in item.values}))
    return out


def _provably_disjoint(a: Condition | None, b: Condition | None) -> bool:
    left, right = _allowed_values(a), _allowed_values(b)
    for name in left.keys() & right.keys():
        (inc_a, vals_a), (inc_b, vals_b) = left[name], right[name]
        if inc_a and inc_b and not vals_a & vals_b:
            return True
        if inc_a and not inc_b and vals_a <= vals_b:
            return True
        if inc_b and not inc_a and vals_b <= vals_a:
            return True
    return False
