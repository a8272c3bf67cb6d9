"""The syntax tree of one rule: immutable, positioned, comparable regardless of position.

Every node carries ``line`` and ``column`` (1-based, relative to the rule text). Positions are
excluded from equality (``compare=False``) so that two rules written differently but meaning the
same thing compare equal; the linter relies on this to spot identical conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _meta
from datetime import timedelta
from decimal import Decimal
from typing import Literal as TypingLiteral

EventName = TypingLiteral[
    "new order",
    "order updated",
    "inventory received",
    "inventory changed",
    "order overallocated",
    "stock released",
]
Policy = TypingLiteral["lines", "units", "all_or_nothing"]
ActionKind = TypingLiteral["allocate", "reallocate", "deallocate", "split", "tag", "untag", "stop"]
CompareOp = TypingLiteral["==", "!=", "<", "<=", ">", ">="]

#: A literal's Python value: str, int or Decimal (numbers), bool, or timedelta (durations).
LiteralValue = str | int | Decimal | bool | timedelta


@dataclass(frozen=True)
class Literal:
    """A literal in a condition; ``kind`` is one of string, number, boolean, duration."""

    value: LiteralValue
    kind: TypingLiteral["string", "number", "boolean", "duration"]
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class FieldRef:
    """A field name as written (``ship_to.country``, ``attributes.gift``)."""

    name: str
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


# ---- conditions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    """``field OP value`` with OP one of == != < <= > >=."""

    field: FieldRef
    op: CompareOp
    value: Literal
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class InList:
    """``field in [..]`` or, when ``negated``, ``field not in [..]``."""

    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class Contains:
    """``field contains value`` (set membership, or substring on strings); maybe negated."""

    field: FieldRef
    value: Literal
    negated: bool
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class Matches:
    """``field matches "regex"`` (``re.search`` semantics)."""

    field: FieldRef
    pattern: Literal
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class And:
    """All of ``items`` (flattened: never directly contains another And)."""

    items: tuple[Condition, ...]
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class Or:
    """Any of ``items`` (flattened: never directly contains another Or)."""

    items: tuple[Condition, ...]
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    """The negation of ``item``."""

    item: Condition
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


Comparison = Compare | InList | Contains | Matches
Condition = Compare | InList | Contains | Matches | And | Or | Not


# ---- triggers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EventTrigger:
    """``when <event> [from channel ...]``; ``channels`` is None when any channel is accepted."""

    event: EventName
    channels: tuple[str, ...] | None = None
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class EveryTrigger:
    """``every N minutes|hours|days``; ``unit`` is normalised to the plural."""

    amount: int
    unit: TypingLiteral["minutes", "hours", "days"]
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)

    @property
    def interval(self) -> timedelta:
        """The period as a timedelta (zero for ``every 0 minutes``, which the linter flags)."""
        return timedelta(**{self.unit: self.amount})


@dataclass(frozen=True)
class DailyTrigger:
    """``daily at HH:MM`` in the rule file's timezone."""

    hour: int
    minute: int
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class CronTrigger:
    """``cron "m h dom mon dow"``; ``expr_line``/``expr_column`` locate the string literal."""

    expr: str
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)
    expr_line: int = _meta(default=0, compare=False)
    expr_column: int = _meta(default=0, compare=False)


Trigger = EventTrigger | EveryTrigger | DailyTrigger | CronTrigger
ScheduleTrigger = EveryTrigger | DailyTrigger | CronTrigger


# ---- actions, ordering, rule --------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One action after ``then``.

    ``policy`` is set for ``allocate`` (default ``lines``) and ``reallocate`` (``lines``);
    ``tag`` is set for ``tag``/``untag``; ``warehouses`` is the ``from [...]`` preference list
    of an allocating action (None: the order's own warehouse); ``warehouse_places`` the
    (line, column) of each name's string literal in the rule text.
    """

    kind: ActionKind
    policy: Policy | None = None
    tag: str | None = None
    warehouses: tuple[str, ...] | None = None
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)
    warehouse_places: tuple[tuple[int, int], ...] = _meta(default=(), compare=False)

    @property
    def allocates(self) -> bool:
        """True for the actions that decide an order's allocation place and policy."""
        return self.kind in ("allocate", "reallocate")


@dataclass(frozen=True)
class OrderKey:
    """One ``order by`` key."""

    field: FieldRef
    descending: bool = False
    line: int = _meta(default=0, compare=False)
    column: int = _meta(default=0, compare=False)


@dataclass(frozen=True)
class Rule:
    """A parsed rule. ``order_by`` is empty when the rule has no ``order by`` clause."""

    trigger: Trigger
    condition: Condition | None
    actions: tuple[Action, ...]
    order_by: tuple[OrderKey, ...] = ()
    line: int = _meta(default=1, compare=False)
    column: int = _meta(default=1, compare=False)
