"""RuleSet: the compiled rules of one file, in the order they apply (lint: rules.lint).

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
    Condition,
    EventTrigger,
    FieldRef,
    OrderKey,
    Rule,
    Trigger,
)
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
    #: The file's (line, column) of each warehouse the actions name (`allocate from [...]`),
    #: in the order of :attr:`named_warehouses`.
    warehouse_places: tuple[tuple[int, int], ...] = ()

    @property
    def named_warehouses(self) -> tuple[tuple[str, int, int], ...]:
        """Each warehouse an action names, with its line and column in the file (the rule's
        own when they are not known)."""
        names = [w for a in self.actions for w in a.warehouses or ()]
        places = self.warehouse_places
        if len(places) != len(names):
            places = ((self.line, self.column),) * len(names)
        pairs = zip(names, places, strict=True)
        return tuple((name, line, column) for name, (line, column) in pairs)

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


#: Where an order of a test is in the file: field name as an import names it (`channel`,
#: `ship_to.country`, `lines[0].qty`; `""` for the order itself) -> (line, column).
Places = Mapping[str, tuple[int, int]]


@dataclass(frozen=True)
class TestStep:
    """One step of a rule test (``steps:``): what happens, then what to expect.

    ``action`` is ``tick`` (``value``: how many), ``orders`` (new orders, raw mappings),
    ``ship`` / ``cancel`` / ``dropship`` (order ids), ``receive`` / ``set`` / ``adjust``
    (SKU -> quantity in warehouse main, or SKU -> {warehouse: quantity}), ``edit`` (order id ->
    its new lines as (sku, qty)), or None for a step that only checks ``expect``.
    """

    __test__ = False  # not a pytest class, whatever its name

    action: str | None
    value: Any
    expect: Mapping[str, str]
    line: int = 0
    #: For an `orders` step: where each of its orders (and their fields) are in the file.
    places: tuple[Places, ...] = ()

    @property
    def label(self) -> str:
        """How a failure names the step: ``cancel A1``, ``tick``, ``receive WIDGET: 3``."""
        if self.action is None:
            return "expect"
        if self.action == "tick":
            return "tick" if self.value == 1 else f"tick {self.value}"
        if isinstance(self.value, tuple) and self.action in ("ship", "cancel", "dropship"):
            return f"{self.action} {', '.join(self.value)}"
        if isinstance(self.value, Mapping) and self.action != "edit":
            shown = ", ".join(f"{k}: {_quantity(v)}" for k, v in self.value.items())
            return f"{self.action} {shown}"
        if self.action == "edit":
            return f"edit {', '.join(self.value)}"
        count = len(self.value)
        return f"{self.action} ({count} order{'' if count == 1 else 's'})"


def _quantity(value: Any) -> str:
    """``3``, or ``2 in east, 1 in west`` for a per-warehouse quantity."""
    if isinstance(value, Mapping):
        return ", ".join(f"{q} in {w}" for w, q in value.items())
    return str(value)


@dataclass(frozen=True)
class RuleTest:
    """One entry of the file's ``tests:`` section (orders are the raw mappings of the file).

    Without ``steps`` the test runs one tick and checks ``expect`` (SPEC §6); with ``steps`` it
    runs them in order, checking each step's ``expect``, and ``expect`` (if any) at the end.
    """

    __test__ = False

    name: str
    inventory: Mapping[str, int | Mapping[str, int]]
    orders: tuple[Mapping[str, Any], ...]
    expect: Mapping[str, str]
    line: int = 0
    steps: tuple[TestStep, ...] = ()
    #: Kit SKU -> its components as (sku, qty per kit), defined before the inventory.
    kits: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    #: Kit SKU -> the line of its definition (for messages).
    kit_lines: Mapping[str, int] = field(default_factory=dict)
    #: The line of each of `orders` (for messages about one order).
    order_lines: tuple[int, ...] = ()
    #: Where each of `orders` and their fields are in the file (for messages about a field).
    order_places: tuple[Places, ...] = ()


@dataclass(frozen=True)
class NotifySpec:
    """One outbound webhook endpoint of the ``notify:`` section (SPEC §13).

    The secret itself is never in the file: ``secret_env`` names the environment variable that
    holds it, read by whoever delivers (``secret_at`` locates the name for warnings).
    """

    name: str
    url: str
    events: frozenset[str]
    secret_env: str
    line: int = 0
    secret_at: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file, ordered by priority (desc) then file order."""

    path: str
    hash: str
    timezone_name: str
    rules: tuple[CompiledRule, ...]
    tests: tuple[RuleTest, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    notify: tuple[NotifySpec, ...] = ()
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
