"""The warehouse choice and kit decisions of SPEC §12 (`engine.model.routing`), pure."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from engine.model import Held, Kits, Line, Order, Policy, StockKey, attempt, kit_units, parts_of
from engine.model.routing import attempt_routed, kit_problem, plan_line_trim, shipped_stock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WHS = ["main", "east", "west"]
PLAIN = ["A", "B", "C"]
KITS: Kits = {"BOX": (("A", 1), ("B", 2)), "DUO": (("C", 2),)}

line_st = st.tuples(
    st.sampled_from([*PLAIN, "BOX", "DUO"]), st.integers(1, 5), st.integers(0, 5)
).map(lambda t: (t[0], t[1], min(t[1], t[2])))
lines_st = st.lists(line_st, min_size=1, max_size=4)
stock_st = st.dictionaries(
    st.tuples(st.sampled_from(PLAIN), st.sampled_from(WHS)),
    st.tuples(st.integers(-3, 12), st.integers(0, 6)),
    max_size=9,
)
prefs_st = st.lists(st.sampled_from(WHS), min_size=1, max_size=3, unique=True)
policies = st.sampled_from(list(Policy))


def _stock(raw: dict[StockKey, tuple[int, int]]) -> dict[StockKey, list[int]]:
    return {key: [on_hand, allocated] for key, (on_hand, allocated) in raw.items()}


def _available(stock: dict[StockKey, list[int]], key: StockKey) -> int:
    entry = stock.get(key)
    return entry[0] - entry[1] if entry else 0


def _can_complete(
    lines: list[tuple[str, int, int]], wh: str, stock: dict[StockKey, list[int]]
) -> bool:
    want: dict[StockKey, int] = {}
    for sku, qty, reserved in lines:
        for part, per in parts_of(sku, KITS):
            want[(part, wh)] = want.get((part, wh), 0) + (qty - reserved) * per
    return all(_available(stock, key) >= units for key, units in want.items() if units)


# ------------------------------------------------------------------------------ properties


@given(
    lines_st.map(lambda ls: [x for x in ls if x[0] in PLAIN] or [("A", 1, 0)]), stock_st, policies
)
def test_one_warehouse_without_kits_decides_like_attempt(
    lines: list[tuple[str, int, int]], raw: dict[StockKey, tuple[int, int]], policy: Policy
) -> None:
    ours, theirs = _stock(raw), _stock(raw)
    routes, status = attempt_routed(lines, ["main"], ours, policy, {})
    grants, expected = attempt(lines, "main", theirs, policy)
    assert [sum(u for _, u in r) for r in routes] == grants
    assert all(wh == "main" for r in routes for wh, _ in r)
    assert status == expected
    assert ours == theirs


@given(lines_st, stock_st, prefs_st, policies)
def test_a_reservation_never_exceeds_its_own_stock(
    lines: list[tuple[str, int, int]],
    raw: dict[StockKey, tuple[int, int]],
    prefs: list[str],
    policy: Policy,
) -> None:
    before = _stock(raw)
    after = _stock(raw)
    routes, _ = attempt_routed(lines, prefs, after, policy, KITS)
    # What each (sku, warehouse) gave is exactly what the routes say, component by component
    # (a kit unit never takes one component without its siblings) ...
    expected: dict[StockKey, int] = {}
    for (sku, _, _), routed in zip(lines, routes, strict=True):
        for wh, units in routed:
            assert wh in prefs and units > 0
            for part, per in parts_of(sku, KITS):
                expected[(part, wh)] = expected.get((part, wh), 0) + units * per
    taken = {k: after[k][1] - before[k][1] for k in after if after[k][1] != before[k][1]}
    assert taken == {k: v for k, v in expected.items() if v}
    # ... and never more than it had available.
    for key, units in taken.items():
        assert units <= max(_available(before, key), 0)
    for (_, qty, reserved), routed in zip(lines, routes, strict=True):
        assert sum(u for _, u in routed) <= qty - reserved


@given(lines_st, stock_st, prefs_st, policies)
def test_the_first_warehouse_that_completes_the_order_takes_it_whole(
    lines: list[tuple[str, int, int]],
    raw: dict[StockKey, tuple[int, int]],
    prefs: list[str],
    policy: Policy,
) -> None:
    stock = _stock(raw)
    first = next((wh for wh in prefs if _can_complete(lines, wh, stock)), None)
    routes, status = attempt_routed(lines, prefs, stock, policy, KITS)
    if first is None:
        return
    assert status == "allocated"
    for (_, qty, reserved), routed in zip(lines, routes, strict=True):
        assert routed == ([(first, qty - reserved)] if qty > reserved else [])


@given(lines_st, stock_st, prefs_st)
def test_policies_shape_the_grants(
    lines: list[tuple[str, int, int]], raw: dict[StockKey, tuple[int, int]], prefs: list[str]
) -> None:
    by_line, _ = attempt_routed(lines, prefs, _stock(raw), Policy.LINES, KITS, commit=False)
    for (_, qty, reserved), routed in zip(lines, by_line, strict=True):
        # a whole line from one warehouse, or nothing
        assert routed == [] or (len(routed) == 1 and routed[0][1] == qty - reserved)
    whole, status = attempt_routed(
        lines, prefs, _stock(raw), Policy.ALL_OR_NOTHING, KITS, commit=False
    )
    if any(whole):
        assert status == "allocated"
        assert whole == by_line
    else:  # nothing was missing, or `lines` could not complete some line
        assert all(q == res for _, q, res in lines) or any(
            sum(u for _, u in r) < q - res for r, (_, q, res) in zip(by_line, lines, strict=True)
        )
    after = _stock(raw)
    units, _ = attempt_routed(lines, prefs, after, Policy.UNITS, KITS)
    for (sku, qty, reserved), routed in zip(lines, units, strict=True):
        if sum(u for _, u in routed) < qty - reserved:  # short: no listed warehouse has a unit
            for wh in prefs:
                assert min(_available(after, (p, wh)) // n for p, n in parts_of(sku, KITS)) <= 0


# ------------------------------------------------------------------------------- examples


def test_spill_by_line_and_by_unit() -> None:
    stock = {("A", "east"): [1, 0], ("A", "west"): [5, 0], ("B", "east"): [2, 0]}
    lines = [("A", 3, 0), ("B", 2, 0)]
    routes, status = attempt_routed(lines, ["east", "west"], _copy(stock), Policy.LINES, {})
    assert routes == [[("west", 3)], [("east", 2)]] and status == "allocated"
    routes, _ = attempt_routed(lines, ["east", "west"], _copy(stock), Policy.UNITS, {})
    assert routes == [[("east", 1), ("west", 2)], [("east", 2)]]
    short = {("A", "east"): [1, 0], ("B", "west"): [1, 0]}
    routes, status = attempt_routed(lines, ["east", "west"], short, Policy.ALL_OR_NOTHING, {})
    assert routes == [[], []] and status == "could_not_allocate"
    assert short == {("A", "east"): [1, 0], ("B", "west"): [1, 0]}


def test_a_kit_line_reserves_whole_kit_units() -> None:
    stock = {("A", "main"): [3, 0], ("B", "main"): [5, 0]}
    routes, status = attempt_routed([("BOX", 4, 0)], ["main"], stock, Policy.UNITS, KITS)
    # B limits it: 5 // 2 = 2 kits; A is taken for those 2 only
    assert routes == [[("main", 2)]] and status == "partially_allocated"
    assert stock == {("A", "main"): [3, 2], ("B", "main"): [5, 4]}
    routes, status = attempt_routed([("BOX", 2, 0)], ["main"], stock, Policy.LINES, KITS)
    assert routes == [[]] and status == "could_not_allocate"


def test_kit_availability_is_the_scarcest_component() -> None:
    assert kit_units(KITS["BOX"], {"A": 7, "B": 5}) == 2
    assert kit_units(KITS["BOX"], {"A": 7}) == 0
    assert kit_units(KITS["BOX"], {"A": -2, "B": 9}) == 0


def test_kit_problems() -> None:
    assert kit_problem("BOX", [("A", 1)], KITS) is None  # redefining a kit is fine
    assert kit_problem("X", [("X", 1)], KITS) == "kit 'X' cannot contain itself"
    assert "kits do not nest" in (kit_problem("X", [("BOX", 1)], KITS) or "")
    assert "component of kit 'DUO'" in (kit_problem("C", [("A", 1)], KITS) or "")
    assert "twice" in (kit_problem("X", [("A", 1), ("A", 2)], KITS) or "")
    assert "positive" in (kit_problem("X", [("A", 0)], KITS) or "")
    assert "at least one" in (kit_problem("X", [], KITS) or "")
    # Every way of defining kits (CLI, CSV, rule-file tests) gets the same SKU rules.
    assert "cannot be blank" in (kit_problem("X", [(" ", 1)], KITS) or "")
    assert "cannot be blank" in (kit_problem("", [("A", 1)], KITS) or "")
    assert "longer than 200" in (kit_problem("X", [("A" * 201, 1)], KITS) or "")
    assert kit_problem("X", [("A" * 200, 1)], KITS) is None


def test_shipping_takes_reserved_units_where_they_are_and_the_rest_at_home() -> None:
    order = Order("O", "web", T0, (Line("A", 3, 2), Line("BOX", 2, 1)), warehouse="main")
    held = [
        Held(1, "O", 1, "A", "east", 2),
        Held(2, "O", 2, "A", "west", 1),
        Held(3, "O", 2, "B", "west", 2),
    ]
    assert shipped_stock([order], held, KITS) == {
        ("A", "east"): 2,
        ("A", "main"): 1 + 1,  # line 1's unreserved unit, the kit's unreserved unit
        ("A", "west"): 1,
        ("B", "west"): 2,
        ("B", "main"): 2,
    }


def test_trimming_a_kit_line_gives_back_every_component() -> None:
    held = [  # newest first
        Held(4, "O", 1, "B", "west", 2),
        Held(3, "O", 1, "A", "west", 1),
        Held(2, "O", 1, "B", "east", 4),
        Held(1, "O", 1, "A", "east", 2),
    ]
    trims, given = plan_line_trim(held, KITS["BOX"], 2)
    assert sorted(trims) == [(1, 1), (2, 2), (3, 0), (4, 0)]
    assert given == {("A", "west"): 1, ("A", "east"): 1, ("B", "west"): 2, ("B", "east"): 2}


def _copy(stock: dict[StockKey, list[int]]) -> dict[StockKey, list[int]]:
    return {k: list(v) for k, v in stock.items()}
