"""The pure allocation domain: orders, lines, stock, coverage and the allocation decisions.

Nothing here touches a database, a clock or a file; the service feeds it rows and writes back
what it decides. That keeps the rules of SPEC §1-4 in one place where property tests can reach
them without any I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class OrderStatus(StrEnum):
    """Where an order is in its life (SPEC §2)."""

    AWAITING_FULFILLMENT = "awaiting_fulfillment"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    DROPSHIPPED = "dropshipped"


class AllocationStatus(StrEnum):
    """How much of an order's stock is reserved and covered (SPEC §3)."""

    UNALLOCATED = "unallocated"
    ALLOCATED = "allocated"
    PARTIALLY_ALLOCATED = "partially_allocated"
    COULD_NOT_ALLOCATE = "could_not_allocate"
    OVERALLOCATED = "overallocated"


class Policy(StrEnum):
    """How many of a line's missing units one allocation attempt may reserve (docs/concepts.md)."""

    LINES = "lines"
    UNITS = "units"
    ALL_OR_NOTHING = "all_or_nothing"


class EventType(StrEnum):
    """The events every write records in its transaction (SPEC §5 and §13, the outbox)."""

    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_SHIPPED = "order.shipped"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_DROPSHIPPED = "order.dropshipped"
    INVENTORY_CHANGED = "inventory.changed"
    ALLOCATION_CHANGED = "allocation.changed"
    STOCK_RELEASED = "stock.released"


DEFAULT_WAREHOUSE = "main"


class Length:
    """The longest text each stored field holds, in characters: ONE table that the schema
    (`engine.store.schema` column types) and validation (`engine.io.fields`) both read, so what
    an import accepts is what every database stores."""

    ORDER_ID = 200
    SKU = 200
    CHANNEL = 100
    WAREHOUSE = 100
    TAG = 100
    SHIP_TO_NAME = 300
    COUNTRY = 2
    STATE = 100
    CITY = 200
    POSTAL_CODE = 32
    SHIPPING_METHOD = 100
    STATUS = 32
    RULE_NAME = 200
    RULESET = 64
    ACTOR = 200
    EVENT_TYPE = 50
    OPERATION = 32
    SYNC_HASH = 32
    WEBHOOK_CHANNEL = 32
    WEBHOOK_TOPIC = 100
    NOTIFY_ENDPOINT = 200
    DELIVERY_STATUS = 16
    ERROR_MESSAGE = 500


#: Largest quantity or stock count: what a 32-bit database INTEGER holds.
MAX_QTY = 2**31 - 1
#: Money is stored exactly, as a whole number of 1/10,000ths (`MONEY_STEP`) in a 64-bit integer;
#: totals must stay below `MAX_TOTAL` (14 digits before the point, 4 after).
MONEY_STEP = Decimal("0.0001")
MAX_TOTAL = Decimal(10) ** 14
#: Statuses that `allocate` leaves alone: done, or needing `reallocate`.
SETTLED = frozenset({AllocationStatus.ALLOCATED, AllocationStatus.OVERALLOCATED})

StockKey = tuple[str, str]  # (sku, warehouse)


@dataclass(frozen=True)
class Actor:
    """Who or what caused a change: a person at the CLI, or a rule of a rule set."""

    name: str = "cli"
    rule: str | None = None
    ruleset: str | None = None


@dataclass(frozen=True)
class ShipTo:
    """Where an order goes; every part is optional because channels send what they have."""

    name: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class Line:
    """One order line; `reserved` is how many of its units hold a live reservation."""

    sku: str
    qty: int
    reserved: int = 0

    @property
    def missing(self) -> int:
        return self.qty - self.reserved


@dataclass(frozen=True)
class Order:
    """An order as rules and the allocation core see it (the shape of SPEC §2)."""

    id: str
    channel: str
    placed_at: datetime
    lines: tuple[Line, ...]
    status: str = OrderStatus.AWAITING_FULFILLMENT
    allocation_status: str = AllocationStatus.UNALLOCATED
    ship_to: ShipTo = field(default_factory=ShipTo)
    shipping_method: str | None = None
    total: Decimal | None = None
    tags: frozenset[str] = frozenset()
    warehouse: str = DEFAULT_WAREHOUSE
    attributes: Mapping[str, str | int | float | bool | None] = field(default_factory=dict)

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def unit_count(self) -> int:
        return sum(line.qty for line in self.lines)

    @property
    def skus(self) -> frozenset[str]:
        return frozenset(line.sku for line in self.lines)


# --------------------------------------------------------------------------------------------
# Coverage (SPEC §3)


def coverage(on_hand: int, reserved_qtys: Iterable[int]) -> list[bool]:
    """Which reservations of one (sku, warehouse) stock still covers.

    `reserved_qtys` must be in the order the reservations were made. A reservation is covered
    while the running total of reserved units, itself included, stays within `max(on_hand, 0)`:
    the newest reservations lose cover first and get it back last.
    """
    limit = max(on_hand, 0)
    running = 0
    flags: list[bool] = []
    for qty in reserved_qtys:
        running += qty
        flags.append(running <= limit)
    return flags


def status_of(
    *, complete: bool, any_reserved: bool, any_uncovered: bool, tried: bool, previous: str
) -> str:
    """The one rule for an order's allocation status (SPEC §3), from what its reservations say.

    `complete`: every line fully reserved; `any_reserved`: some unit is; `any_uncovered`: a
    reservation lost its cover; `tried`: this is the outcome of an allocation attempt. With
    nothing reserved and no attempt, the status cannot be derived from reservations alone: it
    stays `could_not_allocate` if it was, else `unallocated` (whatever settled it is gone).
    """
    if any_uncovered:
        return AllocationStatus.OVERALLOCATED
    if complete:
        return AllocationStatus.ALLOCATED
    if any_reserved:
        return AllocationStatus.PARTIALLY_ALLOCATED
    if tried or previous == AllocationStatus.COULD_NOT_ALLOCATE:
        return AllocationStatus.COULD_NOT_ALLOCATE
    return AllocationStatus.UNALLOCATED


def status_from_reservations(lines: Sequence[Line], any_uncovered: bool, previous: str) -> str:
    """The allocation status that an order's reservations imply (see `status_of`)."""
    return status_of(
        complete=all(line.reserved >= line.qty for line in lines),
        any_reserved=any(line.reserved for line in lines),
        any_uncovered=any_uncovered,
        tried=False,
        previous=previous,
    )


# --------------------------------------------------------------------------------------------
# Allocation decisions (SPEC §4)


#: What an attempt ends in (`status_of` with `tried`, nothing uncovered), as plain strings.
_TRIED = (
    str(AllocationStatus.COULD_NOT_ALLOCATE),
    str(AllocationStatus.PARTIALLY_ALLOCATED),
    str(AllocationStatus.ALLOCATED),
)


def attempt(
    lines: Sequence[tuple[str, int, int]],
    warehouse: str,
    stock: dict[StockKey, list[int]],
    policy: Policy,
    commit: bool = True,
) -> tuple[list[int], str]:
    """One allocation attempt for one order: the units granted per line and the new status.

    `lines` are (sku, qty, reserved); `stock` maps (sku, warehouse) to [on_hand, allocated] and,
    with `commit`, gets the granted units added to `allocated`, so the next order of a batch
    sees what this one took. This is the batch allocation's inner loop, hence plain tuples, and
    a committed attempt that cannot be undone (not all-or-nothing) adds to `allocated` as it
    goes, which is what later lines of the same SKU must see anyway.
    """
    direct = commit and policy is not Policy.ALL_OR_NOTHING
    units = policy is Policy.UNITS
    grants: list[int] = []
    taken: dict[StockKey, int] = {}
    complete = True
    any_reserved = False
    for sku, qty, reserved in lines:
        missing = qty - reserved
        key = (sku, warehouse)
        entry = stock.get(key)
        left = (entry[0] - entry[1] - taken.get(key, 0)) if entry is not None else 0
        if missing <= 0 or left <= 0:
            grant = 0
        elif units:
            grant = min(left, missing)
        else:
            grant = missing if left >= missing else 0
        if grant:
            if direct:
                entry[1] += grant  # type: ignore[index]  # left > 0: the entry exists
            else:
                taken[key] = taken.get(key, 0) + grant
        if grant < missing:
            complete = False
        if reserved + grant:
            any_reserved = True
        grants.append(grant)
    if policy is Policy.ALL_OR_NOTHING and not complete:
        grants = [0] * len(lines)
        taken = {}
        any_reserved = any(reserved for _, _, reserved in lines)
    if commit and not direct:
        for key, granted in taken.items():
            stock[key][1] += granted
    # status_of(complete=…, any_reserved=…, any_uncovered=False, tried=True, …)
    return grants, _TRIED[2 if complete else 1 if any_reserved else 0]


# --------------------------------------------------------------------------------------------
# Warehouses and kits (SPEC §12)

#: Kit SKU -> its components, (component sku, units per kit). A plain SKU is not in it.
Kits = Mapping[str, tuple[tuple[str, int], ...]]
#: Per line, where its newly granted units come from: [(warehouse, line units)].
Routes = list[list[tuple[str, int]]]


def parts_of(sku: str, kits: Kits) -> tuple[tuple[str, int], ...]:
    """What one unit of `sku` reserves: its kit components, or itself once."""
    return kits.get(sku) or ((sku, 1),)


def kit_units(parts: Iterable[tuple[str, int]], available: Mapping[str, int]) -> int:
    """Whole kit units these components' availability makes (never below zero)."""
    return max(0, min(available.get(sku, 0) // qty for sku, qty in parts))


# --------------------------------------------------------------------------------------------
# Release, trim and ship (SPEC §4)


@dataclass(frozen=True)
class Held:
    """One live reservation as the release decisions see it."""

    seq: int
    order_id: str
    line_no: int
    sku: str
    warehouse: str
    qty: int


def released_stock(held: Iterable[Held]) -> dict[StockKey, int]:
    """Units each (sku, warehouse) gets back when these reservations are released."""
    out: dict[StockKey, int] = {}
    for r in held:
        out[(r.sku, r.warehouse)] = out.get((r.sku, r.warehouse), 0) + r.qty
    return out


def plan_trim(held_newest_first: Iterable[tuple[int, int]], qty: int) -> list[tuple[int, int]]:
    """Give back `qty` units of one line, newest reservation first (it keeps its older place in
    the coverage queue). `held_newest_first` is (seq, qty); returns (seq, qty left), 0 meaning
    the reservation goes."""
    out: list[tuple[int, int]] = []
    left = qty
    for seq, rqty in held_newest_first:
        if left <= 0:
            break
        take = min(left, rqty)
        out.append((seq, rqty - take))
        left -= take
    return out


#: The order status each closing operation leaves (SPEC §4), and the event it writes.
CLOSING: dict[str, tuple[OrderStatus, EventType]] = {
    "ship": (OrderStatus.SHIPPED, EventType.ORDER_SHIPPED),
    "cancel": (OrderStatus.CANCELLED, EventType.ORDER_CANCELLED),
    "dropship": (OrderStatus.DROPSHIPPED, EventType.ORDER_DROPSHIPPED),
}


def closing_problem(order: Order | None, order_id: str, how: str) -> str | None:
    """Why `how` (ship, cancel, dropship) cannot close this order, or None when it can."""
    if order is None:
        return f"no order with id {order_id!r}"
    if order.status != OrderStatus.AWAITING_FULFILLMENT:
        return f"cannot {how} order {order_id!r}: it is {order.status}"
    return None
