"""Hypothesis: any sequence of syncs of random versions of the same orders ends where syncing only
the newest version of each order (by updated_at) ends (SPEC §9), on SQLite and PostgreSQL.

Versions of one order differ in lines, method, tags and total; only the newest may be closed
(cancelled or shipped), as channels do not reopen closed orders. The orders are compared whole
(fields, lines, statuses). `on_hand` is deliberately not compared: an order dibs knew when the
channel shipped it lowers on_hand, one it first sees already shipped does not (docs/channels.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.io.incoming import IncomingOrder
from engine.model import Line, Order, OrderStatus
from engine.service import Service
from engine.store import Store
from tests.integration.helpers import wipe

U0 = datetime(2026, 3, 1, tzinfo=UTC)
IDS = ["#1", "#2", "#3"]

LINES = st.lists(
    st.tuples(st.sampled_from(["MUG", "HAT", "SOCK"]), st.integers(1, 3)), min_size=1, max_size=3
)
CONTENT = st.tuples(
    LINES,
    st.sampled_from([None, "ground", "overnight"]),
    st.frozensets(st.sampled_from(["vip", "gift"])),
    st.sampled_from([None, Decimal("10"), Decimal("12.50")]),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[list[IncomingOrder]], list[IncomingOrder]]:
    """(the syncs, each a batch of versions; the newest version of each order)."""
    versions: list[IncomingOrder] = []
    newest: list[IncomingOrder] = []
    for oid in draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=3, unique=True)):
        minutes = sorted(draw(st.lists(st.integers(0, 50), min_size=1, max_size=4, unique=True)))
        last = draw(st.sampled_from(list(OrderStatus)[:3]))
        mine = []
        for n, minute in enumerate(minutes):
            lines, method, tags, total = draw(CONTENT)
            order = Order(
                id=oid,
                channel="shopify",
                placed_at=U0,
                lines=tuple(Line(sku, qty) for sku, qty in lines),
                shipping_method=method,
                tags=tags,
                total=total,
            )
            state = last if n == len(minutes) - 1 else OrderStatus.AWAITING_FULFILLMENT
            seen = U0 + timedelta(minutes=minute)
            mine.append(IncomingOrder(order, state, seen, sets_warehouse=False))
        versions.extend(mine)
        newest.append(mine[-1])
    shuffled = draw(st.permutations(versions))
    cuts = draw(st.lists(st.booleans(), min_size=len(shuffled), max_size=len(shuffled)))
    syncs: list[list[IncomingOrder]] = [[]]
    for version, cut in zip(shuffled, cuts, strict=True):
        if cut or version.id in {v.id for v in syncs[-1]}:
            syncs.append([])
        syncs[-1].append(version)
    return [batch for batch in syncs if batch], newest


def final_orders(svc: Service) -> dict[str, Order]:
    with svc.store.read() as conn:
        return svc.load_orders(conn, IDS)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_any_sequence_of_syncs_ends_like_syncing_the_newest_versions(
    store: Store, history: tuple[list[list[IncomingOrder]], list[IncomingOrder]]
) -> None:
    syncs, newest = history
    svc = Service(store)
    wipe(store)
    for batch in syncs:
        svc.sync_orders(batch)
    got = final_orders(svc)
    wipe(store)
    svc.sync_orders(newest)
    assert got == final_orders(svc)
    # And syncing the newest again afterwards changes nothing.
    assert svc.sync_orders(newest).unchanged == [v.id for v in newest]
