"""Lint of a rule set: rules that never fire, rules shadowed by an earlier stop, same-priority
overlaps whose order is ambiguous. Bounded: at most MAX_PAIR_CHECKS pair checks per file."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.errors import shorten
from dsl.syntax import (
    And,
    Compare,
    Condition,
    CronTrigger,
    EventTrigger,
    EveryTrigger,
    InList,
    LiteralValue,
    Not,
    Or,
    Trigger,
)
from rules.cron import CronError, parse_cron
from rules.ruleset import CompiledRule, order_rules

Finding = tuple[CompiledRule, str, str | None]


#: Pair comparisons lint may spend on one file (shadowing and overlap checks together). Typical
#: files need a few per rule; past the budget lint says what it could not check instead of taking
#: quadratic time (5,000 rules at one priority are 12.5 million pairs).
MAX_PAIR_CHECKS = 200_000
#: Rule names one overlap warning lists before "and N more".
_GROUP_NAMES = 4


def lint(rules: Sequence[CompiledRule]) -> list[Finding]:
    """Warnings about active rules: (rule, message, hint) for shadowed, ambiguous, dead rules.

    The checks are conservative (syntactic): a warning means the problem is certain (shadowing,
    schedules that never fire) or not ruled out (overlapping equal-priority rules). Overlaps are
    grouped: rules of one priority that are linked by overlapping pairs get one warning, on the
    second of them, naming the group. Time is linear in the number of rules for typical files and
    bounded by :data:`MAX_PAIR_CHECKS` for any file.
    """
    active = order_rules([r for r in rules if r.enabled])
    findings: list[Finding] = []
    for rule in active:
        findings.extend(_never_fires(rule))
        findings.extend(_empty_lists(rule))
    budget = _Budget(MAX_PAIR_CHECKS)
    findings.extend(_shadowed(active, budget))
    findings.extend(_overlaps(active, budget))
    return findings


class _Budget:
    def __init__(self, checks: int) -> None:
        self.left = checks

    def spend(self) -> bool:
        """Take one check; False once the budget is gone."""
        self.left -= 1
        return self.left >= 0


def _trigger_key(trigger: Trigger) -> object:
    # Rules can only overlap (or shadow) within one key: an event family, or one schedule.
    if isinstance(trigger, EventTrigger):
        return "inventory" if trigger.event.startswith("inventory") else trigger.event
    return trigger


def _shadowed(active: Sequence[CompiledRule], budget: _Budget) -> list[Finding]:
    """Rules that never apply because an earlier rule matching the same orders says stop."""
    findings: list[Finding] = []
    # Stopping rules by (trigger key, condition); None stands for "no condition".
    stoppers: dict[tuple[object, Condition | None], list[CompiledRule]] = {}
    for later in active:
        key = _trigger_key(later.trigger)
        conditions = {None, later.condition}
        first: CompiledRule | None = None
        for condition in conditions:
            for earlier in stoppers.get((key, condition), ()):
                if first is not None and earlier.rank >= first.rank:
                    break
                if not budget.spend():
                    return findings
                if _shadows(earlier, later):
                    first = earlier
                    break
        if first is not None:
            findings.append(
                (
                    later,
                    f"rule `{shorten(later.name)}` never applies: `{shorten(first.name)}` "
                    f"(priority {first.priority}) matches the same orders first and says stop",
                    f"give it a higher priority, or narrow the condition of "
                    f"`{shorten(first.name)}`",
                )
            )
        if later.stops:
            stoppers.setdefault((key, later.condition), []).append(later)
    return findings


def _overlaps(active: Sequence[CompiledRule], budget: _Budget) -> list[Finding]:
    """One warning per group of same-priority rules linked by pairs that can match one order."""
    buckets: dict[tuple[int, object], list[CompiledRule]] = {}
    for rule in active:
        buckets.setdefault((rule.priority, _trigger_key(rule.trigger)), []).append(rule)
    findings: list[Finding] = []
    for (priority, _), bucket in buckets.items():
        groups, unchecked = _overlap_groups(bucket, budget)
        findings.extend(_group_warning(group, priority) for group in groups)
        if unchecked is not None:
            findings.append(
                (
                    unchecked,
                    f"lint did not compare `{shorten(unchecked.name)}` and the rules after it "
                    f"with every rule of the same priority ({priority}): there are too many; "
                    "where they can match the same order, file order decides",
                    "give rules different priorities where the order matters",
                )
            )
            break  # the budget is spent: no pair check for the other buckets either
    return findings


def _overlap_groups(
    bucket: Sequence[CompiledRule], budget: _Budget
) -> tuple[list[list[CompiledRule]], CompiledRule | None]:
    """Connected groups (2+ rules) of the overlap relation; the first rule not checked, if any.

    Each rule is compared with the groups built so far, stopping at the first member of a group
    it overlaps: when most rules overlap (the quadratic case) that is one comparison per rule.
    """
    groups: list[list[CompiledRule]] = []
    for rule in bucket:
        hit: list[int] = []
        for index, group in enumerate(groups):
            for member in group:
                if not budget.spend():
                    return [g for g in groups if len(g) > 1], rule
                if _ambiguous(member, rule):
                    hit.append(index)
                    break
        merged = [member for index in hit for member in groups[index]]
        for index in reversed(hit):
            del groups[index]
        groups.append([*merged, rule])
    return [sorted(g, key=lambda r: r.rank) for g in groups if len(g) > 1], None


def _group_warning(group: Sequence[CompiledRule], priority: int) -> Finding:
    names = [f"`{shorten(r.name)}`" for r in group]
    if len(names) == 2:
        return (
            group[1],
            f"rules {names[0]} and {names[1]} have the same priority ({priority}) and can match "
            "the same order; file order decides",
            "give one of them a higher priority if the order matters",
        )
    if len(names) > _GROUP_NAMES + 1:
        listed = ", ".join(names[:_GROUP_NAMES]) + f" and {len(names) - _GROUP_NAMES:,} more"
    else:
        listed = ", ".join(names[:-1]) + " and " + names[-1]
    return (
        group[1],
        f"{len(names):,} rules have the same priority ({priority}) and pairs of them can match "
        f"the same order: {listed}; file order decides",
        "give them different priorities where the order matters",
    )


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
            expr = shorten(trigger.expr)
            return [(rule, f'cron "{expr}" names a date that never exists', None)]
    return []


def _empty_lists(rule: CompiledRule) -> list[Finding]:
    """`channel in []` is never true (the type checker accepts an empty list): say so, as of a
    schedule that never fires; a rule ANDing it never applies."""
    todo = [rule.condition] if rule.condition is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, And | Or):
            todo.extend(node.items)
        elif isinstance(node, Not):
            todo.append(node.item)
        elif isinstance(node, InList) and not node.values and not node.negated:
            field = shorten(node.field.name)
            return [(rule, f"`{field} in []` never matches: the list is empty", "list the values")]
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
