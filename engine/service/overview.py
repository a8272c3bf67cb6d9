"""The dashboard's read side (SPEC §11): status counts of open orders, the stock board with its
shortfalls, and the before/after snapshots a bulk action's dry run compares.

Counts come from the `ix_orders_open` index (status, allocation_status, placed_at): with no
filter the database counts index entries and never reads an order row, so the tab counts cost
the same for 100 orders as for 100,000 (tests/bench/bench_dashboard.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.engine import Connection

from engine.model import AllocationStatus, OrderStatus
from engine.service.shapes import stock_row
from engine.store import inventory, order_lines, order_tags, orders, statistics

#: The dashboard's tabs, in the order SPEC §11 names them (`all` first).
TABS = (
    "all",
    AllocationStatus.UNALLOCATED.value,
    AllocationStatus.ALLOCATED.value,
    AllocationStatus.PARTIALLY_ALLOCATED.value,
    AllocationStatus.COULD_NOT_ALLOCATE.value,
    AllocationStatus.OVERALLOCATED.value,
)
OPEN = OrderStatus.AWAITING_FULFILLMENT.value
#: Bound on the ids one IN (...) carries (SQLite's variable limit, PostgreSQL's plan size).
CHUNK = 900


@dataclass(frozen=True)
class OpenFilter:
    """Which open orders the Orders page shows: every part optional, all must hold."""

    channel: str | None = None
    tag: str | None = None
    id_contains: str | None = None
    where: ColumnElement[bool] | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = [orders.c.status == OPEN]
        if self.channel:
            out.append(orders.c.channel == self.channel)
        if self.tag:  # IN, not EXISTS: the tag's index finds the orders, not a scan of all
            out.append(
                orders.c.id.in_(select(order_tags.c.order_id).where(order_tags.c.tag == self.tag))
            )
        if self.id_contains:
            pattern = self.id_contains.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            out.append(orders.c.id.like(f"%{pattern}%", escape="\\"))
        if self.where is not None:
            out.append(self.where)
        return out


def status_counts(conn: Connection, flt: OpenFilter) -> dict[str, int]:
    """Open orders per allocation status under the filter, plus `all`; every tab present."""
    query = (
        select(orders.c.allocation_status, func.count())
        .where(*flt.clauses())
        .group_by(orders.c.allocation_status)
    )
    counts = dict.fromkeys(TABS, 0)
    for status, n in conn.execute(query):
        counts[status] = counts.get(status, 0) + int(n)
        counts["all"] += int(n)
    return counts


def matching_ids(conn: Connection, flt: OpenFilter, tab: str) -> list[str]:
    """Every open order the filter and tab pick, FIFO (the "every matching order" selection)."""
    query = select(orders.c.id).where(*flt.clauses())
    if tab != "all":
        query = query.where(orders.c.allocation_status == tab)
    return list(conn.execute(query.order_by(orders.c.placed_at, orders.c.id)).scalars())


def channels(conn: Connection) -> list[str]:
    """Every channel of any order (the filter's choices), alphabetically.

    A loose index scan: each step seeks `ix_orders_channel` for the next channel after the
    last, so the cost is one seek per channel, not a read of every order."""
    seed = select(func.min(orders.c.channel).label("channel")).cte("channels", recursive=True)
    following = (
        select(func.min(orders.c.channel))
        .where(orders.c.channel > seed.c.channel)
        .scalar_subquery()
    )
    walk = seed.union_all(select(following).where(seed.c.channel.is_not(None)))
    query = select(walk.c.channel).where(walk.c.channel.is_not(None))
    return sorted(conn.execute(query).scalars())


def refresh_statistics(conn: Connection) -> bool:
    """Keep the planner's statistics fresh (SQLite only; see engine.store.statistics)."""
    return statistics.refresh(conn)


# ---- the stock board ------------------------------------------------------------------------


def stock_board(conn: Connection, sku: str | None = None) -> list[dict[str, Any]]:
    """Every (sku, warehouse) with stock or open demand: `inventory list` rows plus `demand`
    (units open orders want there) and `shortfall` (of those, not reserved). Overallocated stock
    comes first (most negative available), then shortfalls (largest first), then by SKU."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    stock = select(inventory)
    if sku:
        stock = stock.where(inventory.c.sku.contains(sku, autoescape=True))
    for r in conn.execute(stock):
        rows[(r.sku, r.warehouse)] = stock_row(r.sku, r.warehouse, r.on_hand, r.allocated)
    demand = (
        select(
            order_lines.c.sku,
            orders.c.warehouse,
            func.sum(order_lines.c.qty),
            func.sum(order_lines.c.qty - order_lines.c.reserved),
        )
        .join(orders, orders.c.id == order_lines.c.order_id)
        .where(orders.c.status == OPEN)
        .group_by(order_lines.c.sku, orders.c.warehouse)
    )
    if sku:
        demand = demand.where(order_lines.c.sku.contains(sku, autoescape=True))
    for line_sku, warehouse, wanted, missing in conn.execute(demand):
        row = rows.setdefault(
            (line_sku, warehouse), stock_row(line_sku, warehouse, 0, 0) | {"known": False}
        )
        row["demand"], row["shortfall"] = int(wanted or 0), int(missing or 0)
    for row in rows.values():
        row.setdefault("demand", 0)
        row.setdefault("shortfall", 0)
        row.setdefault("known", True)
        row["state"] = _stock_state(row)
    return sorted(rows.values(), key=_board_key)


def _stock_state(row: dict[str, Any]) -> str:
    if row["available"] < 0 or row["on_hand"] < 0:
        return "overallocated"
    if row["shortfall"] > 0:
        return "short"
    return "ok"


def _board_key(row: dict[str, Any]) -> tuple[int, int, str, str]:
    rank = {"overallocated": 0, "short": 1, "ok": 2}[row["state"]]
    weight = row["available"] if rank == 0 else -row["shortfall"]
    return rank, weight, row["sku"], row["warehouse"]


# ---- snapshots for a dry run -----------------------------------------------------------------


@dataclass
class Snapshot:
    """The state a bulk action can change: the named orders, their stock, who is overallocated."""

    orders: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    stock: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    overallocated: set[str] = field(default_factory=set)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def stock_keys(conn: Connection, ids: Sequence[str]) -> set[tuple[str, str]]:
    """The (sku, warehouse) pairs the lines of these orders use."""
    keys: set[tuple[str, str]] = set()
    for part in _chunks(list(ids)):
        query = (
            select(order_lines.c.sku, orders.c.warehouse)
            .join(orders, orders.c.id == order_lines.c.order_id)
            .where(orders.c.id.in_(part))
            .distinct()
        )
        keys.update((s, w) for s, w in conn.execute(query))
    return keys


def snapshot(conn: Connection, ids: Sequence[str], keys: set[tuple[str, str]]) -> Snapshot:
    """Order status, allocation status and reserved units of `ids`; on hand and allocated of
    `keys`; every overallocated open order (whose cover a change of stock can move)."""
    snap = Snapshot()
    for part in _chunks(list(ids)):
        query = (
            select(
                orders.c.id,
                orders.c.status,
                orders.c.allocation_status,
                func.coalesce(func.sum(order_lines.c.reserved), 0),
            )
            .outerjoin(order_lines, order_lines.c.order_id == orders.c.id)
            .where(orders.c.id.in_(part))
            .group_by(orders.c.id, orders.c.status, orders.c.allocation_status)
        )
        for oid, status, allocation, units in conn.execute(query):
            snap.orders[oid] = (status, allocation, int(units))
    for part in _chunks(sorted(keys)):
        query = select(
            inventory.c.sku, inventory.c.warehouse, inventory.c.on_hand, inventory.c.allocated
        ).where(tuple_(inventory.c.sku, inventory.c.warehouse).in_(list(part)))
        for sku, warehouse, on_hand, allocated in conn.execute(query):
            snap.stock[(sku, warehouse)] = (on_hand, allocated)
    over = select(orders.c.id).where(
        orders.c.status == OPEN,
        orders.c.allocation_status == AllocationStatus.OVERALLOCATED.value,
    )
    snap.overallocated = set(conn.execute(over).scalars())
    return snap


__all__ = [
    "OPEN",
    "TABS",
    "OpenFilter",
    "Snapshot",
    "channels",
    "matching_ids",
    "refresh_statistics",
    "snapshot",
    "status_counts",
    "stock_board",
    "stock_keys",
]
