"""SPEC §13 events on both backends: every allocation-status change is told (also the victims of
someone else's shipment or stock drop), every release writes `stock.released`, and the two new
triggers act on them in the next tick."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.model import Actor, Policy
from engine.run.runner import Runner
from engine.service import Service
from engine.service.shapes import event_json
from engine.store import Store
from tests.conftest import FakeClock
from tests.helpers import order
from tests.integration.helpers import event_rows, statuses
from tests.integration.test_runner import rule, ruleset


def changes(store: Store) -> list[dict[str, Any]]:
    """The `data` of every allocation.changed, as webhooks and `events list` show it."""
    return [
        event_json(e["id"], e["type"], e["at"], e["order_id"], e["payload"])["data"]
        for e in event_rows(store, "allocation.changed")
    ]


def released(store: Store) -> list[dict[str, Any]]:
    return [e["payload"] for e in event_rows(store, "stock.released")]


def two_allocated_one_waiting(store: Store) -> Service:
    """SPEC §3's example: A1 and A2 hold the two widgets; A3 (newest) waits for one."""
    svc = Service(store, FakeClock())
    svc.change_stock("W", "main", 2, "set")
    svc.add_orders([order("A1", ("W", 1)), order("A2", ("W", 1), minutes=1)])
    svc.allocate(["A1", "A2"])
    svc.add_orders([order("A3", ("W", 1), minutes=2)])
    return svc


def test_allocate_tells_each_change_once(store: Store) -> None:
    svc = two_allocated_one_waiting(store)
    svc.allocate(["A3"])
    assert changes(store) == [
        {
            "order": "A1",
            "before": "unallocated",
            "after": "allocated",
            "cause": "allocate",
            "rule": None,
        },
        {
            "order": "A2",
            "before": "unallocated",
            "after": "allocated",
            "cause": "allocate",
            "rule": None,
        },
        {
            "order": "A3",
            "before": "unallocated",
            "after": "could_not_allocate",
            "cause": "allocate",
            "rule": None,
        },
    ]
    assert [e["order_id"] for e in event_rows(store, "allocation.changed")] == ["A1", "A2", "A3"]
    svc.allocate(["A3"])  # could_not_allocate again: no change, no event
    assert len(changes(store)) == 3


def test_shipment_of_another_order_overallocates_the_newest_and_a_receipt_restores_it(
    store: Store,
) -> None:
    svc = two_allocated_one_waiting(store)
    before = len(changes(store))
    svc.finish(["A3"], "ship")  # A3 held nothing; shipping it takes a widget off the shelf
    assert statuses(svc, "A1", "A2") == {"A1": "allocated", "A2": "overallocated"}
    told = changes(store)[before:]
    assert {
        "order": "A2",
        "before": "allocated",
        "after": "overallocated",
        "cause": "ship",
        "rule": None,
    } in told
    assert not [c for c in told if c["order"] == "A1"]
    svc.change_stock("W", "main", 1, "received")
    assert statuses(svc, "A2") == {"A2": "allocated"}
    assert changes(store)[-1] == {
        "order": "A2",
        "before": "overallocated",
        "after": "allocated",
        "cause": "inventory.received",
        "rule": None,
    }


def test_a_stock_drop_tells_the_victim(store: Store) -> None:
    svc = two_allocated_one_waiting(store)
    svc.change_stock("W", "main", -1, "adjusted")
    assert changes(store)[-1] == {
        "order": "A2",
        "before": "allocated",
        "after": "overallocated",
        "cause": "inventory.adjusted",
        "rule": None,
    }


def test_every_release_writes_stock_released(store: Store) -> None:
    svc = Service(store, FakeClock())
    svc.change_stock("W", "main", 20, "set")
    svc.change_stock("V", "main", 20, "set")
    ids = ["S", "C", "D", "X", "R", "E"]
    svc.add_orders([order(oid, ("W", 2), ("V", 1), minutes=n) for n, oid in enumerate(ids)])
    svc.allocate(ids)
    svc.finish(["S"], "ship")
    svc.finish(["C"], "cancel")
    svc.finish(["D"], "dropship")
    svc.deallocate(["X"])
    svc.reallocate(["R"])
    svc.edit("E", [("W", 1)], Actor("ann"))  # trims W by 1, releases V
    got = sorted((p["order"], p["cause"], p["sku"], p["qty"]) for p in released(store))
    expected = sorted(
        [
            (oid, how, sku, qty)
            for oid, how in zip(
                "SCDXR", ["ship", "cancel", "dropship", "deallocate", "reallocate"], strict=True
            )
            for sku, qty in (("W", 2), ("V", 1))
        ]
        + [("E", "edit", "W", 1), ("E", "edit", "V", 1)]
    )
    assert got == expected
    assert all(p["warehouse"] == "main" for p in released(store))
    told = {c["order"]: c for c in changes(store) if c["cause"] != "allocate"}
    assert told["S"]["after"] == told["C"]["after"] == "unallocated"
    assert told["X"] == {
        "order": "X",
        "before": "allocated",
        "after": "unallocated",
        "cause": "deallocate",
        "rule": None,
    }
    # Reallocate ends where it started: the net change is none, so nothing is told.
    assert "R" not in told and "E" not in told
    assert statuses(svc, "R", "E") == {"R": "allocated", "E": "allocated"}


def test_edit_and_split_tell_their_net_change(store: Store) -> None:
    svc = Service(store, FakeClock())
    svc.change_stock("W", "main", 1, "set")
    svc.add_orders([order("A", ("W", 1)), order("B", ("W", 2), minutes=1)])
    svc.allocate(["A"])
    svc.allocate(["B"], policy=Policy.UNITS)  # none left
    svc.edit("A", [("W", 1), ("V", 1)])
    assert changes(store)[-1] == {
        "order": "A",
        "before": "allocated",
        "after": "partially_allocated",
        "cause": "edit",
        "rule": None,
    }
    svc.split("A")
    assert changes(store)[-1] == {
        "order": "A",
        "before": "partially_allocated",
        "after": "allocated",
        "cause": "split",
        "rule": None,
    }


def test_a_dry_run_tells_nothing(store: Store) -> None:
    svc = two_allocated_one_waiting(store)
    before = len(changes(store))
    svc.allocate(["A3"], dry_run=True)
    assert len(changes(store)) == before


def test_when_stock_released_allocates_the_waiting_order_in_the_next_tick(
    store: Store, tmp_path: Path
) -> None:
    svc = Service(store, FakeClock())
    svc.change_stock("W", "main", 1, "set")
    svc.add_orders([order("A1", ("W", 1)), order("A2", ("W", 1), minutes=1)])
    svc.allocate(["A1", "A2"])
    assert statuses(svc, "A2") == {"A2": "could_not_allocate"}
    runner = Runner(svc, ruleset(tmp_path, rule("retry", "when stock released then allocate")))
    runner.tick()  # consumes what happened so far: nothing was released
    assert statuses(svc, "A2") == {"A2": "could_not_allocate"}
    svc.finish(["A1"], "cancel")
    assert released(store) == [
        {"sku": "W", "warehouse": "main", "qty": 1, "order": "A1", "cause": "cancel", "rule": None}
    ]
    result = runner.tick()
    assert result.matches == {"retry": 1}
    assert statuses(svc, "A2") == {"A2": "allocated"}
    assert changes(store)[-1] == {
        "order": "A2",
        "before": "could_not_allocate",
        "after": "allocated",
        "cause": "allocate",
        "rule": "retry",
    }


def test_when_order_overallocated_offers_the_victim(store: Store, tmp_path: Path) -> None:
    svc = two_allocated_one_waiting(store)
    runner = Runner(
        svc, ruleset(tmp_path, rule("review", 'when order overallocated then tag "review"'))
    )
    runner.tick()
    assert not svc.get_order("A2").tags
    svc.finish(["A3"], "ship")
    result = runner.tick()
    assert result.matches == {"review": 1}
    assert svc.get_order("A2").tags == frozenset({"review"})
    assert not svc.get_order("A1").tags
