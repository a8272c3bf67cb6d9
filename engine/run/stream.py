"""The streaming half of a tick: offered orders in chunks -> decisions -> the allocation queue.

A tick's candidates (every order some fired rule is offered) sit in `dibs_offers`
(engine.service.tick_tables), not in memory. One pass reads them in id order, `CHUNK` at a
time, with one SQL flag per fired rule: the rule is offered the order and its channel filter and
condition hold. A condition that `engine.store.sqlfilter` translates exactly is decided by that
flag alone, so no order object is built for it; a condition it cannot translate (a `matches`
on PostgreSQL, whose regex dialect differs) is decided by the compiled predicate on the chunk's
orders, as the pure planner does. (Numbers compared with attributes are exact in SQL too: rule
literals have at most 15 digits, which doubles hold exactly; see engine.store.sqlfilter.)
Per order, `rules.tick.decide` (the same planner `plan_tick` uses) turns the matching rules
into a decision, remembered per distinct (rules, tags): a tick over 100k orders makes a handful.

When every flag is exact, no rule tags and nothing is recorded, an order's decision depends
only on which rules it matched: each combination is decided once and `dibs_tick_plan` filled by
one INSERT … SELECT (`_plan_in_sql`), no order passing through Python, unless a combination
would deallocate, reallocate or split (their orders are listed in memory, below).

Only the decisions go back to the database (`dibs_tick_plan`); the queue is then sorted per
deciding rule by SQL (its `order by` keys, then id, by code point, as `sort_order_ids` sorts)
or, for `attributes.<key>` keys, in Python. Orders to tag, deallocate, release or split are
kept in memory (ids), as is every order's plan when `record` is set (previews, rule tests).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, true

from dsl.syntax import Action
from engine.service.tick_tables import TickTables
from engine.store import orders
from engine.store.ordering import needs_python_sort
from engine.store.rows import load_orders
from engine.store.sqlfilter import prefilter_clause
from rules.ruleset import CompiledRule
from rules.tick import AllocationRequest, Decisions, OrderPlan, plan_of, sort_order_ids

#: Events and candidate orders per step of the pass, and queue entries per allocation call
#: (each call has a fixed cost: staging, the stock counters). Tests set them small to make a
#: handful of orders span several chunks.
CHUNK = 20_000
QUEUE_CHUNK = 50_000
#: At most this many fired rules are planned in SQL (`_plan_in_sql` lists 2**n combinations).
_SQL_RULES = 6


@dataclass(frozen=True)
class Fired:
    """A rule that fired this tick, numbered by its application order (`rule_no`)."""

    rule: CompiledRule
    rule_no: int  # its number in the tick's tables and its queue group
    flag: ColumnElement[bool]  # the SQL side: channel filter and condition (or its prefilter)
    exact: bool  # the flag decides alone; else the predicate decides on the loaded order

    @property
    def keys(self) -> tuple[tuple[str, bool], ...]:
        return tuple((k.field.name, k.descending) for k in self.rule.order_by)


def fired_rule(rule: CompiledRule, rule_no: int, now: datetime, dialect: str) -> Fired:
    """The SQL flag of `rule` and whether it is exact (see the module doc)."""
    trigger = getattr(rule.trigger, "channels", None)
    parts: list[ColumnElement[bool]] = []
    if trigger is not None:
        parts.append(orders.c.channel.in_(sorted(trigger)))
    exact = True
    if rule.condition is not None:
        clause = prefilter_clause(rule.condition, now, dialect)
        exact = clause is not None
        if clause is not None:
            parts.append(clause)
    return Fired(rule, rule_no, and_(*parts) if parts else true(), exact)


@dataclass
class Streamed:
    """What the pass decided: numbered decisions and, per kind of work, which orders."""

    decisions: list[OrderPlan] = field(default_factory=list)
    uses: Counter[int] = field(default_factory=Counter)  # decision number -> orders
    groups: Counter[int] = field(default_factory=Counter)  # queue group -> orders
    tag_changes: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    deallocations: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    reallocations: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    splits: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    plans: dict[str, OrderPlan] = field(default_factory=dict)  # when recording
    before: dict[str, str] = field(default_factory=dict)  # when recording

    @property
    def matched(self) -> int:
        return sum(self.uses.values())

    def tally(self, names: Sequence[str]) -> dict[str, int]:
        """Rule name -> how many orders it applied to, in the order of `names`."""
        out: Counter[str] = Counter()
        for number, count in self.uses.items():
            for name in self.decisions[number].matched_rules:
                out[name] += count
        return {name: out[name] for name in names if out[name]}

    def request(self, number: int) -> AllocationRequest:
        found = self.decisions[number].allocation
        assert found is not None
        return found


def stream_plan(
    tables: TickTables, fired: Sequence[Fired], now: datetime, record: bool
) -> Streamed:
    """Decide every offered order, chunk by chunk, into `tables` (see the module doc)."""
    out = Streamed()
    numbers: dict[int, int] = {}  # id(decision) -> its number
    decide = Decisions()
    group_of = {f.rule.name: f.rule_no for f in fired}
    tags_matter = any(a.kind in ("tag", "untag") for f in fired for a in f.rule.actions)
    load = tags_matter or not all(f.exact for f in fired)
    if not (load or record) and (planned := _plan_in_sql(tables, fired)) is not None:
        return planned
    for chunk in tables.candidates([(f.rule_no, f.flag) for f in fired], CHUNK):
        loaded = load_orders(tables.conn, [row[0] for row in chunk]) if load else {}
        rows: list[tuple[str, int | None, int]] = []
        for oid, status, *flags in chunk:
            order = loaded.get(oid)
            if load and order is None:
                continue  # gone since the candidate read (cannot happen inside the tick)
            matched = [
                f.rule
                for f, flag in zip(fired, flags, strict=True)
                if flag and (f.exact or f.rule.matches(order, now))
            ]
            if not matched:
                continue
            decision = decide(matched, frozenset(order.tags) if order is not None else frozenset())
            number = numbers.get(id(decision))
            if number is None:
                number = numbers[id(decision)] = len(out.decisions)
                out.decisions.append(decision)
            out.uses[number] += 1
            grp = None if decision.allocation is None else group_of[decision.allocation.rule]
            rows.append((oid, grp, number))
            _note_work(out, oid, decision, grp)
            if record:
                out.plans[oid] = plan_of(oid, decision)
                out.before[oid] = status
        tables.plan(rows)
    return out


def _plan_in_sql(tables: TickTables, fired: Sequence[Fired]) -> Streamed | None:
    """`stream_plan` without an order in Python, when the SQL flags decide alone, no rule
    tags and nothing is recorded: an order's decision then depends only on which fired rules
    it matched, so each combination of flags is decided once here and `dibs_tick_plan` is
    filled by one INSERT … SELECT. None (the streaming pass decides) when some combination
    would deallocate, reallocate or split (those orders are listed in memory) or there are
    too many rules to list their combinations."""
    out = Streamed()
    if not fired:
        return out
    if len(fired) > _SQL_RULES:
        return None
    decide = Decisions()
    group_of = {f.rule.name: f.rule_no for f in fired}
    plan: dict[int, tuple[int | None, int]] = {}  # flag mask -> (queue group, decision)
    for mask in range(1, 1 << len(fired)):
        matched = [f.rule for bit, f in enumerate(fired) if mask >> bit & 1]
        decision = decide(matched, frozenset())
        allocation = decision.allocation
        if decision.deallocate or decision.split or (allocation and allocation.reallocate):
            return None
        grp = None if allocation is None else group_of[allocation.rule]
        plan[mask] = (grp, len(out.decisions))
        out.decisions.append(decision)
    for grp, number, count in tables.plan_masks([(f.rule_no, f.flag) for f in fired], plan):
        out.uses[number] += count
        if grp is not None:
            out.groups[grp] += count
    return out


def _note_work(out: Streamed, oid: str, decision: OrderPlan, grp: int | None) -> None:
    if grp is not None:
        out.groups[grp] += 1
        assert decision.allocation is not None
        if decision.allocation.reallocate:
            out.reallocations[decision.allocation.rule].append(oid)
    if decision.tags_add or decision.tags_remove:
        out.tag_changes[oid] = (decision.tags_add, decision.tags_remove)
    if decision.deallocate:
        out.deallocations[_last(decision.actions, "deallocate")].append(oid)
    if decision.split:
        out.splits[_last(decision.actions, "split")].append(oid)


def _last(actions: Sequence[tuple[str, Action]], kind: str) -> str:
    """The rule of the last `kind` action (the one whose name a ledger row carries)."""
    return [name for name, action in actions if action.kind == kind][-1]


def build_queue(
    tables: TickTables, streamed: Streamed, fired: Sequence[Fired], now: datetime
) -> int:
    """Lay out the allocation queue: groups by their rule's application order, each sorted
    by its rule's `order by` keys then id. Returns its length."""
    position = 0
    for f in fired:
        grp = f.rule_no
        if not streamed.groups[grp]:
            continue
        if not needs_python_sort(f.keys):
            tables.queue_group(grp, f.keys, position)
            position += streamed.groups[grp]
            continue
        decisions = tables.group_ids(grp)
        ids = list(decisions)
        loaded = {}
        for start in range(0, len(ids), CHUNK):
            loaded.update(load_orders(tables.conn, ids[start : start + CHUNK]))
        ordered = sort_order_ids(ids, loaded, f.keys, now)
        del loaded
        tables.queue_sorted(ordered, decisions, position)
        position += len(ordered)
    return position
