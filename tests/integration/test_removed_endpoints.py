"""Deliveries queued for an endpoint that has left the rule file are given up (dead, with a
reason naming it) by the next delivery pass, on both backends: they no longer wait for ever as
`pending`, `dibs status` tells them, and putting the endpoint back does not send them."""

from __future__ import annotations

from pathlib import Path

from engine.run.deliveries import Deliveries
from engine.run.runner import Runner
from engine.run.status import status
from engine.store import Store
from tests.conftest import FakeClock
from tests.integration.test_deliveries import deliveries, endpoint, notify_rules, shop, wait_for
from tests.receiver import receiving

GONE = "endpoint 'wms' is no longer in the rule file's notify: section"


def test_the_next_pass_gives_up_a_removed_endpoints_deliveries(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    with receiving() as wms, receiving() as chat:
        rules = notify_rules(
            tmp_path, ("wms", wms.url, ["order.created"]), ("chat", chat.url, ["order.created"])
        )
        Runner(svc, rules).tick()
        clock.advance(seconds=1)
        # The rule file lost `wms`: a `dibs run --once` with the new file.
        sender = Deliveries(store, clock, [endpoint("chat", chat.url, [])])
        tallies = sender.run_once()
        assert tallies["chat"].delivered == 2
        gone = [d for d in deliveries(store) if d["endpoint"] == "wms"]
        assert [(d["status"], d["last_error"], d["attempts"]) for d in gone] == [
            ("dead", GONE, 0),
            ("dead", GONE, 0),
        ]
        wms_status = [s for s in status(svc)["deliveries"] if s["endpoint"] == "wms"]
        assert wms_status[0]["dead"] == 2
        assert wms_status[0]["last_failure"]["error"] == GONE
        # `wms` is back: what was given up stays given up.
        clock.advance(hours=1)
        again = Deliveries(store, clock, [endpoint("wms", wms.url, [])])
        assert again.run_once()["wms"].attempts == 0
        assert wms.attempts == 0
    assert {d["status"] for d in deliveries(store) if d["endpoint"] == "wms"} == {"dead"}


def test_a_reload_without_the_endpoint_gives_its_deliveries_up(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    with receiving([("block", 500)]) as wms:
        Runner(svc, notify_rules(tmp_path, ("wms", wms.url, ["order.created"]))).tick()
        sender = Deliveries(store, clock, [endpoint("wms", wms.url, [])], poll=0.05)
        sender.start()
        try:
            wait_for(lambda: wms.attempts == 1)  # the first attempt is in flight
            clock.advance(seconds=1)
            sender.update([])  # the rule file was reloaded without `wms`
            wms.release()  # the attempt in flight fails after the endpoint was removed
            wait_for(lambda: {d["status"] for d in deliveries(store)} == {"dead"})
        finally:
            sender.stop()
    # The attempt in flight tells its answer too; the delivery it never reached, the removal.
    assert sorted(d["last_error"] for d in deliveries(store)) == [f"HTTP 500; {GONE}", GONE]


def test_deliveries_queued_after_the_rule_file_was_read_are_left_alone(
    store: Store, tmp_path: Path
) -> None:
    """Another process may run a newer rule file that has the endpoint (a reload reaches
    several servers one after another): what it queued is not given up here."""
    clock = FakeClock()
    svc = shop(store, clock)
    sender = Deliveries(store, clock, [])  # this process read a file without `wms`
    clock.advance(seconds=1)
    rules = notify_rules(tmp_path, ("wms", "http://127.0.0.1:9/hook", ["order.created"]))
    Runner(svc, rules).tick()  # another process's tick, with a file that has `wms`
    sender.run_once()
    assert {d["status"] for d in deliveries(store)} == {"pending"}
