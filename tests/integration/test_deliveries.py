"""Outbound webhooks (SPEC §13) on both backends, against a local HTTP receiver that fails,
times out, answers slowly and recovers. Time is a FakeClock moved by hand: backoff is never
slept through."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.run.deliveries import Deliveries, Endpoint
from engine.run.runner import Runner
from engine.service import Service
from engine.service.events import list_deliveries
from engine.store import Store
from rules.loader import load_ruleset
from rules.ruleset import RuleSet
from tests.conftest import FakeClock
from tests.helpers import order
from tests.receiver import Receiver, receiving, verify

SECRET = b"s3cret"


def notify_rules(tmp_path: Path, *endpoints: tuple[str, str, list[str]]) -> RuleSet:
    doc: dict[str, Any] = {
        "version": 1,
        "rules": [{"name": "new", "rule": "when new order then allocate"}],
        "notify": [
            {"name": n, "url": url, "events": ev, "secret_env": f"DIBS_TEST_{n.upper()}"}
            for n, url, ev in endpoints
        ],
    }
    path = tmp_path / "rules.yaml"
    path.write_text(json.dumps(doc))
    return load_ruleset(path)


def endpoint(name: str, url: str, events: list[str], secret: bytes | None = SECRET) -> Endpoint:
    return Endpoint(name, url, frozenset(events), f"DIBS_TEST_{name.upper()}", secret)


def deliveries(store: Store, statuses: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    with store.read() as conn:
        return list_deliveries(conn, statuses or ("pending", "failed", "dead", "delivered"))


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def shop(store: Store, clock: FakeClock) -> Service:
    svc = Service(store, clock)
    svc.change_stock("W", "main", 5, "set")
    svc.add_orders([order("A1", ("W", 1)), order("A2", ("W", 1), minutes=1)])
    return svc


def test_the_tick_queues_only_what_each_endpoint_subscribed_to(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    rules = notify_rules(
        tmp_path,
        ("wms", "http://127.0.0.1:9/a", ["allocation.changed"]),
        ("chat", "http://127.0.0.1:9/b", ["order.shipped"]),
    )
    runner = Runner(svc, rules)
    first = runner.tick()  # order.created x2 (nobody's), inventory.changed (nobody's)
    assert first.queued == 0
    svc.finish(["A1"], "ship")
    runner.tick()  # the allocation.changed of the first tick, and the shipment's events
    queued = deliveries(store)
    assert sorted((d["endpoint"], d["type"], d["order"]) for d in queued) == [
        ("chat", "order.shipped", "A1"),
        ("wms", "allocation.changed", "A1"),
        ("wms", "allocation.changed", "A1"),  # allocated, then unallocated by the shipment
        ("wms", "allocation.changed", "A2"),
    ]
    assert {d["status"] for d in queued} == {"pending"}


def test_delivered_with_a_verifiable_signature(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    with receiving() as rx:
        rules = notify_rules(tmp_path, ("wms", rx.url, ["order.created", "allocation.changed"]))
        runner = Runner(svc, rules)
        runner.tick()
        runner.tick()
        sender = Deliveries(store, clock, [endpoint("wms", rx.url, ["order.created"])])
        tallies = sender.run_once()
        assert tallies["wms"].delivered == 4
        assert [e["type"] for e in rx.events()] == ["order.created"] * 2 + [
            "allocation.changed"
        ] * 2
        for headers, body in rx.requests:
            assert verify(SECRET, headers, body)
            doc = json.loads(body)
            assert set(doc) == {"id", "type", "at", "data"}
            assert headers["X-Dibs-Event-Id"] == str(doc["id"])
        assert rx.events()[2]["data"] == {
            "order": "A1",
            "before": "unallocated",
            "after": "allocated",
            "cause": "allocate",
            "rule": "new",
        }
        assert not verify(b"wrong", *rx.requests[0])
    assert {d["status"] for d in deliveries(store)} == {"delivered"}


def test_failures_back_off_and_recover_without_losing_anything(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    # The timeout leaves a loaded machine room to answer; the slow answer is well past it.
    with receiving([500, 503, ("sleep", 4.0, 200), 200]) as rx:
        Runner(svc, notify_rules(tmp_path, ("wms", rx.url, ["order.created"]))).tick()
        sender = Deliveries(store, clock, [endpoint("wms", rx.url, [])], timeout=2.0)
        # A1's delivery fails; A2's waits behind nothing (another order) and fails too.
        assert sender.run_once()["wms"].failed == 2
        failed = deliveries(store, ("failed",))
        assert [d["attempts"] for d in failed] == [1, 1]
        assert {d["last_error"] for d in failed} == {"HTTP 500", "HTTP 503"}
        assert sender.run_once()["wms"].attempts == 0  # not due yet: nothing is tried
        clock.advance(minutes=2)
        # The slow answer (4 s) is past the 2 s timeout: failed again, then delivered.
        tally = sender.run_once()["wms"]
        assert (tally.delivered, tally.failed) == (1, 1)
        clock.advance(minutes=5)
        assert sender.run_once()["wms"].delivered == 1
        assert sorted(e["data"]["order"] for e in rx.events()) == ["A1", "A2"]
    assert {d["status"] for d in deliveries(store)} == {"delivered"}


def test_after_24_hours_dead_and_retry_brings_it_back(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    svc.finish(["A2"], "cancel")
    with receiving([500]) as rx:
        Runner(svc, notify_rules(tmp_path, ("wms", rx.url, ["order.cancelled"]))).tick()
        sender = Deliveries(store, clock, [endpoint("wms", rx.url, [])])
        for _ in range(40):
            sender.run_once()
            clock.advance(hours=1, minutes=1)
        [dead] = deliveries(store, ("dead",))
        assert dead["attempts"] >= 24 and dead["last_status"] == 500
        with store.write() as conn:
            from engine.service.events import retry_deliveries
            from engine.service.tx import Tx

            retry_deliveries(Tx(conn, store, clock), [dead["id"]])
        rx.answers = [200]
        assert sender.run_once()["wms"].delivered == 1
        assert [e["type"] for e in rx.events()] == ["order.cancelled"]


def test_one_orders_events_go_out_in_order(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    svc.finish(["A1"], "ship")
    with receiving([500, 200]) as rx:
        Runner(
            svc, notify_rules(tmp_path, ("wms", rx.url, ["order.created", "order.shipped"]))
        ).tick()
        sender = Deliveries(store, clock, [endpoint("wms", rx.url, [])])
        tally = sender.run_once()["wms"]
        # A1 created (fails), A2 created (delivered); A1 shipped waits for A1 created.
        assert (tally.failed, tally.delivered) == (1, 1)
        assert [(e["type"], e["data"]["order"]) for e in rx.events()] == [("order.created", "A2")]
        clock.advance(minutes=1)
        sender.run_once()
        assert [(e["type"], e["data"]["order"]) for e in rx.events()][1:] == [
            ("order.created", "A1"),
            ("order.shipped", "A1"),
        ]


def test_a_slow_endpoint_delays_nobody_else(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    with receiving([("block", 200)]) as slow, receiving() as fast:
        rules = notify_rules(
            tmp_path, ("slow", slow.url, ["order.created"]), ("fast", fast.url, ["order.created"])
        )
        Runner(svc, rules).tick()
        sender = Deliveries(
            store,
            clock,
            [endpoint("slow", slow.url, []), endpoint("fast", fast.url, [])],
            poll=0.05,
        )
        sender.start()
        try:
            wait_for(lambda: len(fast.events()) == 2)
            assert slow.events() == []  # still holding its first request
            slow.release()
            wait_for(lambda: len(slow.events()) == 2)
        finally:
            sender.stop()
    assert {d["status"] for d in deliveries(store)} == {"delivered"}


def test_without_its_secret_an_endpoint_is_sent_nothing(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    with receiving() as rx:
        Runner(svc, notify_rules(tmp_path, ("wms", rx.url, ["order.created"]))).tick()
        sender = Deliveries(store, clock, [endpoint("wms", rx.url, [], secret=None)])
        assert sender.run_once()["wms"].attempts == 0
        assert rx.attempts == 0
    assert {d["status"] for d in deliveries(store)} == {"pending"}


def test_two_workers_attempt_each_delivery_once(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    svc = Service(store, clock)
    svc.add_orders([order(f"O{n:02d}", ("W", 1), minutes=n) for n in range(30)])
    with receiving([("sleep", 0.02, 200)]) as rx:
        Runner(svc, notify_rules(tmp_path, ("wms", rx.url, ["order.created"]))).tick()
        workers = [Deliveries(store, clock, [endpoint("wms", rx.url, [])]) for _ in range(2)]
        threads = [threading.Thread(target=w.run_once) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(rx.ids()) == sorted(set(rx.ids()))
        assert len(rx.ids()) == 30
        assert rx.attempts == 30


@pytest.mark.parametrize("stop_after", [3])
def test_leases_of_a_dead_worker_expire(store: Store, tmp_path: Path, stop_after: int) -> None:
    """A worker that dies mid-batch (kill -9) leaves leases; once they expire the deliveries
    are due again: repeated, never lost."""
    from engine.store import delivery_queue

    clock = FakeClock()
    svc = shop(store, clock)
    with receiving() as rx:
        Runner(svc, notify_rules(tmp_path, ("wms", rx.url, ["order.created"]))).tick()
        now = clock()
        with store.write() as conn:  # what a worker that then died had claimed
            claimed = delivery_queue.claim_due(conn, "wms", now, now + timedelta(minutes=2), 10)
        assert len(claimed) == 2
        sender = Deliveries(store, clock, [endpoint("wms", rx.url, [])])
        assert sender.run_once()["wms"].attempts == 0
        clock.advance(minutes=3)
        assert sender.run_once()["wms"].delivered == 2
        assert Receiver.ids(rx) == [d.event_id for d in claimed]
