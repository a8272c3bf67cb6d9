"""What a QA pass over warehouses, kits, events out and the HTTP API found, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from engine.run.explain import explain
from engine.service import Service
from engine.store import Store
from tests.helpers import order, snapshot


@pytest.fixture
def svc(store: Store, clock: Callable[[], datetime]) -> Service:
    return Service(store, clock)


def test_the_ship_guard_sees_the_components_an_unreserved_kit_line_takes(svc: Service) -> None:
    svc.change_stock("CANDLE", "main", 2, "set")
    svc.set_kits({"COZY": [("CANDLE", 2)]})
    svc.add_orders([order("HOLDER", ("CANDLE", 1)), order("KIT", ("COZY", 1), minutes=1)])
    svc.allocate(["HOLDER"])
    before = snapshot(svc.store)
    # Shipping KIT takes both candles off the shelf, one of them HOLDER's.
    assert svc.cover_lost_by_shipping(["KIT"]) == ["HOLDER"]
    assert snapshot(svc.store) == before  # a dry run
    svc.change_stock("CANDLE", "main", 3, "set")
    assert svc.cover_lost_by_shipping(["KIT"]) == []  # a spare pair is on the shelf


def test_explain_counts_the_uncovered_units_of_a_line_not_its_reservations(svc: Service) -> None:
    svc.change_stock("MUG", "main", 5, "set")
    svc.change_stock("TEA", "main", 4, "set")
    svc.set_kits({"GIFTBOX": [("MUG", 1), ("TEA", 2)]})
    svc.add_orders([order("A", ("MUG", 3)), order("K", ("GIFTBOX", 2), minutes=1)])
    svc.allocate(["A", "K"], warehouses=["main"])
    svc.change_stock("MUG", "main", 0, "set")  # every mug reservation loses cover
    svc.change_stock("TEA", "main", 2, "set")  # K's one tea reservation (4 units) too
    mug, kit = (explain(svc, oid, None)["lines"][0] for oid in ("A", "K"))
    assert mug["uncovered"] == 3  # one reservation of three mugs
    assert kit["uncovered"] == 2  # both gift boxes lack their mug and their teas
