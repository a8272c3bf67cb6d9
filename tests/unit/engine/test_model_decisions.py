"""Properties of the release, trim, ship and status decisions that live in the pure model."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from engine.model import (
    CLOSING,
    AllocationStatus,
    Held,
    Line,
    Order,
    OrderStatus,
    closing_problem,
    plan_trim,
    released_stock,
    shipped_stock,
    status_from_reservations,
    status_of,
)

SKUS = st.sampled_from(["A", "B", "C"])
WHS = st.sampled_from(["main", "east"])
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def held_st(draw: st.DrawFn) -> list[Held]:
    rows = []
    for seq in range(draw(st.integers(0, 8))):
        rows.append(
            Held(
                seq,
                draw(st.sampled_from(["O1", "O2"])),
                draw(st.integers(1, 3)),
                draw(SKUS),
                draw(WHS),
                draw(st.integers(1, 9)),
            )
        )
    return rows


@given(held_st())
def test_released_stock_gives_back_exactly_what_was_held(held: list[Held]) -> None:
    released = released_stock(held)
    assert sum(released.values()) == sum(h.qty for h in held)
    for (sku, wh), qty in released.items():
        assert qty == sum(h.qty for h in held if (h.sku, h.warehouse) == (sku, wh))


@given(st.lists(st.integers(1, 9), max_size=6), st.integers(0, 60))
def test_trim_takes_newest_first_and_never_more_than_asked(qtys: list[int], ask: int) -> None:
    held = list(enumerate(qtys))[::-1]  # newest first
    want = min(ask, sum(qtys))
    trims = plan_trim(held, want)
    taken = sum(dict(held)[seq] - left for seq, left in trims)
    assert taken == want
    # the trimmed reservations are a prefix of the newest-first list; all but the last go whole
    assert [seq for seq, _ in trims] == [seq for seq, _ in held[: len(trims)]]
    assert all(left == 0 for _, left in trims[:-1])
    assert all(0 <= left < dict(held)[seq] for seq, left in trims)


def _order(oid: str, lines: list[tuple[str, int]], warehouse: str) -> Order:
    return Order(oid, "web", T0, tuple(Line(s, q) for s, q in lines), warehouse=warehouse)


@given(
    st.lists(
        st.tuples(st.lists(st.tuples(SKUS, st.integers(1, 5)), min_size=1, max_size=3), WHS),
        max_size=4,
    )
)
def test_shipping_takes_every_unit_from_the_order_warehouse(
    specs: list[tuple[list[tuple[str, int]], str]],
) -> None:
    orders = [_order(f"O{i}", lines, wh) for i, (lines, wh) in enumerate(specs)]
    consumed = shipped_stock(orders)
    assert sum(consumed.values()) == sum(o.unit_count for o in orders)
    assert all(wh in {o.warehouse for o in orders} for _, wh in consumed)


def test_closing_states_and_problems() -> None:
    assert CLOSING["ship"][0] is OrderStatus.SHIPPED
    assert closing_problem(None, "X", "ship") == "no order with id 'X'"
    shipped = Order("S", "web", T0, (Line("A", 1),), status=OrderStatus.SHIPPED)
    assert closing_problem(shipped, "S", "cancel") == "cannot cancel order 'S': it is shipped"
    assert closing_problem(_order("O", [("A", 1)], "main"), "O", "dropship") is None


@given(
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(list(AllocationStatus)),
)
def test_status_of_follows_spec_3(
    complete: bool, any_reserved: bool, uncovered: bool, tried: bool, previous: AllocationStatus
) -> None:
    status = status_of(
        complete=complete,
        any_reserved=any_reserved,
        any_uncovered=uncovered,
        tried=tried,
        previous=previous,
    )
    if uncovered:
        assert status == AllocationStatus.OVERALLOCATED  # whatever else holds
    elif complete:
        assert status == AllocationStatus.ALLOCATED
    elif any_reserved:
        assert status == AllocationStatus.PARTIALLY_ALLOCATED
    elif tried or previous == AllocationStatus.COULD_NOT_ALLOCATE:
        assert status == AllocationStatus.COULD_NOT_ALLOCATE
    else:
        assert status == AllocationStatus.UNALLOCATED


@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(0, 5)), min_size=1, max_size=4), st.booleans()
)
def test_status_from_reservations_is_status_of_the_lines(
    spec: list[tuple[int, int]], uncovered: bool
) -> None:
    lines = [Line("A", qty, min(res, qty)) for qty, res in spec]
    expected = status_of(
        complete=all(x.reserved == x.qty for x in lines),
        any_reserved=any(x.reserved for x in lines),
        any_uncovered=uncovered,
        tried=False,
        previous=AllocationStatus.UNALLOCATED,
    )
    assert status_from_reservations(lines, uncovered, AllocationStatus.UNALLOCATED) == expected
