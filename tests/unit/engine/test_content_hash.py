"""The content hash (`sync_hash`) of an order never changes for the same content: databases
hold the hashes of earlier imports, and a sync compares the hash of each incoming copy with the
stored one. Pinned digests (computed before the hash was made faster), and a property test
against the original formula."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.io.incoming import IncomingOrder
from engine.model import Line, Order, OrderStatus, ShipTo
from engine.service.sync import content_hash

T = datetime(2026, 11, 23, 18, 59, 9, tzinfo=UTC)


def _original(incoming: IncomingOrder) -> str:
    """The formula as first written (every stored `sync_hash` was made by it)."""
    o = incoming.order
    to = o.ship_to
    key = (
        o.channel,
        o.placed_at.isoformat(),
        (to.name, to.country, to.state, to.city, to.postal_code),
        o.shipping_method,
        None if o.total is None else format(o.total.normalize(), "f"),
        tuple(sorted(o.tags)),
        tuple(sorted((k, repr(v)) for k, v in o.attributes.items())),
        tuple((line.sku, line.qty) for line in o.lines),
        o.warehouse if incoming.sets_warehouse else None,
        str(incoming.status),
    )
    return hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()


PINNED = [
    (
        IncomingOrder(Order("A1", "shopify", T, (Line("MUG", 2),))),
        "8233f082bd9a2feb13e47d2931e72d9f",
    ),
    (
        IncomingOrder(
            Order(
                "A2",
                "web",
                T,
                (Line("MUG", 2), Line("TEE", 1)),
                ship_to=ShipTo("Ann O'Neil", "US", "NY", "New York", "10001"),
                shipping_method="ground",
                total=Decimal("50.9600"),
                tags=frozenset({"vip", "gift"}),
                warehouse="east",
                attributes={"gift_wrap": True, "note": "x", "n": 3, "w": 1.5, "none": None},
            )
        ),
        "60558e99727162e931ec1250ededa712",
    ),
    (
        IncomingOrder(
            Order("A3", "amazon", T, (Line("Sé", 1),), total=Decimal("0")),
            OrderStatus.SHIPPED,
            T,
            False,
        ),
        "6d0a7a1c0b1dd97c8a94d5ad4fe1574a",
    ),
    (
        IncomingOrder(
            Order("A4", "ebay", T, (Line("X", 1),), tags=frozenset({"one"}), total=Decimal("12")),
            OrderStatus.CANCELLED,
            None,
            True,
        ),
        "6ff91f316ccc8cc636107f4218e9d027",
    ),
]


def test_pinned_digests() -> None:
    for incoming, digest in PINNED:
        assert content_hash(incoming) == digest == _original(incoming)


_text = st.one_of(st.none(), st.text(max_size=5))
_orders = st.builds(
    Order,
    id=st.just("X"),
    channel=st.text(min_size=1, max_size=5),
    placed_at=st.datetimes(timezones=st.just(UTC)),
    lines=st.lists(
        st.builds(Line, st.text(min_size=1, max_size=4), st.integers(1, 9)), min_size=1, max_size=4
    ).map(tuple),
    ship_to=st.builds(ShipTo, _text, _text, _text, _text, _text),
    shipping_method=_text,
    total=st.one_of(st.none(), st.decimals(min_value=0, max_value=10**6, places=4)),
    tags=st.frozensets(st.text(min_size=1, max_size=4), max_size=3),
    warehouse=st.sampled_from(["main", "east"]),
    attributes=st.dictionaries(
        st.text(min_size=1, max_size=3),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=3)),
        max_size=3,
    ),
)


@settings(max_examples=300, deadline=None)
@given(_orders, st.sampled_from(list(OrderStatus)), st.booleans())
def test_the_digest_is_the_original_formula(order: Order, status: str, sets: bool) -> None:
    incoming = IncomingOrder(order, status, None, sets)
    assert content_hash(incoming) == _original(incoming)
