"""The pure allocation model (engine.model): coverage, decisions, statuses, edit and split."""

from __future__ import annotations

import pytest

from engine.model import (
    AllocationStatus,
    Line,
    Policy,
    attempt,
    coverage,
    status_from_reservations,
)
from engine.model.edits import plan_edit, plan_split, split_id
from tests.helpers import decide, order

A = AllocationStatus
WH = "main"


def stock(**skus: int) -> dict[tuple[str, str], int]:
    return {(sku, WH): qty for sku, qty in skus.items()}


# ------------------------------------------------------------------------------------ coverage


class TestCoverage:
    def test_everything_covered_while_stock_suffices(self) -> None:
        assert coverage(10, [3, 3, 4]) == [True, True, True]

    def test_newest_reservation_loses_cover_first(self) -> None:
        assert coverage(6, [3, 3, 4]) == [True, True, False]
        assert coverage(5, [3, 3, 4]) == [True, False, False]
        assert coverage(0, [3, 3, 4]) == [False, False, False]

    def test_cover_returns_in_the_same_order(self) -> None:
        timeline = [coverage(on_hand, [1, 1, 1]) for on_hand in range(4)]
        assert timeline == [
            [False, False, False],
            [True, False, False],
            [True, True, False],
            [True, True, True],
        ]

    def test_running_total_includes_the_reservation_itself(self) -> None:
        # 2 + 2 = 4 <= 4: the second is covered exactly at the limit.
        assert coverage(4, [2, 2]) == [True, True]
        assert coverage(3, [2, 2]) == [True, False]

    def test_a_later_smaller_reservation_does_not_jump_the_queue(self) -> None:
        # The running total only grows: once one is uncovered, every later one is too, even a
        # small one that would fit on its own.
        assert coverage(3, [4, 1]) == [False, False]

    def test_negative_on_hand_covers_nothing(self) -> None:
        assert coverage(-5, [1, 2]) == [False, False]

    def test_no_reservations(self) -> None:
        assert coverage(3, []) == []


# -------------------------------------------------------------------------------------- decide


class TestDecideLinesPolicy:
    def test_reserves_the_whole_line_when_available(self) -> None:
        assert decide([Line("A", 3)], WH, stock(A=3), Policy.LINES) == [3]

    def test_reserves_nothing_of_a_line_that_cannot_be_completed(self) -> None:
        assert decide([Line("A", 3), Line("B", 1)], WH, stock(A=2, B=5), Policy.LINES) == [0, 1]

    def test_only_missing_units_are_reserved(self) -> None:
        assert decide([Line("A", 5, reserved=3)], WH, stock(A=2), Policy.LINES) == [2]

    def test_fully_reserved_line_gets_nothing(self) -> None:
        assert decide([Line("A", 2, reserved=2)], WH, stock(A=9), Policy.LINES) == [0]

    def test_unknown_sku_has_nothing_available(self) -> None:
        assert decide([Line("NOPE", 1)], WH, {}, Policy.LINES) == [0]

    def test_negative_available_grants_nothing(self) -> None:
        assert decide([Line("A", 1)], WH, stock(A=-3), Policy.LINES) == [0]

    def test_other_warehouse_stock_is_not_used(self) -> None:
        assert decide([Line("A", 1)], "east", stock(A=5), Policy.LINES) == [0]
        assert decide([Line("A", 1)], "east", {("A", "east"): 1}, Policy.LINES) == [1]

    def test_two_lines_of_one_sku_draw_on_the_same_stock_in_line_order(self) -> None:
        lines = [Line("A", 2), Line("A", 2)]
        assert decide(lines, WH, stock(A=3), Policy.LINES) == [2, 0]
        assert decide(lines, WH, stock(A=4), Policy.LINES) == [2, 2]

    def test_a_later_smaller_line_of_the_same_sku_may_still_fit(self) -> None:
        assert decide([Line("A", 5), Line("A", 1)], WH, stock(A=3), Policy.LINES) == [0, 1]

    def test_available_mapping_is_not_written(self) -> None:
        available = stock(A=3)
        decide([Line("A", 2)], WH, available, Policy.LINES)
        assert available == stock(A=3)


class TestDecideUnitsPolicy:
    def test_reserves_what_is_there(self) -> None:
        assert decide([Line("A", 5), Line("B", 2)], WH, stock(A=3, B=9), Policy.UNITS) == [3, 2]

    def test_two_lines_of_one_sku_share(self) -> None:
        assert decide([Line("A", 2), Line("A", 2)], WH, stock(A=3), Policy.UNITS) == [2, 1]

    def test_nothing_available(self) -> None:
        assert decide([Line("A", 2)], WH, stock(A=0), Policy.UNITS) == [0]

    def test_tops_up_a_partly_reserved_line(self) -> None:
        assert decide([Line("A", 5, reserved=4)], WH, stock(A=9), Policy.UNITS) == [1]


class TestDecideAllOrNothing:
    def test_every_line_can_be_completed(self) -> None:
        lines = [Line("A", 2), Line("B", 1)]
        assert decide(lines, WH, stock(A=2, B=1), Policy.ALL_OR_NOTHING) == [2, 1]

    def test_one_short_line_blocks_every_line(self) -> None:
        lines = [Line("A", 2), Line("B", 2)]
        assert decide(lines, WH, stock(A=2, B=1), Policy.ALL_OR_NOTHING) == [0, 0]

    def test_two_lines_of_one_sku_must_both_fit(self) -> None:
        lines = [Line("A", 2), Line("A", 2)]
        assert decide(lines, WH, stock(A=3), Policy.ALL_OR_NOTHING) == [0, 0]
        assert decide(lines, WH, stock(A=4), Policy.ALL_OR_NOTHING) == [2, 2]

    def test_already_reserved_units_count_as_complete(self) -> None:
        lines = [Line("A", 2, reserved=2), Line("B", 3, reserved=1)]
        assert decide(lines, WH, stock(A=0, B=2), Policy.ALL_OR_NOTHING) == [0, 2]


# ------------------------------------------------------------------------------------ statuses


class TestStatusFromReservations:
    def test_uncovered_wins_over_everything(self) -> None:
        lines = [Line("A", 1, reserved=1)]
        assert status_from_reservations(lines, True, A.ALLOCATED) == A.OVERALLOCATED

    def test_fully_reserved_is_allocated(self) -> None:
        lines = [Line("A", 1, reserved=1), Line("B", 2, reserved=2)]
        assert status_from_reservations(lines, False, A.OVERALLOCATED) == A.ALLOCATED

    def test_some_reserved_is_partial(self) -> None:
        lines = [Line("A", 1, reserved=1), Line("B", 2, reserved=0)]
        assert status_from_reservations(lines, False, A.OVERALLOCATED) == A.PARTIALLY_ALLOCATED

    @pytest.mark.parametrize(
        ("previous", "expected"),
        [
            (A.UNALLOCATED, A.UNALLOCATED),
            (A.COULD_NOT_ALLOCATE, A.COULD_NOT_ALLOCATE),
            (A.ALLOCATED, A.UNALLOCATED),
            (A.PARTIALLY_ALLOCATED, A.UNALLOCATED),
            (A.OVERALLOCATED, A.UNALLOCATED),
        ],
    )
    def test_nothing_reserved_keeps_only_an_unsettled_status(
        self, previous: str, expected: str
    ) -> None:
        assert status_from_reservations([Line("A", 2)], False, previous) == expected


class TestAttemptStatus:
    """The status `attempt` reports; new reservations are always covered."""

    @staticmethod
    def status(lines: list[tuple[str, int, int]], stock: dict[str, int]) -> str:
        _, status = attempt(lines, WH, {(k, WH): [v, 0] for k, v in stock.items()}, Policy.UNITS)
        return status

    def test_all_granted(self) -> None:
        assert self.status([("A", 2, 0), ("B", 1, 0)], {"A": 2, "B": 1}) == A.ALLOCATED

    def test_completed_by_earlier_reservations(self) -> None:
        assert self.status([("A", 2, 1)], {"A": 1}) == A.ALLOCATED

    def test_some_granted(self) -> None:
        assert self.status([("A", 2, 0), ("B", 1, 0)], {"B": 1}) == A.PARTIALLY_ALLOCATED

    def test_nothing_new_but_something_held_is_partial(self) -> None:
        assert self.status([("A", 2, 1)], {}) == A.PARTIALLY_ALLOCATED

    def test_nothing_at_all(self) -> None:
        assert self.status([("A", 2, 0), ("B", 1, 0)], {}) == A.COULD_NOT_ALLOCATE

    def test_commit_takes_the_granted_units_from_stock(self) -> None:
        stock = {("A", WH): [3, 1]}
        grants, _ = attempt([("A", 2, 0)], WH, stock, Policy.LINES)
        assert grants == [2] and stock[("A", WH)] == [3, 3]


# ---------------------------------------------------------------------------------------- edit


class TestPlanEdit:
    def test_lowering_a_reserved_line_trims_it(self) -> None:
        plan = plan_edit([Line("A", 5, reserved=5)], [("A", 3)])
        assert plan.lines == (Line("A", 3, 3),)
        assert plan.kept_from == (0,)
        assert plan.release == (2,)

    def test_lowering_above_the_reserved_units_releases_nothing(self) -> None:
        plan = plan_edit([Line("A", 5, reserved=2)], [("A", 3)])
        assert plan.lines == (Line("A", 3, 2),)
        assert plan.release == (0,)

    def test_raising_leaves_the_extra_units_unreserved(self) -> None:
        plan = plan_edit([Line("A", 2, reserved=2)], [("A", 5)])
        assert plan.lines == (Line("A", 5, 2),)
        assert plan.lines[0].missing == 3
        assert plan.release == (0,)

    def test_changing_the_sku_releases_the_old_line(self) -> None:
        plan = plan_edit([Line("A", 2, reserved=2)], [("B", 2)])
        assert plan.lines == (Line("B", 2, 0),)
        assert plan.kept_from == (None,)
        assert plan.release == (2,)

    def test_adding_a_line_leaves_it_unreserved(self) -> None:
        plan = plan_edit([Line("A", 2, reserved=2)], [("A", 2), ("B", 4)])
        assert plan.lines == (Line("A", 2, 2), Line("B", 4, 0))
        assert plan.kept_from == (0, None)
        assert plan.release == (0,)

    def test_removing_a_line_releases_it(self) -> None:
        plan = plan_edit([Line("A", 2, reserved=2), Line("B", 1, reserved=1)], [("B", 1)])
        assert plan.lines == (Line("B", 1, 1),)
        assert plan.kept_from == (1,)
        assert plan.release == (2, 0)

    def test_nth_line_of_a_sku_continues_the_nth_old_one(self) -> None:
        old = [Line("A", 2, reserved=2), Line("A", 3, reserved=1)]
        plan = plan_edit(old, [("A", 1), ("A", 3)])
        assert plan.lines == (Line("A", 1, 1), Line("A", 3, 1))
        assert plan.kept_from == (0, 1)
        assert plan.release == (1, 0)

    def test_reordering_lines_keeps_reservations_with_their_sku(self) -> None:
        old = [Line("A", 2, reserved=2), Line("B", 1, reserved=0)]
        plan = plan_edit(old, [("B", 1), ("A", 2)])
        assert plan.lines == (Line("B", 1, 0), Line("A", 2, 2))
        assert plan.kept_from == (1, 0)
        assert plan.release == (0, 0)


# --------------------------------------------------------------------------------------- split


class TestPlanSplit:
    def test_original_keeps_the_reserved_units_new_order_gets_the_rest(self) -> None:
        kept, moved = plan_split([Line("A", 5, reserved=3), Line("B", 2), Line("C", 1, 1)])
        assert kept == (Line("A", 3, 3), Line("C", 1, 1))
        assert moved == (Line("A", 2, 0), Line("B", 2, 0))

    def test_nothing_reserved_cannot_be_split(self) -> None:
        with pytest.raises(ValueError, match="nothing is reserved"):
            plan_split([Line("A", 2), Line("B", 1)])

    def test_nothing_missing_cannot_be_split(self) -> None:
        with pytest.raises(ValueError, match="every unit is reserved"):
            plan_split([Line("A", 2, 2), Line("B", 1, 1)])


class TestSplitId:
    def test_first_split_is_dash_one(self) -> None:
        assert split_id("SO-7", []) == "SO-7-1"

    def test_next_free_number(self) -> None:
        assert split_id("SO-7", ["SO-7-1"]) == "SO-7-2"
        assert split_id("SO-7", ["SO-7-1", "SO-7-2", "SO-7-4"]) == "SO-7-3"

    def test_unrelated_ids_do_not_count(self) -> None:
        assert split_id("SO-7", ["SO-8-1", "SO-7-1-1"]) == "SO-7-1"


# ---------------------------------------------------------------------------------------- order


def test_order_derived_fields() -> None:
    o = order("X", ("A", 2), ("B", 3), ("A", 1))
    assert o.line_count == 3
    assert o.unit_count == 6
    assert o.skus == frozenset({"A", "B"})
    assert o.status == "awaiting_fulfillment"
    assert o.allocation_status == "unallocated"
    assert o.warehouse == "main"
    assert Line("A", 5, 2).missing == 3
