"""Hypothesis properties of the pure allocation model: what must hold for any input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.model import (
    AllocationStatus,
    Line,
    Policy,
    attempt,
    coverage,
)
from engine.model.edits import plan_edit, plan_split, split_id
from tests.helpers import decide

WH = "main"
SKUS = st.sampled_from(["A", "B", "C"])


@st.composite
def lines_st(draw: st.DrawFn, max_lines: int = 4) -> list[Line]:
    out = []
    for _ in range(draw(st.integers(1, max_lines))):
        qty = draw(st.integers(1, 6))
        out.append(Line(draw(SKUS), qty, draw(st.integers(0, qty))))
    return out


available_st = st.dictionaries(
    st.tuples(SKUS, st.sampled_from([WH, "east"])), st.integers(-5, 12), max_size=6
)
policies = st.sampled_from(list(Policy))


@given(st.integers(-10, 30), st.lists(st.integers(1, 8), max_size=10))
def test_coverage_flag_is_running_total_within_stock(on_hand: int, qtys: list[int]) -> None:
    flags = coverage(on_hand, qtys)
    assert len(flags) == len(qtys)
    for i, flag in enumerate(flags):
        assert flag == (sum(qtys[: i + 1]) <= max(on_hand, 0))
    # Positive quantities: covered units never exceed the stock, and uncovered is a suffix.
    assert sum(q for q, f in zip(qtys, flags, strict=True) if f) <= max(on_hand, 0)
    assert flags == sorted(flags, reverse=True)


@given(st.integers(-10, 30), st.integers(0, 10), st.lists(st.integers(1, 8), max_size=10))
def test_more_stock_never_takes_cover_away(on_hand: int, extra: int, qtys: list[int]) -> None:
    before = coverage(on_hand, qtys)
    after = coverage(on_hand + extra, qtys)
    assert all(a or not b for b, a in zip(before, after, strict=True))


@given(lines_st(), available_st, policies)
def test_decide_never_grants_more_than_missing_or_available(
    lines: list[Line], available: dict[tuple[str, str], int], policy: Policy
) -> None:
    grants = decide(lines, WH, available, policy)
    assert len(grants) == len(lines)
    for grant, line in zip(grants, lines, strict=True):
        assert 0 <= grant <= line.missing
    for sku in {line.sku for line in lines}:
        granted = sum(g for g, line in zip(grants, lines, strict=True) if line.sku == sku)
        assert granted <= max(available.get((sku, WH), 0), 0)


@given(lines_st(), available_st)
def test_lines_policy_grants_whole_lines_only(
    lines: list[Line], available: dict[tuple[str, str], int]
) -> None:
    grants = decide(lines, WH, available, Policy.LINES)
    assert all(g in (0, line.missing) for g, line in zip(grants, lines, strict=True))


@given(lines_st(), available_st)
def test_all_or_nothing_completes_every_line_or_reserves_nothing(
    lines: list[Line], available: dict[tuple[str, str], int]
) -> None:
    grants = decide(lines, WH, available, Policy.ALL_OR_NOTHING)
    complete = [g == line.missing for g, line in zip(grants, lines, strict=True)]
    assert all(complete) or not any(grants)
    # It completes exactly when every SKU has enough for all its missing units.
    enough = all(
        sum(line.missing for line in lines if line.sku == sku)
        <= max(available.get((sku, WH), 0), 0)
        for sku in {line.sku for line in lines}
    )
    assert all(complete) == enough


@given(lines_st(), available_st)
def test_units_policy_leaves_nothing_on_the_shelf_that_a_line_wanted(
    lines: list[Line], available: dict[tuple[str, str], int]
) -> None:
    grants = decide(lines, WH, available, Policy.UNITS)
    for sku in {line.sku for line in lines}:
        wanted = sum(line.missing for line in lines if line.sku == sku)
        granted = sum(g for g, line in zip(grants, lines, strict=True) if line.sku == sku)
        assert granted == min(wanted, max(available.get((sku, WH), 0), 0))


@given(lines_st(), available_st, policies)
def test_attempt_status_matches_the_reserved_units(
    lines: list[Line], available: dict[tuple[str, str], int], policy: Policy
) -> None:
    stock = {key: [units, 0] for key, units in available.items()}
    grants, status = attempt([(x.sku, x.qty, x.reserved) for x in lines], WH, stock, policy)
    assert grants == decide(lines, WH, available, policy)
    reserved = [line.reserved + g for line, g in zip(lines, grants, strict=True)]
    if all(r == line.qty for r, line in zip(reserved, lines, strict=True)):
        assert status == AllocationStatus.ALLOCATED
    elif any(reserved):
        assert status == AllocationStatus.PARTIALLY_ALLOCATED
    else:
        assert status == AllocationStatus.COULD_NOT_ALLOCATE


new_lines_st = st.lists(st.tuples(SKUS, st.integers(1, 6)), min_size=1, max_size=4)


@given(lines_st(), new_lines_st)
def test_edit_conserves_reserved_units(old: list[Line], new: list[tuple[str, int]]) -> None:
    plan = plan_edit(old, new)
    assert [(x.sku, x.qty) for x in plan.lines] == new
    # What is kept plus what is released is exactly what was held.
    kept = sum(x.reserved for x in plan.lines)
    assert kept + sum(plan.release) == sum(x.reserved for x in old)
    for line, source in zip(plan.lines, plan.kept_from, strict=True):
        assert 0 <= line.reserved <= line.qty
        if source is None:
            assert line.reserved == 0
        else:
            assert old[source].sku == line.sku
            assert line.reserved == min(old[source].reserved, line.qty)
            assert plan.release[source] == old[source].reserved - line.reserved
    used = [s for s in plan.kept_from if s is not None]
    assert len(used) == len(set(used))
    for index, line in enumerate(old):
        if index not in used:
            assert plan.release[index] == line.reserved


@given(lines_st())
def test_split_conserves_units_per_sku(lines: list[Line]) -> None:
    reserved = sum(x.reserved for x in lines)
    missing = sum(x.missing for x in lines)
    try:
        kept, moved = plan_split(lines)
    except ValueError:
        assert reserved == 0 or missing == 0
        return
    assert all(x.reserved == x.qty for x in kept)
    assert all(x.reserved == 0 and x.qty > 0 for x in moved)
    for sku in {x.sku for x in lines}:
        assert sum(x.qty for x in kept if x.sku == sku) == sum(
            x.reserved for x in lines if x.sku == sku
        )
        assert sum(x.qty for x in moved if x.sku == sku) == sum(
            x.missing for x in lines if x.sku == sku
        )


@given(st.sets(st.integers(1, 8)))
def test_split_id_is_the_first_free_number(taken_numbers: set[int]) -> None:
    taken = {f"X-{n}" for n in taken_numbers}
    new = split_id("X", taken)
    assert new not in taken
    n = int(new.rsplit("-", 1)[1])
    assert all(f"X-{k}" in taken for k in range(1, n))
