"""Pure planning of one rule tick (SPEC §7 "Priority"), shared by the runner, tests and preview.

Given the rules that fired this tick, each with its candidate orders, :func:`plan_tick` decides
what happens to each order without touching a database:

1. Every (rule, order) pair is evaluated against the orders as passed in, i.e. as they are at the
   start of the tick (nothing is changed while matching).
2. Per order, the matching rules apply in priority order, then file order, until one says
   ``stop``; their actions apply in the order written.
3. ``tag``/``untag`` are folded into the net tags to add and remove (applied before allocation).
4. The first applied rule with an allocation action (``allocate [...]`` or ``reallocate``) decides
   the order's place in the allocation queue and its policy.
5. ``deallocate`` and ``allocate`` on one order apply in rule order: a deallocate followed by an
   allocate is a reallocate (release, then allocate again at the back of the coverage queue); an
   allocate followed by a deallocate leaves the order deallocated (the later action wins), and the
   order is not queued.
6. ``split`` is collected; the engine is expected to split after allocation (a split moves the
   units that are still unreserved, so it only makes sense once allocation has run).

The allocation queue is sorted by the deciding rule's priority (desc), its file order, its
``order by`` keys (default ``placed_at asc``), then order id (asc). Missing values (None) sort
last whatever the direction, like SQL's NULLS LAST.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from dsl.compile import Getter, compile_getter
from dsl.syntax import Action, Policy
from rules.ruleset import CompiledRule
from rules.vocabulary import ORDER_VOCABULARY


@dataclass(frozen=True)
class AllocationRequest:
    """One entry of the allocation queue: which order, with which policy, decided by which rule.

    ``reallocate`` is True when the order's reservations are released first (a ``reallocate``
    action, or a ``deallocate`` before the allocation). ``warehouses`` is the deciding action's
    ``from [...]`` list (SPEC §12); None: the order's own warehouse.
    """

    order_id: str
    rule: str
    priority: int
    rule_index: int
    policy: Policy
    reallocate: bool = False
    order_by: tuple[tuple[str, bool], ...] = (("placed_at", False),)
    warehouses: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OrderPlan:
    """What the tick does to one order that at least one fired rule matched."""

    order_id: str
    matched_rules: tuple[str, ...]
    actions: tuple[tuple[str, Action], ...]
    tags_add: frozenset[str]
    tags_remove: frozenset[str]
    allocation: AllocationRequest | None
    deallocate: bool
    split: bool
    stopped_by: str | None = None


@dataclass(frozen=True)
class TickPlan:
    """The whole tick: per-order plans plus the work lists the engine executes in this order:
    tag changes, deallocations, the allocation queue, then splits."""

    now: datetime
    orders: Mapping[str, OrderPlan]
    allocation_queue: tuple[AllocationRequest, ...]
    deallocations: tuple[str, ...]
    splits: tuple[str, ...]

    @property
    def tag_changes(self) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """order id -> (tags to add, tags to remove), only for orders whose tags change."""
        return {
            oid: (p.tags_add, p.tags_remove)
            for oid, p in self.orders.items()
            if p.tags_add or p.tags_remove
        }


def plan_tick(fired: Iterable[tuple[CompiledRule, Iterable[Any]]], now: datetime) -> TickPlan:
    """Plan one tick from the rules that fired and their candidate orders (see module doc).

    ``fired`` may name a rule more than once (several events in one tick); each (rule, order)
    pair counts once. Disabled rules are ignored.
    """
    orders: dict[str, Any] = {}
    matches: dict[str, dict[str, CompiledRule]] = {}
    for rule, candidates in fired:
        if not rule.enabled:
            continue
        for order in candidates:
            orders.setdefault(order.id, order)
            if rule.name in matches.get(order.id, {}):
                continue
            if rule.matches(orders[order.id], now):
                matches.setdefault(order.id, {})[rule.name] = rule
    decisions = Decisions()
    plans = {
        oid: plan_of(
            oid,
            decisions(sorted(rules.values(), key=lambda r: r.rank), frozenset(orders[oid].tags)),
        )
        for oid, rules in matches.items()
    }
    queue = _sort_queue(
        [p.allocation for p in plans.values() if p.allocation is not None], orders, now
    )
    return TickPlan(
        now=now,
        orders=plans,
        allocation_queue=tuple(queue),
        deallocations=tuple(oid for oid, p in plans.items() if p.deallocate),
        splits=tuple(oid for oid, p in plans.items() if p.split),
    )


class Decisions:
    """:func:`decide`, remembered per (rule names, tags) for the length of one tick."""

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[str, ...], frozenset[str]], OrderPlan] = {}

    def __call__(self, rules: Sequence[CompiledRule], tags: frozenset[str]) -> OrderPlan:
        key = (tuple(r.name for r in rules), tags)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = decide(tuple(rules), tags)
        return found


def plan_of(order_id: str, decision: OrderPlan) -> OrderPlan:
    """`decision` (see :func:`decide`) as the plan of one order."""
    allocation = decision.allocation
    if allocation is not None:
        allocation = replace(allocation, order_id=order_id)
    return replace(decision, order_id=order_id, allocation=allocation)


def decide(rules: tuple[CompiledRule, ...], tags: frozenset[str]) -> OrderPlan:
    """What the matching `rules` (in application order) do to an order with `tags` (steps 2-5
    of the module doc), as a plan with an empty order id: it depends on nothing else, so a
    tick over many orders decides once per distinct (rules, tags) and reuses the answer
    (`Decisions`)."""
    applied: list[str] = []
    actions: list[tuple[str, Action]] = []
    now_tags = set(tags)
    decision: AllocationRequest | None = None
    intent: str | None = None  # None, "allocate", "reallocate" or "deallocate"
    split = False
    stopped_by: str | None = None
    for rule in rules:
        applied.append(rule.name)
        for action in rule.actions:
            actions.append((rule.name, action))
            if action.kind == "tag" and action.tag is not None:
                now_tags.add(action.tag)
            elif action.kind == "untag" and action.tag is not None:
                now_tags.discard(action.tag)
            elif action.allocates:
                if decision is None:
                    decision = AllocationRequest(
                        "",
                        rule.name,
                        rule.priority,
                        rule.index,
                        action.policy or "lines",
                        order_by=tuple((k.field.name, k.descending) for k in rule.order_by),
                        warehouses=action.warehouses,
                    )
                if action.kind == "reallocate" or intent in ("deallocate", "reallocate"):
                    intent = "reallocate"
                else:
                    intent = "allocate"
            elif action.kind == "deallocate":
                intent = "deallocate"
            elif action.kind == "split":
                split = True
        if rule.stops:
            stopped_by = rule.name
            break
    allocation = None
    if decision is not None and intent in ("allocate", "reallocate"):
        allocation = replace(decision, reallocate=intent == "reallocate")
    return OrderPlan(
        order_id="",
        matched_rules=tuple(applied),
        actions=tuple(actions),
        tags_add=frozenset(now_tags - tags),
        tags_remove=frozenset(tags - now_tags),
        allocation=allocation,
        deallocate=intent == "deallocate",
        split=split,
        stopped_by=stopped_by,
    )


@cache
def _getter(field_name: str) -> Getter:
    return compile_getter(field_name, ORDER_VOCABULARY)


def _sort_queue(
    requests: list[AllocationRequest], orders: Mapping[str, Any], now: datetime
) -> list[AllocationRequest]:
    # Key order per rule differs, so sort each deciding rule's group on its own keys; groups
    # are then laid out by (priority desc, file order).
    groups: dict[tuple[int, int], list[AllocationRequest]] = {}
    for request in requests:
        groups.setdefault((-request.priority, request.rule_index), []).append(request)
    out: list[AllocationRequest] = []
    for rank in sorted(groups):
        by_id = {r.order_id: r for r in groups[rank]}
        keys = groups[rank][0].order_by
        out.extend(by_id[oid] for oid in sort_order_ids(by_id, orders, keys, now))
    return out


def sort_order_ids(
    ids: Iterable[str],
    orders: Mapping[str, Any],
    keys: Sequence[tuple[str, bool]],
    now: datetime,
) -> list[str]:
    """`ids` sorted by `order by` keys ((field, descending) pairs), then id.

    Missing values sort last in either direction; attribute values of mixed types sort numbers,
    then text, then booleans. Shared by the tick's queue and `dibs allocate --order-by`.
    """
    ordered = sorted(ids)
    # Stable sorts from the last key to the first give a multi-key sort with mixed
    # directions, without having to negate strings or datetimes.
    for field_name, descending in reversed(keys):
        get = _getter(field_name)
        ordered.sort(key=_none_last(get, orders, now, descending), reverse=descending)
    return ordered


def _none_last(
    get: Getter, orders: Mapping[str, Any], now: datetime, descending: bool
) -> Callable[[str], tuple[int, Any]]:
    def key(order_id: str) -> tuple[int, Any]:
        value = _comparable(get(orders[order_id], now))
        present = value is not None
        # With reverse=True the flag must be inverted for None to stay last.
        flag = int(present) if descending else int(not present)
        return (flag, value if present else 0)

    return key


def _comparable(value: Any) -> Any:
    """Make attribute values of mixed types sortable: numbers before text before booleans."""
    if value is None:
        return None
    if isinstance(value, bool):
        return (2, int(value))
    if isinstance(value, int | float | Decimal):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return value
