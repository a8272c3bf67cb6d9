"""Sync of two shops into one dibs: a copy from one channel never rewrites an order of another.

Two Shopify stores both number their orders from #1001; a merchant who connects the second
without an order-number prefix must be told, not find the first store's order replaced by the
second's (its customer, its lines, its reservations gone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from engine.io.incoming import IncomingOrder
from engine.model import Order, OrderStatus, ShipTo
from engine.service import Service
from engine.store import Store
from tests.helpers import order, snapshot

U0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AWAITING, SHIPPED = OrderStatus.AWAITING_FULFILLMENT, OrderStatus.SHIPPED


def copy(o: Order, state: str = AWAITING, minutes: int = 0) -> IncomingOrder:
    return IncomingOrder(o, state, U0 + timedelta(minutes=minutes), sets_warehouse=False)


def test_a_copy_from_another_channel_is_a_conflict_and_changes_nothing(
    store: Store, clock: Callable[[], datetime]
) -> None:
    svc = Service(store, clock)
    svc.change_stock("MUG", "main", 5, "set")
    first = order("#1001", ("MUG", 2), ship_to=ShipTo(name="Ann Lee"))
    closed = order("#1002", ("MUG", 1))
    svc.sync_orders([copy(first), copy(closed)])
    svc.allocate(["#1001"])
    svc.finish(["#1002"], "ship")
    before = snapshot(store)
    other_shop = [
        copy(order("#1001", ("TEA", 1), channel="shop-eu", ship_to=ShipTo(name="Zed")), minutes=1),
        copy(order("#1002", ("MUG", 1), channel="shop-eu"), SHIPPED, minutes=1),
    ]
    report = svc.sync_orders(other_shop)
    why = (
        "an order of channel 'shopify' in dibs, the copy is from channel 'shop-eu' "
        "(two shops with the same order numbers? give each its own order-number prefix)"
    )
    assert report.conflicts == [{"id": "#1001", "reason": why}, {"id": "#1002", "reason": why}]
    assert report.updated == report.unchanged == report.shipped == []
    assert snapshot(store) == before
    kept = svc.get_order("#1001")
    assert (kept.channel, kept.ship_to.name, kept.lines[0].sku) == ("shopify", "Ann Lee", "MUG")
