"""Which orders a tick offers each fired rule (SPEC §8): the order of an order event, and for a
stock event the awaiting orders that stock can serve. Offers go into the tick's tables, chunk by
chunk of claimed events (engine.service.tick_tables)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select

from engine.model import EventType, Kits, OrderStatus
from engine.service.tick_tables import TickTables
from engine.store import order_lines, orders, outbox
from engine.store.kit_rows import load_kits
from rules.ruleset import CompiledRule, RuleSet

#: Events whose rules are offered the awaiting orders with a line on the event's stock.
_STOCK_EVENTS = frozenset({EventType.INVENTORY_CHANGED, EventType.STOCK_RELEASED})
_STATUS_CHANGED = EventType.ALLOCATION_CHANGED
#: The event types whose payload the tick reads (which stock, which new status).
READ_PAYLOAD = frozenset({str(e) for e in (*_STOCK_EVENTS, _STATUS_CHANGED)})
#: The others: each offers its order to the rules of its type, whatever its payload.
ORDER_EVENTS = frozenset(str(e) for e in EventType) - READ_PAYLOAD
#: Every detail of an event that `RuleSet.rules_for_event` tells apart (None: the others).
_DETAILS = (None, "received", "overallocated")


class Offering:
    """Offers the fired rules their orders, into the tick's tables, event chunk by chunk."""

    def __init__(
        self,
        ruleset: RuleSet,
        numbers: Mapping[str, int],
        tables: TickTables,
        offered: set[int],
    ) -> None:
        self.ruleset = ruleset
        self.numbers = numbers
        self.tables = tables
        self.offered = offered
        self.kits: Kits | None = None  # read once per tick, when an inventory event needs it
        # Each (rule, stock key) offered once: a big cancel writes many stock events on the
        # same few keys.
        self.on_stock: set[tuple[str, tuple[str, str]]] = set()
        self.rules: dict[tuple[str, Any], tuple[CompiledRule, ...]] = {}

    def events(self, claimed: Sequence[outbox.Pending]) -> None:
        by_rule: dict[int, list[str]] = defaultdict(list)
        for _, kind, order_id, payload in claimed:
            detail = payload.get("after" if kind == _STATUS_CHANGED else "kind")
            rules = self.rules.get((kind, detail))
            if rules is None:
                rules = self.rules[(kind, detail)] = self.ruleset.rules_for_event(kind, detail)
            if not rules:
                continue
            if kind in _STOCK_EVENTS:
                key = (payload["sku"], payload["warehouse"])
                for rule in rules:
                    if (rule.name, key) not in self.on_stock:
                        self.on_stock.add((rule.name, key))
                        self.select(rule, self._orders_on(rule, *key))
            elif order_id:
                for rule in rules:
                    by_rule[self.numbers[rule.name]].append(order_id)
        for number, ids in by_rule.items():
            self.tables.offer(number, ids)
            self.offered.add(number)

    def in_sql(self) -> frozenset[str]:
        """The event types `claim_in_sql` claims: the order events, and the others no rule
        fires on whatever their payload (the details `rules_for_event` tells apart)."""
        quiet = {
            kind
            for kind in READ_PAYLOAD
            if not any(self.ruleset.rules_for_event(kind, d) for d in _DETAILS)
        }
        return ORDER_EVENTS | quiet

    def claim_in_sql(self, types: frozenset[str]) -> tuple[int, bool]:
        """Claim the pending events of `types` (`in_sql`) and make the order events'
        offers in SQL (`TickClaims.offer_events`), so a tick over 100k new orders reads no
        event row. Returns how many were claimed and whether other events are pending (they
        then come through `events`)."""
        rules = {
            kind: [self.numbers[rule.name] for rule in found]
            for kind in ORDER_EVENTS
            if (found := self.ruleset.rules_for_event(kind))
        }
        count, offered, others = self.tables.events.offer_events(types, rules)
        self.offered.update(offered)
        return count, others

    def select(self, rule: CompiledRule, query: Select[Any]) -> None:
        number = self.numbers[rule.name]
        self.tables.offer_select(number, query)
        self.offered.add(number)

    def _orders_on(self, rule: CompiledRule, sku: str, warehouse: str) -> Select[Any]:
        """The awaiting orders with a line on `sku` (or on a kit made of it) offered to `rule`
        by a stock event on (`sku`, `warehouse`): the orders of that warehouse, as for every
        rule, and, when the rule allocates `from [...]` a list naming that warehouse, the orders
        of any warehouse (that stock can serve them)."""
        if self.kits is None:
            self.kits = load_kits(self.tables.conn)
        kits = [kit for kit, parts in self.kits.items() if sku in dict(parts)]
        query = (
            select(orders.c.id)
            .distinct()
            .join(order_lines, order_lines.c.order_id == orders.c.id)
            .where(
                order_lines.c.sku.in_([sku, *kits]),
                orders.c.status == OrderStatus.AWAITING_FULFILLMENT,
            )
        )
        if any(warehouse in (a.warehouses or ()) for a in rule.actions):
            return query
        return query.where(orders.c.warehouse == warehouse)
