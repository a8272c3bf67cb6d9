"""What a QA pass over warehouses, kits, events out and the HTTP API found, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from engine.run.deliveries import Deliveries
from engine.run.explain import explain
from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store
from tests.conftest import FakeClock
from tests.helpers import order, snapshot
from tests.integration.test_deliveries import deliveries, endpoint, notify_rules


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


def test_explain_of_a_closed_order_says_it_lacks_nothing(svc: Service) -> None:
    """A shipped, cancelled or dropshipped order wants no stock: its lines lack nothing, no
    holders are listed and no warehouse is tried (its page, `dibs explain` and the API said
    every line lacked its whole quantity, named who held that stock and which warehouse "can
    complete the order")."""
    svc.change_stock("MUG", "main", 2, "set")
    svc.set_kits({"GIFTBOX": [("MUG", 1), ("TEA", 2)]})
    svc.add_orders(
        [
            order("S", ("MUG", 1)),
            order("C", ("MUG", 3), ("GIFTBOX", 1), minutes=1),
            order("H", ("MUG", 1), minutes=2),
        ]
    )
    svc.allocate(["S", "H"])
    svc.finish(["S"], "ship")
    svc.finish(["C"], "cancel")
    for oid in ("S", "C"):
        doc = explain(svc, oid, None)
        assert doc["warehouses"] == []
        assert [line["shortfall"] for line in doc["lines"]] == [0] * len(doc["lines"])
        assert not any("held_by" in line for line in doc["lines"])
        assert doc["summary"].endswith("it holds no stock")
    assert explain(svc, "H", None)["lines"][0]["shortfall"] == 0  # open, allocated
    svc.add_orders([order("W", ("MUG", 5), minutes=3)])
    assert explain(svc, "W", None)["lines"][0]["shortfall"] == 5  # open, waiting


@contextmanager
def dripping_receiver(seconds: float) -> Iterator[str]:
    """Answers `200` at once, then sends its 10-byte body a byte at a time over `seconds`."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # dibs may hang up before the body ends
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
            for _ in range(10):
                if stop.wait(seconds / 10):
                    return
                conn.sendall(b"x")

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        server.close()


def test_an_endpoint_that_drips_its_answer_holds_no_delivery_past_its_status(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock()
    svc = Service(store, clock)
    svc.add_orders([order("A1", ("W", 1)), order("A2", ("W", 1), minutes=1)])
    with dripping_receiver(seconds=6) as url:
        Runner(svc, notify_rules(tmp_path, ("slow", url, ["order.created"]))).tick()
        sender = Deliveries(store, clock, [endpoint("slow", url, [])], timeout=1)
        started = time.monotonic()
        sender.run_once()
        took = time.monotonic() - started
    # The status line is the answer: a body read a byte a second never holds the pass (it held
    # `run --once` for 6 s per delivery, each byte within the 1 s timeout).
    assert took < 3, took
    assert [d["status"] for d in deliveries(store)] == ["delivered", "delivered"]
