"""The SQL filter (engine.sqlfilter) selects exactly the orders the compiled predicate accepts.

One property test with random conditions over every field kind and random orders, on SQLite and
PostgreSQL, plus examples of each operator and of `--where` errors as a user sees them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dsl.compile import compile_condition
from dsl.parser import parse_rule
from dsl.syntax import (
    And,
    Compare,
    Condition,
    Contains,
    FieldRef,
    InList,
    Literal,
    Matches,
    Not,
    Or,
)
from engine.errors import BadInput
from engine.model import Line, Order, ShipTo
from engine.service import Service
from engine.store import Store, orders
from engine.store.rows import load_orders
from engine.store.sqlfilter import condition_clause
from engine.store.where import where_clause
from rules.vocabulary import ORDER_VOCABULARY

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10)
_batches = itertools.count()

# ---- value pools: small, so that conditions and orders often meet ---------------------------

STRINGS: dict[str, list[str]] = {
    "id": ["o", "b", "z"],
    "channel": ["amazon", "shopify", "Amazon", "ebay", ""],
    "status": ["awaiting_fulfillment", "shipped", "cancelled"],
    "allocation_status": ["unallocated", "allocated", "could_not_allocate"],
    "shipping_method": ["ground", "overnight", "Ground", "two_day"],
    "ship_to.country": ["US", "CA", "us", "DE", "É"],
    "ship_to.state": ["NY", "CA", "M", "m", "Zürich"],
    "ship_to.city": ["Berlin", "berlin", "Bern", "São Paulo", "日本"],
    "ship_to.postal_code": ["10115", "1011", "ab-12", "9"],
    "warehouse": ["main", "east", "Main"],
}
NULLABLE = {
    "shipping_method",
    "ship_to.country",
    "ship_to.state",
    "ship_to.city",
    "ship_to.postal_code",
}
PATTERNS = ["^a", "n$", "^(US|CA)$", "e", "[A-Z]", "^$", "o+", "[0-9]{2}", "^B.*n$", "ü|ã"]
TAGS = ["vip", "rush", "b2b", "VIP"]
SKUS = ["A", "B", "C", "a"]
KEYS = ["gift", "x", "a.b", "K-1"]
ATTRIBUTE_VALUES: list[str | int | float | bool | None] = [
    None,
    True,
    False,
    0,
    1,
    2,
    -3,
    100,
    0.1,
    1.0,
    1.5,
    -2.5,
    0.30000000000000004,
    "a",
    "abc",
    "1",
    "true",
    "B",
    "",
]
NUMBERS: list[int | Decimal] = [
    0,
    1,
    2,
    3,
    5,
    100,
    -1,
    Decimal("0.1"),
    Decimal("1.5"),
    Decimal("100.0001"),
    Decimal("100.00005"),
    Decimal("99.99999"),
    Decimal("0.30000000000000004"),
    Decimal("2.0"),
]
TOTALS = [
    Decimal("100"),
    Decimal("100.0001"),
    Decimal("99.9999"),
    Decimal("0.1"),
    Decimal("1.5"),
    Decimal("0"),
    Decimal("2"),
]
DURATIONS = [
    timedelta(0),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=10),
    timedelta(days=-1),
    timedelta(minutes=14400),
]
OFFSETS = [
    timedelta(0),
    timedelta(days=1),
    timedelta(days=7),
    timedelta(days=10),
    timedelta(days=12),
    timedelta(minutes=-30),
    timedelta(microseconds=1),
]
DATETIMES = [
    "2026-01-01T09:00:00Z",
    "2026-01-01T11:00:00+02:00",
    "2026-01-08T09:00:00",
    "2026-01-11T09:00:00.000001Z",
    "2025-12-31",
]


# ---- strategies -----------------------------------------------------------------------------


def _lit(value: Any) -> Literal:
    if isinstance(value, bool):
        return Literal(value, "boolean")
    if isinstance(value, str):
        return Literal(value, "string")
    if isinstance(value, timedelta):
        return Literal(value, "duration")
    return Literal(value, "number")


OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
EQ_OPS = st.sampled_from(["==", "!="])


@st.composite
def _string_condition(draw: st.DrawFn) -> Condition:
    name = draw(st.sampled_from(sorted(STRINGS)))
    field = FieldRef(name)
    pool = st.sampled_from(sorted({v for vs in STRINGS.values() for v in vs}) + STRINGS[name])
    kind = draw(st.sampled_from(["compare", "in", "contains", "matches"]))
    if kind == "compare":
        return Compare(field, draw(OPS), _lit(draw(pool)))
    if kind == "in":
        values = draw(st.lists(pool, max_size=3))
        return InList(field, tuple(_lit(v) for v in values), draw(st.booleans()))
    if kind == "contains":
        needle = draw(st.one_of(pool, st.sampled_from(["", "a", "er", "S", "ü"])))
        return Contains(field, _lit(needle), draw(st.booleans()))
    return Matches(field, _lit(draw(st.sampled_from(PATTERNS))))


@st.composite
def _number_condition(draw: st.DrawFn) -> Condition:
    field = FieldRef(draw(st.sampled_from(["total", "line_count", "unit_count"])))
    pool = st.sampled_from(NUMBERS + TOTALS)
    if draw(st.booleans()):
        return Compare(field, draw(OPS), _lit(draw(pool)))
    values = draw(st.lists(pool, max_size=3))
    return InList(field, tuple(_lit(v) for v in values), draw(st.booleans()))


@st.composite
def _time_condition(draw: st.DrawFn) -> Condition:
    if draw(st.booleans()):
        pool = st.sampled_from(DURATIONS)
        field = FieldRef("age")
    else:
        pool = st.sampled_from(DATETIMES)
        field = FieldRef("placed_at")
    if draw(st.booleans()):
        return Compare(field, draw(OPS), _lit(draw(pool)))
    values = draw(st.lists(pool, max_size=3))
    return InList(field, tuple(_lit(v) for v in values), draw(st.booleans()))


@st.composite
def _set_condition(draw: st.DrawFn) -> Condition:
    name = draw(st.sampled_from(["tags", "skus"]))
    value = draw(st.sampled_from(TAGS if name == "tags" else SKUS))
    return Contains(FieldRef(name), _lit(value), draw(st.booleans()))


@st.composite
def _attribute_condition(draw: st.DrawFn) -> Condition:
    field = FieldRef("attributes." + draw(st.sampled_from(KEYS)))
    strings = st.sampled_from(["a", "abc", "1", "true", "B", "", "b"])
    numbers = st.sampled_from(NUMBERS)
    any_value = st.one_of(strings, numbers, st.booleans())
    kind = draw(st.sampled_from(["eq", "order", "in", "contains", "matches"]))
    if kind == "eq":
        return Compare(field, draw(EQ_OPS), _lit(draw(any_value)))
    if kind == "order":
        return Compare(field, draw(OPS), _lit(draw(st.one_of(strings, numbers))))
    if kind == "in":
        values = draw(st.lists(any_value, max_size=3))
        return InList(field, tuple(_lit(v) for v in values), draw(st.booleans()))
    if kind == "contains":
        return Contains(field, _lit(draw(strings)), draw(st.booleans()))
    return Matches(field, _lit(draw(st.sampled_from(PATTERNS))))


LEAVES = st.one_of(
    _string_condition(),
    _number_condition(),
    _time_condition(),
    _set_condition(),
    _attribute_condition(),
)


def _combine(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    pairs = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(pairs.map(And), pairs.map(Or), children.map(Not))


CONDITIONS = st.recursive(LEAVES, _combine, max_leaves=6)


def _maybe(pool: Sequence[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(pool))


@st.composite
def _order(draw: st.DrawFn, oid: str) -> Order:
    attributes = draw(
        st.dictionaries(st.sampled_from(KEYS), st.sampled_from(ATTRIBUTE_VALUES), max_size=3)
    )
    total = draw(
        st.one_of(
            st.none(), st.sampled_from(TOTALS), st.decimals(min_value=0, max_value=1000, places=4)
        )
    )
    lines = draw(
        st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 3)), min_size=1, max_size=3)
    )
    return Order(
        id=oid,
        channel=draw(st.sampled_from(STRINGS["channel"])),
        placed_at=T0 + draw(st.sampled_from(OFFSETS)),
        lines=tuple(Line(sku, qty) for sku, qty in lines),
        status=draw(st.sampled_from(STRINGS["status"])),
        allocation_status=draw(st.sampled_from(STRINGS["allocation_status"])),
        ship_to=ShipTo(
            None,
            draw(_maybe(STRINGS["ship_to.country"])),
            draw(_maybe(STRINGS["ship_to.state"])),
            draw(_maybe(STRINGS["ship_to.city"])),
            draw(_maybe(STRINGS["ship_to.postal_code"])),
        ),
        shipping_method=draw(_maybe(STRINGS["shipping_method"])),
        total=total,
        tags=frozenset(draw(st.sets(st.sampled_from(TAGS), max_size=3))),
        warehouse=draw(st.sampled_from(STRINGS["warehouse"])),
        attributes=attributes,
    )


@st.composite
def _orders(draw: st.DrawFn) -> list[Order]:
    batch = next(_batches)
    count = draw(st.integers(1, 12))
    # Ids start with letters from the id pool so that id comparisons are not all one-sided.
    return [draw(_order(f"{'obz'[i % 3]}{batch}-{i}")) for i in range(count)]


def _zoo() -> list[Order]:
    """Fixed orders holding every pool value of every field, so that each boundary of the random
    conditions (float 0.1 against the literal 0.1, true against 1, a total of 100.0001 against
    100.00005, a missing value under `not`) is met in every example, not only by luck."""
    out = []
    nullable_pool = {k: [*v, None] if k in NULLABLE else v for k, v in STRINGS.items()}

    def pick(name: str, i: int) -> Any:
        pool = nullable_pool[name]
        return pool[i % len(pool)]

    for i in range(24):
        attributes = {
            key: ATTRIBUTE_VALUES[(i + 5 * j) % len(ATTRIBUTE_VALUES)]
            for j, key in enumerate(KEYS)
            if (i + j) % 7
        }
        out.append(
            Order(
                id=f"zoo-{pick('id', i)}{i}",
                channel=pick("channel", i),
                placed_at=T0 + OFFSETS[i % len(OFFSETS)],
                lines=tuple(Line(sku, 1 + n) for n, sku in enumerate(SKUS) if (i >> n) & 1)
                or (Line("A", 2),),
                status=pick("status", i),
                allocation_status=pick("allocation_status", i),
                ship_to=ShipTo(
                    None,
                    pick("ship_to.country", i),
                    pick("ship_to.state", i + 1),
                    pick("ship_to.city", i + 2),
                    pick("ship_to.postal_code", i + 3),
                ),
                shipping_method=pick("shipping_method", i + 1),
                total=[*TOTALS, None][i % (len(TOTALS) + 1)],
                tags=frozenset(t for n, t in enumerate(TAGS) if (i >> n) & 1),
                warehouse=pick("warehouse", i),
                attributes=attributes,
            )
        )
    return out


ZOO = _zoo()
ZOO_IDS = [o.id for o in ZOO]


def _with_zoo(store: Store) -> None:
    with store.read() as conn:
        present = conn.execute(select(orders.c.id).where(orders.c.id == ZOO_IDS[0])).first()
    if present is None:
        Service(store).add_orders(ZOO)


# ---- helpers --------------------------------------------------------------------------------


def _selected(
    store: Store, condition: Condition, ids: Sequence[str], now: datetime = NOW
) -> set[str]:
    query = select(orders.c.id).where(orders.c.id.in_(ids), condition_clause(condition, now))
    with store.read() as conn:
        return {row[0] for row in conn.execute(query)}


def _accepted(
    store: Store, condition: Condition, ids: Sequence[str], now: datetime = NOW
) -> set[str]:
    """What the compiled predicate accepts, on the orders as stored (as the runner sees them)."""
    predicate = compile_condition(condition, ORDER_VOCABULARY)
    with store.read() as conn:
        stored = load_orders(conn, ids)
    return {oid for oid, o in stored.items() if predicate(o, now)}


# ---- the property ---------------------------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(conditions=st.lists(CONDITIONS, min_size=1, max_size=8), batch=_orders())
def test_sql_filter_selects_what_the_predicate_accepts(
    store: Store, conditions: list[Condition], batch: list[Order]
) -> None:
    # Several conditions per batch of orders: the inserts cost more than the queries.
    _with_zoo(store)
    Service(store).add_orders(batch)
    ids = [o.id for o in batch] + ZOO_IDS
    for condition in conditions:
        assert _selected(store, condition, ids) == _accepted(store, condition, ids), condition


# ---- examples of each operator --------------------------------------------------------------

EXAMPLES: list[Order] = [
    Order(
        "E1",
        "amazon",
        T0,
        (Line("A", 2), Line("B", 1)),
        total=Decimal("150"),
        ship_to=ShipTo(country="US", city="Berlin"),
        shipping_method="ground",
        tags=frozenset({"vip"}),
        attributes={"gift": True, "weight": 1.5, "note": "fragile"},
    ),
    Order(
        "E2",
        "amazon",
        T0 + timedelta(days=5),
        (Line("A", 1),),
        total=Decimal("100"),
        ship_to=ShipTo(country="CA", city="bern"),
        shipping_method=None,
        attributes={"gift": 1, "weight": "heavy"},
    ),
    Order(
        "E3",
        "shopify",
        T0 + timedelta(days=9),
        (Line("C", 5),),
        total=None,
        ship_to=ShipTo(),
        shipping_method="overnight",
        tags=frozenset({"rush", "VIP"}),
        attributes={"gift": False, "weight": 0.1},
    ),
]

CASES = [
    ('channel == "amazon"', {"E1", "E2"}),
    ('channel != "amazon"', {"E3"}),
    ('shipping_method != "ground"', {"E2", "E3"}),
    ('shipping_method == "ground"', {"E1"}),
    ('ship_to.country in ["US", "CA"]', {"E1", "E2"}),
    ('ship_to.country not in ["US"]', {"E2", "E3"}),
    ("ship_to.country in []", set()),
    ("ship_to.country not in []", {"E1", "E2", "E3"}),
    ('ship_to.city < "Bern"', {"E1"}),  # byte order: "B" < "b", so "bern" is after "Bern"
    ('ship_to.city >= "Bern"', {"E2"}),
    ('ship_to.city contains "er"', {"E1", "E2"}),
    ('ship_to.city not contains "Ber"', {"E2", "E3"}),
    ('ship_to.city matches "^[Bb]er"', {"E1", "E2"}),
    ('ship_to.city matches "n$"', {"E1", "E2"}),
    ("total > 100", {"E1"}),
    ("total >= 100", {"E1", "E2"}),
    ("total < 100.00005", {"E2"}),
    ("total == 100.0", {"E2"}),
    ("total == 100.00001", set()),
    ("total != 100.00001", {"E1", "E2", "E3"}),
    ("not (total > 120)", {"E2", "E3"}),
    ("total in [150, 7]", {"E1"}),
    ("line_count == 2", {"E1"}),
    ("line_count < 1.5", {"E2", "E3"}),
    ("unit_count > 2.5", {"E1", "E3"}),
    ('tags contains "vip"', {"E1"}),
    ('tags not contains "vip"', {"E2", "E3"}),
    ('skus contains "A"', {"E1", "E2"}),
    ('skus not contains "A"', {"E3"}),
    ("age > 3 days", {"E1", "E2"}),
    ("age <= 1 day", {"E3"}),
    ("age == 10 days", {"E1"}),
    ("age in [5 days, 1 day]", {"E2", "E3"}),
    ('placed_at >= "2026-01-06T09:00:00Z"', {"E2", "E3"}),
    ('placed_at == "2026-01-01T11:00:00+02:00"', {"E1"}),
    ("attributes.gift == true", {"E1"}),
    ("attributes.gift != true", {"E2", "E3"}),
    ("attributes.gift == 1", {"E1", "E2"}),  # Python: True == 1
    ("attributes.gift in [false]", {"E3"}),
    ("attributes.weight > 1", {"E1"}),
    ("attributes.weight == 0.1", set()),  # the float 0.1 is not the decimal 0.1
    ("attributes.weight > 0.1", {"E1", "E3"}),
    ('attributes.weight == "heavy"', {"E2"}),
    ('attributes.weight > "a"', {"E2"}),
    ('attributes.weight contains "ea"', {"E2"}),
    ('attributes.weight not contains "ea"', {"E1", "E3"}),
    ('attributes.weight matches "^h"', {"E2"}),
    ('attributes.note != "fragile"', {"E2", "E3"}),
    ('attributes.missing != "x"', {"E1", "E2", "E3"}),
    ("not (attributes.missing > 1)", {"E1", "E2", "E3"}),
    ('channel == "amazon" and (total > 120 or tags contains "vip")', {"E1"}),
    ('not (channel == "amazon" or shipping_method == "overnight")', set()),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_operator_examples(store: Store, text: str, expected: set[str]) -> None:
    Service(store).add_orders(EXAMPLES)
    condition = parse_rule(f"when new order if {text} then allocate").condition
    assert condition is not None
    ids = [o.id for o in EXAMPLES]
    assert _selected(store, condition, ids) == expected
    assert _accepted(store, condition, ids) == expected


def test_where_clause_selects_with_the_current_time(store: Store) -> None:
    now = datetime.now(UTC)
    Service(store).add_orders(
        [
            Order("OLD", "amazon", now - timedelta(days=2), (Line("A", 1),)),
            Order("NEW", "amazon", now - timedelta(hours=1), (Line("A", 1),)),
            Order("OTHER", "ebay", now - timedelta(days=2), (Line("A", 1),)),
        ]
    )
    query = select(orders.c.id).where(where_clause('channel == "amazon" and age > 1 day'))
    with store.read() as conn:
        assert {r[0] for r in conn.execute(query)} == {"OLD"}


# ---- --where errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ('chanel == "amazon"', 1, ["unknown field `chanel`", "did you mean `channel`"]),
        ('channel = "amazon"', 9, ["unexpected `=`", "use == to compare"]),
        ("total > ", 8, ["unexpected end of condition"]),
        ("", 1, ["empty condition"]),
        ('total > "abc"', 9, ["`total` is a number"]),
        ("tags in [1]", 1, ["use `contains`"]),
        ("total > 5 then deallocate", 11, ["unexpected `then`"]),
        ('ship_to.city matches "("', 22, ["invalid regular expression"]),
        ("age > 3", 7, ["add a unit"]),
    ],
)
def test_where_clause_errors_name_the_column(text: str, column: int, words: list[str]) -> None:
    with pytest.raises(BadInput) as caught:
        where_clause(text)
    shown = str(caught.value)
    assert shown.startswith(f"--where:1:{column}: "), shown
    for word in words:
        assert word in shown, shown
    assert "then allocate" not in shown and "when new order" not in shown


ROUNDING = [
    ("total < 100.00005", {"R0"}),
    ("total <= 100.00005", {"R0"}),
    ("total > 100.00005", {"R1", "R2"}),
    ("total >= 100.00005", {"R1", "R2"}),
    ("total > 100.00015", {"R2"}),
    ("total < 100.00015", {"R0", "R1"}),
    ("total == 100.0001", {"R1"}),
    ("total != 100.00005", {"R0", "R1", "R2"}),
]


@pytest.mark.parametrize(("text", "expected"), ROUNDING, ids=[c[0] for c in ROUNDING])
def test_literals_finer_than_the_column_round_the_exact_way(
    store: Store, text: str, expected: set[str]
) -> None:
    from decimal import Decimal

    from tests.helpers import order

    batch = [
        order("R0", ("A", 1), total=Decimal("100.0000")),
        order("R1", ("A", 1), total=Decimal("100.0001")),
        order("R2", ("A", 1), total=Decimal("100.0002")),
    ]
    Service(store).add_orders(batch)
    condition = parse_rule(f"when new order if {text} then allocate").condition
    assert condition is not None
    ids = [o.id for o in batch]
    assert _selected(store, condition, ids) == expected
    assert _accepted(store, condition, ids) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.n > 5", {"H1"}),
        ("attributes.n < 5", {"H2", "H3"}),
        ("attributes.n == 3", {"H3"}),
        ("attributes.n != 3", {"H1", "H2"}),
    ],
)
def test_integers_beyond_a_double_compare_as_infinities(
    store: Store, text: str, expected: set[str]
) -> None:
    """An integer attribute too big for a double (JSON allows any) is greater than every rule
    literal, as in Python; PostgreSQL's cast to double precision raised instead, so one such
    order made every tick that decided a numeric attribute condition in SQL fail."""
    huge = [
        Order("H1", "web", T0, (Line("X", 1),), attributes={"n": 10**400}),
        Order("H2", "web", T0, (Line("X", 1),), attributes={"n": -(10**400)}),
        Order("H3", "web", T0, (Line("X", 1),), attributes={"n": 3}),
    ]
    Service(store).add_orders(huge)
    condition = parse_rule(f"when new order if {text} then allocate").condition
    assert condition is not None
    ids = [o.id for o in huge]
    assert _accepted(store, condition, ids) == expected
    assert _selected(store, condition, ids) == expected
