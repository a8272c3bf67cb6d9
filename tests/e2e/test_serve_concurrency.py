"""Two `dibs serve` processes on one PostgreSQL database, the same 500 deliveries sent to both:
every order is created exactly once (SPEC §10 "several servers")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from engine.store import Store, events, orders, webhook_deliveries
from tests.conftest import _clean
from tests.serving import Server, shopify_order

pytestmark = pytest.mark.slow

DELIVERIES = 500


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    store = Store.open(pg_url)
    _clean(store)
    yield store
    _clean(store)
    store.dispose()


def test_two_servers_create_each_order_once(pg_url: str, pg_store: Store) -> None:
    with Server(pg_url) as first, Server(pg_url) as second:
        servers = (first, second)

        def deliver(n: int) -> list[str]:
            """Delivery n to both servers at once, as a retrying channel might."""
            payload = shopify_order(5000 + n)
            with ThreadPoolExecutor(2) as pair:
                answers = list(
                    pair.map(lambda s: s.webhook(payload, "orders/create", f"c-{n}"), servers)
                )
            assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
            return sorted(a.json()["status"] for a in answers)

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(deliver, range(DELIVERIES)))
        assert first.stop() == 0 and second.stop() == 0
        logs = first.output() + second.output()
    assert Counter(tuple(o) for o in outcomes) == {("applied", "duplicate"): DELIVERIES}
    assert "Traceback" not in logs
    with pg_store.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == DELIVERIES
        created = conn.execute(
            select(func.count()).select_from(events).where(events.c.type == "order.created")
        ).scalar_one()
        assert created == DELIVERIES
        seen = conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar_one()
        assert seen == DELIVERIES
