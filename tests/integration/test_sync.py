"""Sync (SPEC §9) on SQLite and PostgreSQL: every outcome, idempotence, the ledger and events,
edits by hand, and two processes syncing overlapping files at once."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import BadInput, OperationFailed, OrdersExist
from engine.io.incoming import IncomingOrder
from engine.model import Order, OrderStatus, ShipTo
from engine.service import Service
from engine.service.edits import FieldChanges
from engine.store import Store, events, orders
from tests.helpers import order
from tests.integration.helpers import dump, event_rows, reserved, stock

ROOT = Path(__file__).resolve().parents[2]
U0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AWAITING, CANCELLED, SHIPPED = (
    OrderStatus.AWAITING_FULFILLMENT,
    OrderStatus.CANCELLED,
    OrderStatus.SHIPPED,
)


@pytest.fixture
def svc(store: Store, clock: Callable[[], datetime]) -> Service:
    return Service(store, clock)


def incoming(
    o: Order, state: str = AWAITING, minutes: int | None = 0, channel_format: bool = True
) -> IncomingOrder:
    """A copy of `o` from a channel, last changed `minutes` after U0 (None: no updated_at)."""
    seen = None if minutes is None else U0 + timedelta(minutes=minutes)
    return IncomingOrder(o, state, seen, sets_warehouse=not channel_format)


#: What every status change and release writes too (SPEC §13); these tests look at the order's
#: own lifecycle events (SPEC §5), which sync must write exactly as the CLI counterparts do.
_FOLLOW_UPS = {"allocation.changed", "stock.released"}


def event_types(store: Store, oid: str) -> list[str]:
    return [
        e["type"]
        for e in event_rows(store)
        if e["order_id"] == oid and e["type"] not in _FOLLOW_UPS
    ]


class TestOutcomes:
    def test_unknown_orders_are_created_with_the_channels_status(
        self, svc: Service, store: Store
    ) -> None:
        svc.change_stock("MUG", "main", 10, "set")
        report = svc.sync_orders(
            [
                incoming(order("#1", ("MUG", 2))),
                incoming(order("#2", ("MUG", 3)), CANCELLED),
                incoming(order("#3", ("MUG", 4)), SHIPPED),
            ]
        )
        assert report.created == ["#1", "#2", "#3"]
        assert [svc.get_order(i).status for i in ("#1", "#2", "#3")] == [
            AWAITING,
            CANCELLED,
            SHIPPED,
        ]
        # Shipped before dibs knew of it: the stock count already lacks it.
        assert stock(svc, "MUG") == (10, 0, 10)
        assert event_types(store, "#3") == ["order.created"]

    def test_the_same_file_twice_changes_nothing_the_second_time(
        self, svc: Service, store: Store
    ) -> None:
        batch = [incoming(order(f"#{n}", ("MUG", n), tags=frozenset({"vip"}))) for n in (1, 2, 3)]
        svc.sync_orders(batch)
        before = dump(store)
        report = svc.sync_orders(batch)
        assert report.unchanged == ["#1", "#2", "#3"]
        assert report.counts() == {**dict.fromkeys(report.counts(), 0), "unchanged": 3}
        assert dump(store) == before  # nothing written at all, no event

    def test_changed_content_updates_lines_by_the_edit_rules_and_replaces_fields(
        self, svc: Service, store: Store
    ) -> None:
        svc.change_stock("MUG", "main", 10, "set")
        svc.change_stock("HAT", "main", 10, "set")
        first = order("#1", ("MUG", 3), ("HAT", 1), shipping_method="ground", tags=frozenset("a"))
        svc.sync_orders([incoming(first)])
        svc.allocate(["#1"])
        assert reserved(svc, "#1") == [3, 1]
        second = dataclasses.replace(
            first,
            lines=order("x", ("MUG", 2), ("SOCK", 1)).lines,
            shipping_method="overnight",
            ship_to=ShipTo(name="Ada", country="GB", city="London"),
            total=Decimal("12.50"),
            tags=frozenset({"b"}),
            attributes={"shopify_id": "42"},
        )
        report = svc.sync_orders([incoming(second, minutes=5)])
        assert report.updated == ["#1"]
        got = svc.get_order("#1")
        assert [(x.sku, x.qty, x.reserved) for x in got.lines] == [
            ("MUG", 2, 2),  # lowered: the reservation is trimmed, it keeps its place
            ("SOCK", 1, 0),  # a new line is unreserved; the HAT line was released
        ]
        assert (got.shipping_method, got.ship_to, got.total, got.tags) == (
            "overnight",
            ShipTo(name="Ada", country="GB", city="London"),
            Decimal("12.50"),
            frozenset({"b"}),
        )
        assert got.attributes == {"shopify_id": "42"}
        assert got.allocation_status == "partially_allocated"
        assert stock(svc, "MUG") == (10, 2, 8) and stock(svc, "HAT") == (10, 0, 10)
        assert event_types(store, "#1") == ["order.created", "order.updated"]
        assert [(h["sku"], h["delta"], h["operation"]) for h in svc.history("#1")][-2:] == [
            ("MUG", -1, "edit"),
            ("HAT", -1, "edit"),
        ]

    def test_cancelled_by_the_channel_releases_and_shipped_lowers_on_hand(
        self, svc: Service, store: Store
    ) -> None:
        svc.change_stock("MUG", "main", 10, "set")
        svc.sync_orders([incoming(order("#1", ("MUG", 2))), incoming(order("#2", ("MUG", 3)))])
        svc.allocate(["#1", "#2"])
        assert stock(svc, "MUG") == (10, 5, 5)
        report = svc.sync_orders(
            [
                incoming(order("#1", ("MUG", 2)), CANCELLED, minutes=1),
                incoming(order("#2", ("MUG", 3)), SHIPPED, minutes=1),
            ]
        )
        assert (report.cancelled, report.shipped, report.updated) == (["#1"], ["#2"], [])
        assert svc.get_order("#1").status == CANCELLED
        assert svc.get_order("#2").status == SHIPPED
        assert stock(svc, "MUG") == (7, 0, 7)  # §4 ship: on_hand falls; cancel: unchanged
        assert event_types(store, "#1")[-1] == "order.cancelled"
        assert event_types(store, "#2")[-1] == "order.shipped"
        ops = {h["operation"] for oid in ("#1", "#2") for h in svc.history(oid)}
        assert {"cancel", "ship"} <= ops

    def test_a_change_that_arrives_with_its_cancellation_is_applied_then_cancelled(
        self, svc: Service, store: Store
    ) -> None:
        svc.sync_orders([incoming(order("#1", ("MUG", 2)))])
        report = svc.sync_orders([incoming(order("#1", ("HAT", 1)), CANCELLED, minutes=1)])
        assert report.cancelled == ["#1"] and report.updated == []
        got = svc.get_order("#1")
        assert (got.status, [x.sku for x in got.lines]) == (CANCELLED, ["HAT"])
        assert event_types(store, "#1") == ["order.created", "order.updated", "order.cancelled"]

    def test_an_older_copy_is_stale_and_ignored(self, svc: Service, store: Store) -> None:
        svc.sync_orders([incoming(order("#1", ("MUG", 2)), minutes=10)])
        before = dump(store)
        report = svc.sync_orders([incoming(order("#1", ("MUG", 9)), minutes=5)])
        assert report.stale == ["#1"]
        assert dump(store) == before
        # A copy with no updated_at (Shopify's CSV) is never stale: judged by content.
        report = svc.sync_orders([incoming(order("#1", ("MUG", 9)), minutes=None)])
        assert report.updated == ["#1"]

    def test_same_content_with_a_newer_updated_at_is_unchanged_but_remembered(
        self, svc: Service, store: Store
    ) -> None:
        svc.sync_orders([incoming(order("#1", ("MUG", 2)), minutes=1)])
        report = svc.sync_orders([incoming(order("#1", ("MUG", 2)), minutes=9)])
        assert report.unchanged == ["#1"]
        assert event_types(store, "#1") == ["order.created"]
        # The copy of minute 5 is older than what the channel last said: stale.
        assert svc.sync_orders([incoming(order("#1", ("MUG", 7)), minutes=5)]).stale == ["#1"]

    def test_closed_in_dibs_and_shown_otherwise_is_a_conflict_left_alone(
        self, svc: Service, store: Store
    ) -> None:
        svc.sync_orders([incoming(order(f"#{n}", ("MUG", 1))) for n in (1, 2, 3, 4)])
        svc.finish(["#1", "#2"], "cancel")
        svc.finish(["#3"], "ship")
        svc.finish(["#4"], "dropship")
        before = dump(store)
        report = svc.sync_orders(
            [
                incoming(order("#1", ("MUG", 1)), minutes=1),
                incoming(order("#2", ("MUG", 5)), CANCELLED, minutes=1),
                incoming(order("#3", ("MUG", 1)), CANCELLED, minutes=1),
                incoming(order("#4", ("MUG", 1)), SHIPPED, minutes=1),
            ]
        )
        assert report.conflicts == [
            {"id": "#1", "reason": "cancelled in dibs, the channel says awaiting_fulfillment"},
            {"id": "#3", "reason": "shipped in dibs, the channel says cancelled"},
        ]
        assert report.unchanged == ["#2", "#4"]  # same closed status; dropshipped = fulfilled
        after = dump(store)
        assert after["orders"] != before["orders"]  # only sync's marks moved ...
        assert {k: v for k, v in after.items() if k != "orders"} == {
            k: v for k, v in before.items() if k != "orders"
        }
        assert svc.get_order("#2").lines[0].qty == 1  # ... never the closed order's content

    def test_channel_formats_keep_the_warehouse_dibs_gave_the_order(self, svc: Service) -> None:
        svc.sync_orders([incoming(order("#1", ("MUG", 1)))])
        svc.update_order("#1", FieldChanges({"warehouse": "east"}).apply)
        svc.sync_orders([incoming(order("#1", ("MUG", 2)), minutes=1)])
        got = svc.get_order("#1")
        assert (got.warehouse, got.lines[0].qty) == ("east", 2)
        # The native format names the warehouse itself: it is replaced like any field.
        native = incoming(order("#1", ("MUG", 2)), minutes=2, channel_format=False)
        svc.sync_orders([native])
        assert svc.get_order("#1").warehouse == "main"

    def test_a_plain_import_refuses_known_ids_and_a_sync_creates_the_rest(
        self, svc: Service, store: Store
    ) -> None:
        svc.import_orders([incoming(order("#1", ("MUG", 1)))])
        before = dump(store)
        with pytest.raises(OrdersExist) as refused:
            svc.import_orders([incoming(order("#1", ("MUG", 1))), incoming(order("#2", ("M", 1)))])
        assert refused.value.ids == ["#1"]
        assert dump(store) == before
        report = svc.sync_orders(
            [incoming(order("#1", ("MUG", 1))), incoming(order("#2", ("M", 1)))]
        )
        assert (report.unchanged, report.created) == (["#1"], ["#2"])

    def test_bad_batches_are_refused_whole(self, svc: Service, store: Store) -> None:
        before = dump(store)
        with pytest.raises(BadInput):
            svc.sync_orders([incoming(order("#1", ("M", 1))), incoming(order("#1", ("M", 2)))])
        with pytest.raises(BadInput):
            svc.sync_orders([incoming(order("#1", ("M", 1)), "dropshipped")])
        assert dump(store) == before


class TestEditsByHand:
    def test_fields_change_in_one_transaction_with_one_event(
        self, svc: Service, store: Store
    ) -> None:
        svc.add_orders([order("A", ("MUG", 1), attributes={"gift": "yes", "x": 1})])
        change = FieldChanges(
            {
                "shipping_method": "overnight",
                "ship_to.country": "DE",
                "ship_to.state": "BE",
                "ship_to.city": "Berlin",
                "ship_to.postal_code": "10115",
                "total": Decimal("9.99"),
            },
            {"gift": None, "note": "call first"},
            [("MUG", 2)],
        )
        got, changed = svc.update_order("A", change.apply)
        assert changed
        assert got.ship_to == ShipTo(None, "DE", "BE", "Berlin", "10115")
        assert (got.shipping_method, got.total, got.lines[0].qty) == (
            "overnight",
            Decimal("9.99"),
            2,
        )
        assert got.attributes == {"x": 1, "note": "call first"}
        assert event_types(store, "A") == ["order.created", "order.updated"]
        _, again = svc.update_order("A", change.apply)
        assert not again and event_types(store, "A") == ["order.created", "order.updated"]

    def test_changing_the_warehouse_releases_its_reservations(
        self, svc: Service, store: Store
    ) -> None:
        svc.change_stock("MUG", "main", 5, "set")
        svc.add_orders([order("A", ("MUG", 2))])
        svc.allocate(["A"])
        got, _ = svc.update_order("A", FieldChanges({"warehouse": "east"}).apply)
        assert (got.warehouse, got.allocation_status, reserved(svc, "A")) == (
            "east",
            "unallocated",
            [0],
        )
        assert stock(svc, "MUG") == (5, 0, 5)
        assert svc.history("A")[-1]["delta"] == -2

    def test_unknown_and_closed_orders_are_refused(self, svc: Service, store: Store) -> None:
        svc.add_orders([order("A", ("MUG", 1))])
        svc.finish(["A"], "cancel")
        with pytest.raises(OperationFailed, match="'NOPE'"):
            svc.update_order("NOPE", FieldChanges({"shipping_method": "x"}).apply)
        with pytest.raises(OperationFailed, match="cancelled"):
            svc.update_order("A", FieldChanges({"shipping_method": "x"}).apply)

    def test_tags_by_hand_write_order_updated_for_each_order_changed(
        self, svc: Service, store: Store
    ) -> None:
        svc.add_orders(
            [order("A", ("M", 1), tags=frozenset({"fraud-review"})), order("B", ("M", 1))]
        )
        assert svc.tag(["A", "B"], "fraud-review") == ["B"]
        assert svc.tag(["A", "B"], "fraud-review", add=False) == ["A", "B"]
        assert svc.get_order("A").tags == frozenset()
        assert event_types(store, "A") == ["order.created", "order.updated"]
        assert event_types(store, "B") == ["order.created", "order.updated", "order.updated"]
        before = dump(store)
        with pytest.raises(OperationFailed, match="'GHOST'"):
            svc.tag(["A", "GHOST"], "vip")
        assert dump(store) == before


# ------------------------------------------------------------------ two processes at once

WORKER = r"""
import json, sys, time
from engine.io.incoming import read_incoming
from engine.service import Service
from engine.store import Store
from pathlib import Path

args = json.loads(sys.argv[1])
svc = Service(Store.open(args["url"], migrate=False))
read = read_incoming(Path(args["file"]))
time.sleep(max(0.0, args["start_at"] - time.time()))  # both start syncing at the same moment
report = svc.sync_orders(read.orders)
print(json.dumps(report.as_json()))
"""


def _write_orders(path: Path, ids: list[int]) -> None:
    lines = [
        json.dumps(
            {
                "id": f"C{n:04d}",
                "channel": "web",
                "placed_at": "2026-03-01T10:00:00Z",
                "lines": [{"sku": "MUG", "qty": 1 + n % 3}],
            }
        )
        for n in ids
    ]
    path.write_text("\n".join(lines) + "\n")


def test_two_processes_syncing_overlapping_files_create_each_order_once(
    store: Store, tmp_path: Path
) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    files = []
    for k, ids in enumerate([list(range(0, 3000)), list(range(1500, 4500))]):
        path = tmp_path / f"feed{k}.jsonl"
        _write_orders(path, ids)
        files.append(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start_at = time.time() + 3
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                json.dumps({"url": url, "file": str(path), "start_at": start_at}),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for path in files
    ]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))
    created = [oid for r in reports for oid in r["created"]]
    assert len(created) == len(set(created)) == 4500
    unchanged = [oid for r in reports for oid in r["unchanged"]]
    assert sorted(unchanged) == [f"C{n:04d}" for n in range(1500, 3000)]
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 4500
        created_events = conn.execute(
            select(func.count()).select_from(events).where(events.c.type == "order.created")
        ).scalar_one()
    assert created_events == 4500


class TestLockOrder:
    """Sync takes every stock row an update may touch before any order row (the lock order of
    engine.store.database): a kit's components and stock held in another warehouse too, so
    two syncs (or a sync and an allocation) never wait on each other in a cycle."""

    def test_no_stock_is_locked_after_the_orders(
        self, svc: Service, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        svc.set_kits({"GIFT": [("MUG", 1), ("TEA", 2)]})
        for sku, wh in (("MUG", "main"), ("TEA", "main"), ("CUP", "east"), ("SPOON", "main")):
            svc.change_stock(sku, wh, 10, "set")
        svc.add_orders([order("K1", ("GIFT", 1), ("CUP", 1))])
        svc.allocate(["K1"], warehouses=["main", "east"])  # CUP is reserved in east
        calls: list[tuple[str, list[object]]] = []
        for name in ("lock_stock", "lock_orders"):
            real = getattr(Store, name)

            def spy(self: Store, conn: object, keys: list[object], _n=name, _r=real) -> None:
                calls.append((_n, list(keys)))
                _r(self, conn, keys)

            monkeypatch.setattr(Store, name, spy)
        changed = order("K1", ("GIFT", 2), ("CUP", 1), ("SPOON", 1))
        report = svc.sync_orders([incoming(changed, minutes=5)])
        assert report.updated == ["K1"]
        first_orders = next(n for n, (name, _) in enumerate(calls) if name == "lock_orders")
        early = calls[:first_orders]
        before = {key for name, keys in early if name == "lock_stock" for key in keys}
        later = [keys for name, keys in calls[first_orders + 1 :] if name == "lock_stock"]
        assert {("MUG", "main"), ("TEA", "main"), ("CUP", "east"), ("SPOON", "main")} <= before
        assert later == []
        assert reserved(svc, "K1") == [1, 1, 0]  # what was reserved stays; SPOON is new
