"""SPEC §1-5 line by line, through `Service`, on SQLite and on PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import BadInput, DibsError, OperationFailed
from engine.model import AllocationStatus, Order, Policy, ShipTo
from engine.service import Actor, Service, parse_order_by
from engine.store import Store, ledger
from tests.helpers import T0, order
from tests.integration.helpers import (
    counts,
    dump,
    event_rows,
    reserved,
    status,
    statuses,
    stock,
)

A = AllocationStatus


@pytest.fixture
def svc(store: Store, clock: Callable[[], datetime]) -> Service:
    return Service(store, clock)


def setup(svc: Service, inventory: dict[str, int], *orders: Order) -> None:
    for sku, qty in inventory.items():
        svc.change_stock(sku, "main", qty, "set")
    if orders:
        svc.add_orders(list(orders))


def ledger_rows(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(ledger).order_by(ledger.c.id))]


# ========================================================================== §1 Inventory


class TestInventory:
    def test_sku_without_a_row_has_nothing_on_hand(self, svc: Service) -> None:
        assert svc.list_inventory("GHOST") == []
        svc.add_orders([order("O1", ("GHOST", 1))])
        report = svc.allocate(["O1"])
        assert report.results == [
            {"id": "O1", "before": "unallocated", "after": "could_not_allocate"}
        ]
        # Adjusting and receiving start from 0.
        assert svc.change_stock("GHOST", "main", 2, "adjusted")["on_hand"] == 2
        assert svc.change_stock("NEW", "main", 3, "received")["on_hand"] == 3

    def test_stock_is_per_sku_and_warehouse(self, svc: Service) -> None:
        svc.change_stock("W", "east", 5, "set")
        svc.add_orders([order("O1", ("W", 1)), order("O2", ("W", 1), warehouse="east")])
        svc.allocate(["O1", "O2"])
        assert statuses(svc, "O1", "O2") == {"O1": A.COULD_NOT_ALLOCATE, "O2": A.ALLOCATED}
        assert stock(svc, "W", "east") == (5, 1, 4)
        assert stock(svc, "W", "main") == (0, 0, 0)
        assert svc.get_order("O1").warehouse == "main"

    def test_allocation_never_changes_on_hand_and_available_is_the_difference(
        self, svc: Service
    ) -> None:
        setup(svc, {"W": 10}, order("O1", ("W", 3)), order("O2", ("W", 4)))
        svc.allocate(["O1", "O2"])
        assert stock(svc, "W") == (10, 7, 3)
        svc.change_stock("W", "main", 5, "set")
        assert stock(svc, "W") == (5, 7, -2)  # negative while overallocated
        svc.deallocate(["O2"])
        assert stock(svc, "W") == (5, 3, 2)

    def test_on_hand_may_go_negative_after_shipping(self, svc: Service) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 3)), order("O2", ("NOROW", 2)))
        svc.finish(["O1", "O2"], "ship")
        assert stock(svc, "W") == (-2, 0, -2)
        assert stock(svc, "NOROW") == (-2, 0, -2)

    def test_set_adjust_receive(self, svc: Service) -> None:
        assert svc.change_stock("W", "main", 10, "set")["on_hand"] == 10
        assert svc.change_stock("W", "main", -4, "adjusted")["on_hand"] == 6
        assert svc.change_stock("W", "main", 3, "received")["on_hand"] == 9
        assert svc.change_stock("W", "main", -12, "adjusted")["on_hand"] == -3
        assert svc.change_stock("W", "main", 0, "set")["on_hand"] == 0
        assert stock(svc, "W") == (0, 0, 0)

    @pytest.mark.parametrize(("qty", "kind"), [(0, "received"), (-1, "received"), (-1, "set")])
    def test_bad_stock_quantities_are_refused_and_write_nothing(
        self, svc: Service, store: Store, qty: int, kind: str
    ) -> None:
        setup(svc, {"W": 4})
        before = dump(store)
        with pytest.raises(BadInput):
            svc.change_stock("W", "main", qty, kind)
        assert dump(store) == before

    def test_import_inventory_sets_many_at_once(self, svc: Service) -> None:
        svc.change_stock("A", "main", 7, "set")
        assert svc.import_inventory([("A", "main", 2), ("B", "main", 3), ("B", "east", 4)]) == 3
        assert [(r["sku"], r["warehouse"], r["on_hand"]) for r in svc.list_inventory()] == [
            ("A", "main", 2),
            ("B", "east", 4),
            ("B", "main", 3),
        ]
        assert [e["payload"]["kind"] for e in event_rows(svc.store, "inventory.changed")] == [
            "set"
        ] * 4

    def test_list_inventory_filters_by_sku(self, svc: Service) -> None:
        setup(svc, {"A": 1, "B": 2})
        assert svc.list_inventory("B") == [
            {"sku": "B", "warehouse": "main", "on_hand": 2, "allocated": 0, "available": 2}
        ]


# ============================================================================ §2 Orders


class TestOrders:
    def test_fields_are_kept(self, svc: Service) -> None:
        placed = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
        svc.add_orders(
            [
                Order(
                    id="SO-1",
                    channel="amazon",
                    placed_at=placed,
                    lines=(order("x", ("A", 2), ("B", 1)).lines),
                    ship_to=ShipTo("Ada", "GB", "LDN", "London", "N1 9GU"),
                    shipping_method="overnight",
                    total=Decimal("19.90"),
                    tags=frozenset({"vip", "gift"}),
                    warehouse="east",
                    attributes={"gift_note": "hi", "priority": 3, "fragile": True},
                )
            ]
        )
        got = svc.get_order("SO-1")
        assert (got.id, got.channel, got.placed_at) == ("SO-1", "amazon", placed)
        assert got.placed_at.tzinfo is not None
        assert got.status == "awaiting_fulfillment"
        assert got.allocation_status == "unallocated"
        assert got.ship_to == ShipTo("Ada", "GB", "LDN", "London", "N1 9GU")
        assert got.shipping_method == "overnight"
        assert got.total == Decimal("19.90")
        assert got.tags == {"vip", "gift"}
        assert got.warehouse == "east"
        assert got.attributes == {"gift_note": "hi", "priority": 3, "fragile": True}
        assert [(x.sku, x.qty, x.reserved) for x in got.lines] == [("A", 2, 0), ("B", 1, 0)]

    def test_unknown_order_is_an_operation_failure(self, svc: Service) -> None:
        with pytest.raises(OperationFailed, match="NOPE"):
            svc.get_order("NOPE")
        with pytest.raises(OperationFailed):
            svc.history("NOPE")

    @pytest.mark.parametrize("how", ["ship", "cancel", "dropship"])
    def test_only_awaiting_orders_can_be_edited_or_split(self, svc: Service, how: str) -> None:
        setup(svc, {"W": 5}, order("O1", ("W", 2)))
        svc.finish(["O1"], how)
        with pytest.raises(OperationFailed, match="cannot edit"):
            svc.edit("O1", [("W", 1)])
        with pytest.raises(OperationFailed, match="cannot split"):
            svc.split("O1")


# ================================================================= §3 Allocation statuses


class TestStatuses:
    def test_each_status(self, svc: Service) -> None:
        setup(
            svc,
            {"A": 3, "B": 0},
            order("FULL", ("A", 1)),
            order("PART", ("A", 1), ("B", 1), minutes=1),
            order("NONE", ("B", 1), minutes=2),
            order("NEW", ("A", 1), minutes=3),
        )
        svc.allocate(["FULL", "PART", "NONE"])
        assert statuses(svc, "FULL", "PART", "NONE", "NEW") == {
            "FULL": A.ALLOCATED,
            "PART": A.PARTIALLY_ALLOCATED,
            "NONE": A.COULD_NOT_ALLOCATE,
            "NEW": A.UNALLOCATED,
        }
        svc.change_stock("A", "main", 1, "set")
        assert status(svc, "PART") == A.OVERALLOCATED

    def test_seed_example_stock_adjusted_to_zero(self, svc: Service) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)))
        svc.allocate(["O1"])
        assert status(svc, "O1") == A.ALLOCATED
        svc.change_stock("W", "main", -1, "adjusted")
        assert stock(svc, "W") == (0, 1, -1)
        assert status(svc, "O1") == A.OVERALLOCATED
        assert [r["covered"] for r in svc.reservations_of("O1")] == [False]

    def test_seed_example_stock_consumed_by_shipping_another_order(self, svc: Service) -> None:
        # O2 was never allocated but its unit was counted on hand; shipping it takes that unit.
        setup(svc, {"W": 1}, order("O1", ("W", 1)), order("O2", ("W", 1), minutes=1))
        svc.allocate(["O1"])
        svc.finish(["O2"], "ship")
        assert stock(svc, "W") == (0, 1, -1)
        assert status(svc, "O1") == A.OVERALLOCATED

    def test_cover_is_lost_newest_first_and_returns_in_the_same_order(self, svc: Service) -> None:
        setup(
            svc,
            {"W": 3},
            order("O1", ("W", 1)),
            order("O2", ("W", 1), minutes=1),
            order("O3", ("W", 1), minutes=2),
        )
        svc.allocate(["O1", "O2", "O3"])
        ids = ("O1", "O2", "O3")
        seen = []
        for on_hand in (1, 0, 2, 3):
            svc.change_stock("W", "main", on_hand, "set")
            seen.append(tuple(status(svc, oid) == A.ALLOCATED for oid in ids))
        assert seen == [
            (True, False, False),
            (False, False, False),
            (True, True, False),
            (True, True, True),
        ]

    def test_uncovered_trumps_partial_and_status_returns_with_stock(self, svc: Service) -> None:
        setup(svc, {"A": 1, "B": 0}, order("O1", ("A", 1), ("B", 1)))
        svc.allocate(["O1"])
        assert status(svc, "O1") == A.PARTIALLY_ALLOCATED
        svc.change_stock("A", "main", -1, "adjusted")
        assert status(svc, "O1") == A.OVERALLOCATED
        svc.change_stock("A", "main", 1, "received")
        assert status(svc, "O1") == A.PARTIALLY_ALLOCATED

    def test_partial_cover_of_a_multi_unit_reservation(self, svc: Service) -> None:
        setup(svc, {"W": 5}, order("O1", ("W", 5)))
        svc.allocate(["O1"])
        svc.change_stock("W", "main", 4, "set")
        assert status(svc, "O1") == A.OVERALLOCATED
        svc.change_stock("W", "main", 5, "set")
        assert status(svc, "O1") == A.ALLOCATED


# ========================================================================= §4 allocate


class TestAllocate:
    def test_fifo_by_placed_at_then_id(self, svc: Service) -> None:
        setup(
            svc,
            {"W": 2},
            order("B", ("W", 1), minutes=5),
            order("A", ("W", 1), minutes=5),
            order("C", ("W", 1), minutes=9),
            order("Z", ("W", 1), minutes=1),
        )
        report = svc.allocate(["C", "B", "A", "Z"])
        assert [r["id"] for r in report.results] == ["Z", "A", "B", "C"]
        assert statuses(svc, "Z", "A", "B", "C") == {
            "Z": A.ALLOCATED,
            "A": A.ALLOCATED,
            "B": A.COULD_NOT_ALLOCATE,
            "C": A.COULD_NOT_ALLOCATE,
        }

    def test_all_open_orders_when_none_named(self, svc: Service) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1), minutes=2), order("O0", ("W", 1)))
        report = svc.allocate()
        assert [(r["id"], r["after"]) for r in report.results] == [
            ("O0", "allocated"),
            ("O1", "could_not_allocate"),
        ]
        # Settled orders are not selected again; the others are retried.
        again = svc.allocate()
        assert [r["id"] for r in again.results] == ["O1"]

    def test_order_by(self, svc: Service) -> None:
        setup(
            svc,
            {"W": 1},
            order("CHEAP", ("W", 1), total=Decimal("5")),
            order("RICH", ("W", 1), minutes=3, total=Decimal("500")),
            order("NOTOTAL", ("W", 1), minutes=4),
        )
        report = svc.allocate(["CHEAP", "RICH", "NOTOTAL"], order_by=parse_order_by("total desc"))
        assert [r["id"] for r in report.results] == ["RICH", "CHEAP", "NOTOTAL"]
        assert status(svc, "RICH") == A.ALLOCATED
        assert status(svc, "CHEAP") == A.COULD_NOT_ALLOCATE

    def test_order_by_placed_at_desc_and_age(self, svc: Service) -> None:
        setup(
            svc,
            {"W": 3},
            order("OLD", ("W", 1)),
            order("MID", ("W", 1), minutes=1),
            order("NEW", ("W", 1), minutes=2),
        )
        newest_first = svc.allocate(
            ["OLD", "MID", "NEW"], order_by=[("placed_at", True)], dry_run=True
        )
        assert [r["id"] for r in newest_first.results] == ["NEW", "MID", "OLD"]
        oldest_first = svc.allocate(["OLD", "MID", "NEW"], order_by=[("age", True)], dry_run=True)
        assert [r["id"] for r in oldest_first.results] == ["OLD", "MID", "NEW"]

    def test_bad_order_by_is_bad_input(self) -> None:
        with pytest.raises(BadInput, match="did you mean 'total'"):
            parse_order_by("totl desc")
        with pytest.raises(BadInput):
            parse_order_by("total sideways")

    @pytest.mark.parametrize(
        ("text", "hint"),
        [
            ("total dsc", "did you mean 'total desc'?"),
            ("total DESC", "did you mean 'total desc'?"),
            ("placed_at ascending", "did you mean 'placed_at asc'?"),
        ],
    )
    def test_a_mistyped_direction_gets_a_did_you_mean(self, text: str, hint: str) -> None:
        """`--order-by 'total DESC'` (SQL's habit) said only "use 'field [asc|desc]'"."""
        with pytest.raises(BadInput) as caught:
            parse_order_by(text)
        assert str(caught.value) == f"--order-by: cannot read '{text}'; {hint}"

    def test_units_reserved_for_an_earlier_order_are_not_available_to_a_later_one(
        self, svc: Service
    ) -> None:
        setup(svc, {"W": 5}, order("O1", ("W", 3)), order("O2", ("W", 3), minutes=1))
        svc.allocate(["O1", "O2"], policy=Policy.UNITS)
        assert reserved(svc, "O1") == [3]
        assert reserved(svc, "O2") == [2]
        assert stock(svc, "W") == (5, 5, 0)

    def test_lines_policy(self, svc: Service) -> None:
        setup(svc, {"A": 2, "B": 5}, order("O1", ("A", 3), ("B", 2)))
        svc.allocate(["O1"], policy=Policy.LINES)
        assert reserved(svc, "O1") == [0, 2]
        assert status(svc, "O1") == A.PARTIALLY_ALLOCATED

    def test_units_policy(self, svc: Service) -> None:
        setup(svc, {"A": 2, "B": 5}, order("O1", ("A", 3), ("B", 2)))
        svc.allocate(["O1"], policy=Policy.UNITS)
        assert reserved(svc, "O1") == [2, 2]
        assert status(svc, "O1") == A.PARTIALLY_ALLOCATED

    def test_all_or_nothing_policy(self, svc: Service) -> None:
        setup(svc, {"A": 2, "B": 5}, order("O1", ("A", 3), ("B", 2)))
        svc.allocate(["O1"], policy=Policy.ALL_OR_NOTHING)
        assert reserved(svc, "O1") == [0, 0]
        assert status(svc, "O1") == A.COULD_NOT_ALLOCATE
        assert stock(svc, "B") == (5, 0, 5)
        svc.change_stock("A", "main", 1, "received")
        svc.allocate(["O1"], policy=Policy.ALL_OR_NOTHING)
        assert reserved(svc, "O1") == [3, 2]
        assert status(svc, "O1") == A.ALLOCATED

    def test_two_lines_of_the_same_sku(self, svc: Service) -> None:
        setup(svc, {"W": 3}, order("O1", ("W", 2), ("W", 2)))
        svc.allocate(["O1"])
        assert reserved(svc, "O1") == [2, 0]
        assert stock(svc, "W") == (3, 2, 1)

    def test_a_partial_order_gets_its_missing_units_later(self, svc: Service) -> None:
        setup(svc, {"A": 1, "B": 0}, order("O1", ("A", 1), ("B", 2)))
        svc.allocate(["O1"])
        assert status(svc, "O1") == A.PARTIALLY_ALLOCATED
        svc.change_stock("B", "main", 2, "received")
        report = svc.allocate(["O1"])
        assert report.results == [
            {"id": "O1", "before": "partially_allocated", "after": "allocated"}
        ]
        assert reserved(svc, "O1") == [1, 2]
        # Only the missing units were reserved the second time.
        assert [(e["sku"], e["delta"]) for e in svc.history("O1")] == [("A", 1), ("B", 2)]

    def test_could_not_allocate_is_retried(self, svc: Service) -> None:
        setup(svc, {"W": 0}, order("O1", ("W", 1)))
        svc.allocate(["O1"])
        assert status(svc, "O1") == A.COULD_NOT_ALLOCATE
        svc.change_stock("W", "main", 1, "received")
        svc.allocate(["O1"])
        assert status(svc, "O1") == A.ALLOCATED

    @pytest.mark.parametrize("how", ["ship", "cancel", "dropship"])
    def test_orders_not_awaiting_are_skipped_with_the_reason(self, svc: Service, how: str) -> None:
        setup(svc, {"W": 5}, order("DONE", ("W", 1)), order("OPEN", ("W", 1)))
        svc.finish(["DONE"], how)
        report = svc.allocate(["DONE", "OPEN"])
        state = {"ship": "shipped", "cancel": "cancelled", "dropship": "dropshipped"}[how]
        assert report.skipped == [{"id": "DONE", "reason": f"order is {state}"}]
        assert [r["id"] for r in report.results] == ["OPEN"]
        assert svc.get_order("DONE").status == state
        assert reserved(svc, "DONE") == [0]

    def test_allocated_and_overallocated_orders_are_left_unchanged(
        self, svc: Service, store: Store
    ) -> None:
        setup(svc, {"W": 2, "V": 5}, order("OK", ("W", 1)), order("OVER", ("W", 1), ("V", 1)))
        svc.allocate(["OK"])
        svc.allocate(["OVER"], policy=Policy.UNITS)
        svc.change_stock("V", "main", 0, "set")
        assert status(svc, "OVER") == A.OVERALLOCATED
        svc.change_stock("V", "main", 0, "set")  # still overallocated
        before = ledger_rows(store)
        report = svc.allocate(["OK", "OVER"])
        assert report.results == [
            {"id": "OK", "before": "allocated", "after": "allocated"},
            {"id": "OVER", "before": "overallocated", "after": "overallocated"},
        ]
        assert ledger_rows(store) == before

    def test_allocate_an_unknown_order_fails_and_writes_nothing(
        self, svc: Service, store: Store
    ) -> None:
        setup(svc, {"W": 5}, order("O1", ("W", 1)))
        before = dump(store)
        with pytest.raises(OperationFailed, match="NOPE"):
            svc.allocate(["O1", "NOPE"])
        assert dump(store) == before
        assert status(svc, "O1") == A.UNALLOCATED

    def test_dry_run_reports_but_writes_nothing(self, svc: Service, store: Store) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)), order("O2", ("W", 1), minutes=1))
        before, before_counts = dump(store), counts(store)
        report = svc.allocate(dry_run=True)
        assert [(r["id"], r["after"]) for r in report.results] == [
            ("O1", "allocated"),
            ("O2", "could_not_allocate"),
        ]
        assert report.reserved_units == 1
        assert counts(store) == before_counts
        assert dump(store) == before

    def test_report_as_json(self, svc: Service) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)), order("O2", ("W", 1)))
        svc.finish(["O2"], "cancel")
        assert svc.allocate(["O1", "O2"]).as_json() == {
            "results": [{"id": "O1", "before": "unallocated", "after": "allocated"}],
            "skipped": [{"id": "O2", "reason": "order is cancelled"}],
        }


# ====================================================================== deallocate, reallocate


class TestDeallocateReallocate:
    def test_deallocate_releases_everything(self, svc: Service) -> None:
        setup(svc, {"A": 3, "B": 3}, order("O1", ("A", 2), ("B", 1)))
        svc.allocate(["O1"])
        report = svc.deallocate(["O1"])
        assert report.results == [{"id": "O1", "before": "allocated", "after": "unallocated"}]
        assert reserved(svc, "O1") == [0, 0]
        assert status(svc, "O1") == A.UNALLOCATED
        assert stock(svc, "A") == (3, 0, 3)
        assert stock(svc, "B") == (3, 0, 3)
        assert svc.reservations_of("O1") == []
        assert sorted((e["sku"], e["delta"], e["operation"]) for e in svc.history("O1")[-2:]) == [
            ("A", -2, "deallocate"),
            ("B", -1, "deallocate"),
        ]

    def test_deallocating_an_earlier_order_restores_cover_of_a_later_one(
        self, svc: Service
    ) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 1)), order("O2", ("W", 1), minutes=1))
        svc.allocate(["O1", "O2"])
        svc.change_stock("W", "main", 1, "set")
        assert statuses(svc, "O1", "O2") == {"O1": A.ALLOCATED, "O2": A.OVERALLOCATED}
        svc.deallocate(["O1"])
        assert statuses(svc, "O1", "O2") == {"O1": A.UNALLOCATED, "O2": A.ALLOCATED}

    def test_deallocate_skips_closed_orders_and_refuses_unknown(
        self, svc: Service, store: Store
    ) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 1)), order("O2", ("W", 1)))
        svc.finish(["O2"], "ship")
        report = svc.deallocate(["O1", "O2"])
        assert report.skipped == [{"id": "O2", "reason": "order is shipped"}]
        before = dump(store)
        with pytest.raises(OperationFailed):
            svc.deallocate(["O1", "NOPE"])
        with pytest.raises(OperationFailed):
            svc.reallocate(["NOPE"])
        assert dump(store) == before

    def test_reallocate_moves_the_order_to_the_back_of_the_coverage_queue(
        self, svc: Service
    ) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 1)), order("O2", ("W", 1), minutes=1))
        svc.allocate(["O1", "O2"])
        report = svc.reallocate(["O1"])
        assert report.results == [{"id": "O1", "before": "allocated", "after": "allocated"}]
        assert svc.reservations_of("O1")[0]["seq"] > svc.reservations_of("O2")[0]["seq"]
        svc.change_stock("W", "main", 1, "set")
        # Without the reallocate, O2 would be the one losing cover.
        assert statuses(svc, "O1", "O2") == {"O1": A.OVERALLOCATED, "O2": A.ALLOCATED}
        assert [e["operation"] for e in svc.history("O1")] == ["allocate", "reallocate", "allocate"]

    def test_reallocate_an_overallocated_order(self, svc: Service) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 1)), order("O2", ("W", 1), minutes=1))
        svc.allocate(["O1", "O2"])
        svc.change_stock("W", "main", 1, "set")
        report = svc.reallocate(["O2"])
        assert report.results == [
            {"id": "O2", "before": "overallocated", "after": "could_not_allocate"}
        ]
        assert stock(svc, "W") == (1, 1, 0)
        svc.change_stock("W", "main", 2, "set")
        svc.reallocate(["O2"], policy=Policy.UNITS)
        assert status(svc, "O2") == A.ALLOCATED

    def test_deallocate_where_none_named_touches_every_open_order(self, svc: Service) -> None:
        setup(svc, {"W": 3}, order("O1", ("W", 1)), order("O2", ("W", 1)))
        svc.allocate()
        svc.deallocate()
        assert statuses(svc, "O1", "O2") == {"O1": A.UNALLOCATED, "O2": A.UNALLOCATED}
        assert stock(svc, "W") == (3, 0, 3)


# ====================================================================== ship, cancel, dropship


class TestFinish:
    def test_ship_takes_units_off_the_shelf_and_releases_the_reservation(
        self, svc: Service
    ) -> None:
        setup(svc, {"A": 5, "B": 1}, order("O1", ("A", 2), ("B", 2)))
        svc.allocate(["O1"], policy=Policy.UNITS)
        assert stock(svc, "B") == (1, 1, 0)
        assert svc.finish(["O1"], "ship") == ["O1"]
        got = svc.get_order("O1")
        assert (got.status, got.allocation_status) == ("shipped", "unallocated")
        assert [x.reserved for x in got.lines] == [0, 0]
        # Every unit of every line leaves the shelf, reserved or not.
        assert stock(svc, "A") == (3, 0, 3)
        assert stock(svc, "B") == (-1, 0, -1)
        assert svc.reservations_of("O1") == []
        assert sorted(
            (e["sku"], e["delta"]) for e in svc.history("O1") if e["operation"] == "ship"
        ) == [("A", -2), ("B", -1)]

    def test_ship_consumes_stock_another_order_was_counting_on(self, svc: Service) -> None:
        setup(
            svc,
            {"W": 2},
            order("O1", ("W", 1)),
            order("O2", ("W", 1), minutes=1),
            order("O3", ("W", 1), minutes=2),
        )
        svc.allocate(["O1", "O2"])
        svc.finish(["O3"], "ship")
        assert statuses(svc, "O1", "O2") == {"O1": A.ALLOCATED, "O2": A.OVERALLOCATED}
        svc.finish(["O1"], "ship")  # O1 takes its own unit: O2 is still uncovered
        assert stock(svc, "W") == (0, 1, -1)
        assert status(svc, "O2") == A.OVERALLOCATED

    @pytest.mark.parametrize("how", ["cancel", "dropship"])
    def test_cancel_and_dropship_release_without_touching_on_hand(
        self, svc: Service, how: str
    ) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 2)), order("O2", ("W", 1), minutes=1))
        svc.allocate(["O1", "O2"], policy=Policy.UNITS)
        svc.change_stock("W", "main", 0, "set")
        svc.change_stock("W", "main", 2, "set")
        svc.finish(["O1"], how)
        got = svc.get_order("O1")
        state = {"cancel": "cancelled", "dropship": "dropshipped"}[how]
        assert (got.status, got.allocation_status) == (state, "unallocated")
        assert stock(svc, "W") == (2, 0, 2)
        assert svc.history("O1")[-1]["operation"] == how

    def test_cancel_frees_cover_for_a_later_order(self, svc: Service) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 1)), order("O2", ("W", 1), minutes=1))
        svc.allocate(["O1", "O2"])
        svc.change_stock("W", "main", 1, "set")
        assert status(svc, "O2") == A.OVERALLOCATED
        svc.finish(["O1"], "cancel")
        assert status(svc, "O2") == A.ALLOCATED

    def test_finishing_a_closed_order_fails_and_writes_nothing(
        self, svc: Service, store: Store
    ) -> None:
        setup(svc, {"W": 5}, order("O1", ("W", 1)), order("O2", ("W", 1)))
        svc.allocate(["O2"])
        svc.finish(["O1"], "ship")
        before, before_counts = dump(store), counts(store)
        for how in ("ship", "cancel", "dropship"):
            with pytest.raises(OperationFailed, match="it is shipped"):
                svc.finish(["O2", "O1"], how)  # O2 alone would succeed: all or nothing
        with pytest.raises(OperationFailed, match="NOPE"):
            svc.finish(["O2", "NOPE"], "ship")
        assert counts(store) == before_counts
        assert dump(store) == before
        assert stock(svc, "W") == (4, 1, 3)

    def test_finishing_the_same_order_twice_in_one_call_ships_once(self, svc: Service) -> None:
        setup(svc, {"W": 5}, order("O1", ("W", 2)))
        assert svc.finish(["O1", "O1"], "ship") == ["O1"]
        assert stock(svc, "W") == (3, 0, 3)


# ========================================================================================= edit


class TestEdit:
    def test_lowering_trims_and_keeps_the_place_in_the_queue(self, svc: Service) -> None:
        setup(svc, {"W": 4}, order("O1", ("W", 2)), order("O2", ("W", 2), minutes=1))
        svc.allocate(["O1", "O2"])
        seq = svc.reservations_of("O1")[0]["seq"]
        edited = svc.edit("O1", [("W", 1)])
        assert [(x.sku, x.qty, x.reserved) for x in edited.lines] == [("W", 1, 1)]
        assert edited.allocation_status == A.ALLOCATED
        assert [(r["seq"], r["qty"]) for r in svc.reservations_of("O1")] == [(seq, 1)]
        assert stock(svc, "W") == (4, 3, 1)
        svc.change_stock("W", "main", 1, "set")
        assert statuses(svc, "O1", "O2") == {"O1": A.ALLOCATED, "O2": A.OVERALLOCATED}
        assert svc.history("O1")[-1] | {"at": None} == {
            "at": None,
            "order": "O1",
            "line": 1,
            "sku": "W",
            "warehouse": "main",
            "delta": -1,
            "operation": "edit",
            "rule": None,
            "ruleset": None,
            "actor": "cli",
        }

    def test_lowering_trims_the_newest_of_a_lines_reservations(self, svc: Service) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 4)))
        svc.allocate(["O1"], policy=Policy.UNITS)
        svc.change_stock("W", "main", 2, "received")
        svc.allocate(["O1"])
        first, second = svc.reservations_of("O1")
        svc.edit("O1", [("W", 3)])
        assert [(r["seq"], r["qty"]) for r in svc.reservations_of("O1")] == [
            (first["seq"], 2),
            (second["seq"], 1),
        ]
        assert reserved(svc, "O1") == [3]
        assert stock(svc, "W") == (4, 3, 1)

    def test_raising_leaves_the_extra_units_unreserved(self, svc: Service) -> None:
        setup(svc, {"W": 9}, order("O1", ("W", 2)))
        svc.allocate(["O1"])
        edited = svc.edit("O1", [("W", 5)])
        assert [(x.qty, x.reserved) for x in edited.lines] == [(5, 2)]
        assert edited.allocation_status == A.PARTIALLY_ALLOCATED
        assert stock(svc, "W") == (9, 2, 7)
        svc.allocate(["O1"])
        assert status(svc, "O1") == A.ALLOCATED

    def test_changing_the_sku_releases_and_leaves_the_new_sku_unreserved(
        self, svc: Service
    ) -> None:
        setup(svc, {"A": 2, "B": 2}, order("O1", ("A", 2)))
        svc.allocate(["O1"])
        edited = svc.edit("O1", [("B", 2)])
        assert [(x.sku, x.qty, x.reserved) for x in edited.lines] == [("B", 2, 0)]
        assert edited.allocation_status == A.UNALLOCATED
        assert stock(svc, "A") == (2, 0, 2)
        assert stock(svc, "B") == (2, 0, 2)

    def test_adding_a_line_leaves_it_unreserved(self, svc: Service) -> None:
        setup(svc, {"A": 2, "B": 2}, order("O1", ("A", 2)))
        svc.allocate(["O1"])
        edited = svc.edit("O1", [("A", 2), ("B", 1)])
        assert [(x.sku, x.qty, x.reserved) for x in edited.lines] == [("A", 2, 2), ("B", 1, 0)]
        assert edited.allocation_status == A.PARTIALLY_ALLOCATED
        assert (edited.line_count, edited.unit_count) == (2, 3)

    def test_removing_a_line_releases_it(self, svc: Service) -> None:
        setup(svc, {"A": 2, "B": 2}, order("O1", ("A", 1), ("B", 1)))
        svc.allocate(["O1"])
        edited = svc.edit("O1", [("B", 1)])
        assert [(x.sku, x.qty, x.reserved) for x in edited.lines] == [("B", 1, 1)]
        assert edited.allocation_status == A.ALLOCATED
        assert stock(svc, "A") == (2, 0, 2)
        assert [(r["line"], r["sku"]) for r in svc.reservations_of("O1")] == [(1, "B")]
        # The reservation followed its line to its new number: deallocating releases it.
        svc.deallocate(["O1"])
        assert stock(svc, "B") == (2, 0, 2)

    def test_reordering_lines_keeps_reservations_with_their_line(self, svc: Service) -> None:
        setup(svc, {"A": 5, "B": 0}, order("O1", ("A", 2), ("B", 1)))
        svc.allocate(["O1"])
        edited = svc.edit("O1", [("B", 1), ("A", 2)])
        assert [(x.sku, x.reserved) for x in edited.lines] == [("B", 0), ("A", 2)]
        assert [(r["line"], r["sku"], r["qty"]) for r in svc.reservations_of("O1")] == [(2, "A", 2)]

    def test_status_unallocated_when_nothing_stays_reserved(self, svc: Service) -> None:
        setup(svc, {"A": 0}, order("O1", ("A", 2)))
        svc.allocate(["O1"])
        assert status(svc, "O1") == A.COULD_NOT_ALLOCATE
        assert svc.edit("O1", [("A", 1)]).allocation_status == A.UNALLOCATED

    def test_edit_that_removes_the_uncovered_units_clears_overallocated(self, svc: Service) -> None:
        setup(svc, {"W": 3}, order("O1", ("W", 3)))
        svc.allocate(["O1"])
        svc.change_stock("W", "main", 2, "set")
        assert status(svc, "O1") == A.OVERALLOCATED
        assert svc.edit("O1", [("W", 2)]).allocation_status == A.ALLOCATED

    def test_edit_writes_an_updated_event(self, svc: Service, store: Store) -> None:
        setup(svc, {}, order("O1", ("W", 1)))
        svc.edit("O1", [("W", 2)])
        assert [e["order_id"] for e in event_rows(store, "order.updated")] == ["O1"]

    @pytest.mark.parametrize("lines", [[], [("W", 0)], [("W", -1)], [("W", 1), ("V", 0)]])
    def test_bad_lines_are_refused_and_write_nothing(
        self, svc: Service, store: Store, lines: list[tuple[str, int]]
    ) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 1)))
        svc.allocate(["O1"])
        before = dump(store)
        with pytest.raises(BadInput):
            svc.edit("O1", lines)
        assert dump(store) == before

    def test_editing_an_unknown_order_fails_and_writes_nothing(
        self, svc: Service, store: Store
    ) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 1)))
        before = dump(store)
        with pytest.raises(OperationFailed):
            svc.edit("NOPE", [("W", 1)])
        assert dump(store) == before


# ======================================================================================== split


class TestSplit:
    def test_split_moves_the_unreserved_units_into_a_new_order(
        self, svc: Service, store: Store
    ) -> None:
        svc.change_stock("A", "main", 5, "set")
        svc.change_stock("B", "main", 1, "set")
        placed = T0 + timedelta(hours=3)
        svc.add_orders(
            [
                Order(
                    id="SO",
                    channel="ebay",
                    placed_at=placed,
                    lines=order("x", ("A", 2), ("B", 3), ("C", 1)).lines,
                    ship_to=ShipTo("Bo", "US", "CA", "LA", "90001"),
                    shipping_method="ground",
                    total=Decimal("10.00"),
                    tags=frozenset({"vip"}),
                    attributes={"k": "v"},
                )
            ]
        )
        svc.allocate(["SO"], policy=Policy.UNITS)
        original, child = svc.split("SO")
        assert child.id == "SO-1"
        assert [(x.sku, x.qty, x.reserved) for x in original.lines] == [("A", 2, 2), ("B", 1, 1)]
        assert original.allocation_status == A.ALLOCATED
        assert [(x.sku, x.qty, x.reserved) for x in child.lines] == [("B", 2, 0), ("C", 1, 0)]
        assert (child.status, child.allocation_status) == ("awaiting_fulfillment", "unallocated")
        assert (
            child.channel,
            child.placed_at,
            child.ship_to,
            child.shipping_method,
            child.tags,
            child.attributes,
            child.warehouse,
        ) == (
            "ebay",
            placed,
            ShipTo("Bo", "US", "CA", "LA", "90001"),
            "ground",
            frozenset({"vip"}),
            {"k": "v"},
            "main",
        )
        assert svc.get_order("SO-1") == child
        assert stock(svc, "A") == (5, 2, 3)
        assert stock(svc, "B") == (1, 1, 0)
        assert [e["order_id"] for e in event_rows(store, "order.created")] == ["SO", "SO-1"]
        updated = event_rows(store, "order.updated")
        assert [(e["order_id"], e["payload"]) for e in updated] == [("SO", {"split_into": "SO-1"})]

    def test_split_keeps_the_reservations_place_in_the_queue(self, svc: Service) -> None:
        setup(
            svc, {"A": 0, "W": 2}, order("O1", ("A", 1), ("W", 1)), order("O2", ("W", 1), minutes=1)
        )
        svc.allocate(["O1", "O2"])
        seq = svc.reservations_of("O1")[0]["seq"]
        svc.split("O1")
        assert [(r["seq"], r["line"], r["sku"]) for r in svc.reservations_of("O1")] == [
            (seq, 1, "W")
        ]
        svc.change_stock("W", "main", 1, "set")
        assert statuses(svc, "O1", "O2") == {"O1": A.ALLOCATED, "O2": A.OVERALLOCATED}
        svc.deallocate(["O1"])  # the renumbered line's reservation is released
        assert stock(svc, "W") == (1, 1, 0)

    def test_second_split_is_dash_two(self, svc: Service) -> None:
        setup(svc, {"A": 2, "B": 0}, order("O1", ("A", 1), ("B", 1)))
        svc.allocate(["O1"])
        assert svc.split("O1")[1].id == "O1-1"
        svc.edit("O1", [("A", 1), ("B", 1)])
        svc.allocate(["O1"])
        original, child = svc.split("O1")
        assert child.id == "O1-2"
        assert [(x.sku, x.qty) for x in child.lines] == [("B", 1)]
        assert [(x.sku, x.qty) for x in original.lines] == [("A", 1)]

    def test_a_split_takes_the_first_free_number_past_a_full_window(self, svc: Service) -> None:
        """The free `<id>-N` is looked up 20 ids at a time (`splits._free_split_ids`): with
        -1 to -25 taken the next is -26; with -1 free it is -1, whatever else exists; an id
        with LIKE's wildcards in it is only itself."""
        taken = [order(f"O_1-{n}", ("A", 1)) for n in range(1, 26)]
        others = [order("OX1-1", ("A", 1)), order("O%2-2", ("A", 1))]
        setup(svc, {"A": 2, "B": 0}, order("O_1", ("A", 1), ("B", 1)), *taken, *others)
        setup(svc, {}, order("O%2", ("A", 1), ("B", 1)), order("OX1", ("A", 1), ("B", 1)))
        svc.allocate(["O_1", "O%2"])
        assert svc.split("O_1")[1].id == "O_1-26"
        assert svc.split("O%2")[1].id == "O%2-1"

    def test_split_of_an_overallocated_order_stays_overallocated(self, svc: Service) -> None:
        setup(svc, {"A": 1, "B": 0}, order("O1", ("A", 1), ("B", 1)))
        svc.allocate(["O1"])
        svc.change_stock("A", "main", 0, "set")
        original, _child = svc.split("O1")
        assert original.allocation_status == A.OVERALLOCATED

    @pytest.mark.parametrize(
        ("inventory", "message"),
        [({"W": 0}, "nothing is reserved"), ({"W": 5}, "every unit is reserved")],
    )
    def test_nothing_to_split_fails_and_writes_nothing(
        self, svc: Service, store: Store, inventory: dict[str, int], message: str
    ) -> None:
        setup(svc, inventory, order("O1", ("W", 2)))
        svc.allocate(["O1"])
        before = dump(store)
        with pytest.raises(OperationFailed, match=message):
            svc.split("O1")
        with pytest.raises(OperationFailed):
            svc.split("NOPE")
        assert dump(store) == before


# ============================================================ inventory changes and coverage


class TestStockChangesRecomputeCoverage:
    @pytest.mark.parametrize(("kind", "qty"), [("set", 1), ("adjusted", -2)])
    def test_dropping_stock_uncovers_the_newest(self, svc: Service, kind: str, qty: int) -> None:
        setup(svc, {"W": 3}, order("O1", ("W", 1)), order("O2", ("W", 2), minutes=1))
        svc.allocate(["O1", "O2"])
        svc.change_stock("W", "main", qty, kind)
        assert statuses(svc, "O1", "O2") == {"O1": A.ALLOCATED, "O2": A.OVERALLOCATED}
        assert [r["covered"] for r in svc.reservations_of("O2")] == [False]

    def test_receiving_restores_cover(self, svc: Service) -> None:
        setup(svc, {"W": 2}, order("O1", ("W", 2)))
        svc.allocate(["O1"])
        svc.change_stock("W", "main", -1, "adjusted")
        assert status(svc, "O1") == A.OVERALLOCATED
        svc.change_stock("W", "main", 1, "received")
        assert status(svc, "O1") == A.ALLOCATED
        assert [r["covered"] for r in svc.reservations_of("O1")] == [True]

    def test_import_inventory_recomputes_coverage(self, svc: Service) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)))
        svc.allocate(["O1"])
        svc.import_inventory([("W", "main", 0)])
        assert status(svc, "O1") == A.OVERALLOCATED

    def test_other_warehouse_does_not_cover(self, svc: Service) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)))
        svc.allocate(["O1"])
        svc.change_stock("W", "main", 0, "set")
        svc.change_stock("W", "east", 10, "set")
        assert status(svc, "O1") == A.OVERALLOCATED


# ==================================================================================== ledger


class TestLedger:
    def test_every_reservation_change_is_recorded(
        self, svc: Service, store: Store, clock: Callable[[], datetime]
    ) -> None:
        setup(svc, {"A": 5, "B": 5}, order("O1", ("A", 2), ("B", 1)))
        svc.allocate(["O1"])
        svc.edit("O1", [("A", 1), ("B", 1)])
        svc.deallocate(["O1"])
        rows = [(e["line"], e["sku"], e["delta"], e["operation"]) for e in svc.history("O1")]
        assert rows[:3] == [(1, "A", 2, "allocate"), (2, "B", 1, "allocate"), (1, "A", -1, "edit")]
        assert sorted(rows[3:]) == [(1, "A", -1, "deallocate"), (2, "B", -1, "deallocate")]
        entries = svc.history("O1")
        assert all(
            e["order"] == "O1" and e["warehouse"] == "main" and e["actor"] == "cli" for e in entries
        )
        times = [datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in entries]
        assert times == sorted(times)
        assert T0 < times[0] <= clock()
        # The ledger explains the stock: Σ deltas per SKU is what the order holds now (0).
        assert sum(e["delta"] for e in entries) == 0

    def test_rule_and_ruleset_are_recorded(self, svc: Service) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)))
        actor = Actor(name="rules", rule="express-first", ruleset="abc123")
        svc.allocate(["O1"], actor=actor)
        (entry,) = svc.history("O1")
        assert (entry["rule"], entry["ruleset"], entry["actor"]) == (
            "express-first",
            "abc123",
            "rules",
        )

    def test_ledger_is_never_rewritten(self, svc: Service, store: Store) -> None:
        setup(svc, {"W": 3}, order("O1", ("W", 2)), order("O2", ("W", 1), minutes=1))
        svc.allocate(["O1", "O2"])
        first = ledger_rows(store)
        svc.edit("O1", [("W", 1)])
        svc.reallocate(["O2"])
        svc.finish(["O1"], "ship")
        svc.finish(["O2"], "cancel")
        later = ledger_rows(store)
        assert later[: len(first)] == first
        ids = [r["id"] for r in later]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert [r["operation"] for r in later[len(first) :]] == [
            "edit",
            "reallocate",
            "allocate",
            "ship",
            "cancel",
        ]

    def test_history_of_an_order_without_changes_is_empty(self, svc: Service) -> None:
        setup(svc, {}, order("O1", ("W", 1)))
        assert svc.history("O1") == []


# ==================================================================================== events


class TestEvents:
    def test_order_events(self, svc: Service, store: Store) -> None:
        setup(
            svc,
            {"W": 9},
            order("O1", ("W", 1)),
            order("O2", ("W", 1)),
            order("O3", ("W", 1)),
            order("O4", ("W", 1)),
        )
        svc.edit("O1", [("W", 2)])
        svc.finish(["O2"], "ship")
        svc.finish(["O3"], "cancel")
        svc.finish(["O4"], "dropship")
        got = [
            (e["type"], e["order_id"]) for e in event_rows(store) if e["type"].startswith("order.")
        ]
        assert got == [
            ("order.created", "O1"),
            ("order.created", "O2"),
            ("order.created", "O3"),
            ("order.created", "O4"),
            ("order.updated", "O1"),
            ("order.shipped", "O2"),
            ("order.cancelled", "O3"),
            ("order.dropshipped", "O4"),
        ]
        assert not any(e["processed"] for e in event_rows(store))

    def test_inventory_changed_payload(self, svc: Service, store: Store) -> None:
        svc.change_stock("W", "main", 5, "set")
        svc.change_stock("W", "main", 3, "received")
        svc.change_stock("W", "main", -2, "adjusted")
        svc.change_stock("W", "east", 4, "set")
        svc.change_stock("W", "main", 1, "set")
        got = [
            {k: e["payload"][k] for k in ("kind", "sku", "warehouse", "delta")}
            for e in event_rows(store, "inventory.changed")
        ]
        assert got == [
            {"kind": "set", "sku": "W", "warehouse": "main", "delta": 5},
            {"kind": "received", "sku": "W", "warehouse": "main", "delta": 3},
            {"kind": "adjusted", "sku": "W", "warehouse": "main", "delta": -2},
            {"kind": "set", "sku": "W", "warehouse": "east", "delta": 4},
            {"kind": "set", "sku": "W", "warehouse": "main", "delta": -5},
        ]

    def test_a_stock_change_that_moves_nothing_records_no_event(
        self, svc: Service, store: Store
    ) -> None:
        """A `set` to the current value (an inventory sync re-sending what it sent before) or
        an adjustment by 0 leaves on hand as it was: no event, so no `inventory changed` rule
        wakes for it; the stock reads the same either way."""
        svc.change_stock("W", "main", 5, "set")
        assert svc.change_stock("W", "main", 5, "set")["on_hand"] == 5
        assert svc.change_stock("W", "main", 0, "adjusted")["on_hand"] == 5
        assert svc.change_stock("W", "main", 6, "set")["on_hand"] == 6
        deltas = [e["payload"]["delta"] for e in event_rows(store, "inventory.changed")]
        assert deltas == [5, 1]

    def test_allocation_alone_writes_no_order_event(self, svc: Service, store: Store) -> None:
        """Only the status change is told (SPEC §13), not an order.updated."""
        setup(svc, {"W": 1}, order("O1", ("W", 1)))
        before = len(event_rows(store))
        svc.allocate(["O1"])
        assert [e["type"] for e in event_rows(store)[before:]] == ["allocation.changed"]


# ============================================================ refused operations, exit codes


class TestRefusals:
    def test_importing_a_duplicate_id_refuses_the_whole_batch(
        self, svc: Service, store: Store
    ) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)))
        before, before_counts = dump(store), counts(store)
        with pytest.raises(BadInput, match="O1"):
            svc.add_orders([order("NEW", ("W", 1)), order("O1", ("W", 5))])
        with pytest.raises(BadInput, match="twice"):
            svc.add_orders([order("X", ("W", 1)), order("X", ("W", 1))])
        assert counts(store) == before_counts
        assert dump(store) == before
        assert [x.qty for x in svc.get_order("O1").lines] == [1]

    def test_unknown_orders_write_nothing(self, svc: Service, store: Store) -> None:
        setup(svc, {"W": 1}, order("O1", ("W", 1)))
        svc.allocate(["O1"])
        before, before_counts = dump(store), counts(store)
        attempts: list[Callable[[], object]] = [
            lambda: svc.allocate(["NOPE"]),
            lambda: svc.deallocate(["NOPE"]),
            lambda: svc.reallocate(["O1", "NOPE"]),
            lambda: svc.finish(["NOPE"], "ship"),
            lambda: svc.finish(["NOPE"], "cancel"),
            lambda: svc.edit("NOPE", [("W", 1)]),
            lambda: svc.split("NOPE"),
            lambda: svc.history("NOPE"),
        ]
        for attempt in attempts:
            with pytest.raises(OperationFailed):
                attempt()
        assert counts(store) == before_counts
        assert dump(store) == before

    def test_error_classes_map_to_exit_codes(self) -> None:
        assert OperationFailed("x").exit_code == 1
        assert BadInput("x").exit_code == 2
        assert issubclass(OperationFailed, DibsError) and issubclass(BadInput, DibsError)
        assert str(BadInput("bad file", ["f.csv:2: qty", "f.csv:3: sku"])) == (
            "bad file\nf.csv:2: qty\nf.csv:3: sku"
        )


def test_add_orders_refuses_empty_or_non_positive_lines(store: Store) -> None:
    from engine.errors import BadInput
    from engine.model import Line, Order
    from tests.helpers import T0, table_counts

    service = Service(store)
    with store.read() as conn:
        before = table_counts(conn)
    for lines in ((), (Line("MUG", 0),), (Line("MUG", -2),)):
        with pytest.raises(BadInput):
            service.add_orders([Order("X", "shopify", T0, lines)])
    with store.read() as conn:
        assert table_counts(conn) == before


def test_batch_allocation_reports_progress(store: Store) -> None:
    service = Service(store)
    service.change_stock("MUG", "main", 10_000, "set")
    service.add_orders([order(f"P{n:05d}", ("MUG", 1), minutes=n) for n in range(4500)])
    seen: list[tuple[int, int]] = []
    report = service.allocate(progress=lambda done, total: seen.append((done, total)))
    assert len(report.results) == 4500
    assert seen[-1] == (4500, 4500)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) >= 3


def test_order_by_attribute_sorts_like_a_rule(store: Store) -> None:
    service = Service(store)
    service.change_stock("MUG", "main", 2, "set")
    service.add_orders(
        [
            order("LOW", ("MUG", 1), attributes={"priority": 1}),
            order("NONE", ("MUG", 1), minutes=1),
            order("HIGH", ("MUG", 1), minutes=2, attributes={"priority": 5}),
            order("MID", ("MUG", 1), minutes=3, attributes={"priority": 3}),
        ]
    )
    report = service.allocate(order_by=parse_order_by("attributes.priority desc"))
    assert [r["id"] for r in report.results] == ["HIGH", "MID", "LOW", "NONE"]
    assert [r["after"] for r in report.results][:2] == ["allocated", "allocated"]
