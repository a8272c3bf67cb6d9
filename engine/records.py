"""The records the operations pass around and show: actors, reports, queue entries, and the
conversions between database rows, domain objects and the JSON shapes of SPEC §8."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement

from engine.errors import BadInput
from engine.model import Line, Order, Policy, ShipTo
from engine.store import FIELD_COLUMNS, orders

Clock = Callable[[], datetime]


Progress = Callable[[int, int], None]  # (done, total)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who or what caused a change: a person at the CLI, or a rule of a rule set."""

    name: str = "cli"
    rule: str | None = None
    ruleset: str | None = None


@dataclass(frozen=True)
class QueueEntry:
    """One order to allocate, with the policy and the actor (rule) that put it there."""

    order_id: str
    policy: Policy = Policy.LINES
    actor: Actor = Actor()


@dataclass
class AllocationReport:
    """What an allocation run did: status changes in processing order, and what it skipped."""

    results: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reserved_units: int = 0

    def counts(self) -> dict[str, int]:
        tally: dict[str, int] = defaultdict(int)
        for row in self.results:
            tally[row["after"]] += 1
        return dict(tally)

    def as_json(self) -> dict[str, Any]:
        return {"results": self.results, "skipped": self.skipped}


def parse_order_by(text: str) -> list[tuple[str, bool]]:
    """`"total desc, placed_at"` -> [("total", True), ("placed_at", False)]; bad keys exit 2."""
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise BadInput(f"--order-by: cannot read {part.strip()!r}; use 'field [asc|desc]'")
        name = words[0]
        if name.startswith("attributes.") and len(name) > len("attributes."):
            pass  # sorted in Python (engine.service), like a rule's `order by`
        elif name not in FIELD_COLUMNS and name != "age":
            import difflib

            close = difflib.get_close_matches(name, [*FIELD_COLUMNS, "age"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else " (or attributes.<key>)"
            raise BadInput(f"--order-by: unknown field {name!r}{hint}")
        keys.append((name, len(words) == 2 and words[1] == "desc"))
    return keys


def order_by_clauses(keys: Sequence[tuple[str, bool]]) -> list[ColumnElement[Any]]:
    """SQL ORDER BY for order-by keys, missing values last, then id (FIFO's tie-break).

    Attribute keys have no column: callers sort those in Python (`needs_python_sort`)."""
    clauses: list[ColumnElement[Any]] = []
    for name, desc in keys or [("placed_at", False)]:
        if name == "age":  # older first means larger age: age asc is placed_at desc
            column, desc = orders.c.placed_at, not desc
        else:
            column = FIELD_COLUMNS[name]
        clauses.append((column.desc() if desc else column.asc()).nulls_last())
    clauses.append(orders.c.id.asc())
    return clauses


def needs_python_sort(keys: Sequence[tuple[str, bool]]) -> bool:
    """True when a key is `attributes.<key>`: untyped JSON values sort like a rule's `order by`
    (numbers, then text, then booleans), which SQL cannot express portably."""
    return any(name.startswith("attributes.") for name, _ in keys)


def aware(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything we store is UTC."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return None if value is None else aware(value).isoformat().replace("+00:00", "Z")


def normal_decimal(value: Decimal) -> Decimal:
    """100.5000 -> 100.50: money keeps two places at least, no trailing zeros beyond them."""
    quantized = value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01")) \
        else value.normalize()
    return quantized


def order_from_row(r: Any, lines: tuple[Line, ...], tags: frozenset[str]) -> Order:
    return Order(
        id=r.id, channel=r.channel, placed_at=aware(r.placed_at), lines=lines,
        status=r.status, allocation_status=r.allocation_status,
        ship_to=ShipTo(r.ship_to_name, r.ship_to_country, r.ship_to_state, r.ship_to_city,
                       r.ship_to_postal_code),
        shipping_method=r.shipping_method,
        total=None if r.total is None else normal_decimal(Decimal(r.total)),
        tags=tags, warehouse=r.warehouse, attributes=dict(r.attributes or {}),
    )


def stock_row(sku: str, warehouse: str, on_hand: int, allocated: int) -> dict[str, Any]:
    """SPEC §8 `inventory list --json` row."""
    return {"sku": sku, "warehouse": warehouse, "on_hand": on_hand, "allocated": allocated,
            "available": on_hand - allocated}


def order_json(order: Order) -> dict[str, Any]:
    """SPEC §8 `orders show --json`."""
    return {
        "id": order.id, "channel": order.channel, "status": order.status,
        "allocation_status": order.allocation_status, "placed_at": iso(order.placed_at),
        "ship_to": {"name": order.ship_to.name, "country": order.ship_to.country,
                    "state": order.ship_to.state, "city": order.ship_to.city,
                    "postal_code": order.ship_to.postal_code},
        "shipping_method": order.shipping_method,
        "total": None if order.total is None else str(order.total),
        "tags": sorted(order.tags), "warehouse": order.warehouse,
        "attributes": dict(order.attributes),
        "lines": [{"sku": x.sku, "qty": x.qty, "reserved": x.reserved} for x in order.lines],
    }


def ledger_row(at: datetime, order_id: str, line_no: int, sku: str, warehouse: str, delta: int,
                operation: str, actor: Actor) -> dict[str, Any]:
    return {"at": at, "order_id": order_id, "line_no": line_no, "sku": sku,
            "warehouse": warehouse, "delta": delta, "operation": operation,
            "rule": actor.rule, "ruleset": actor.ruleset, "actor": actor.name}
