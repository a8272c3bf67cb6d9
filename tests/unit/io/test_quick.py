"""The quick path of order validation (`engine.io.quick`) takes exactly what the full validator
takes, value for value, and hands everything else to it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.io.fields import check_order_mapping
from engine.io.incoming import IncomingOrder
from engine.io.quick import frozen_maker, quick_order
from engine.io.wire import quick_line
from engine.model import Order

NOW = datetime(2026, 3, 10, tzinfo=UTC)

PLAIN: dict[str, Any] = {
    "id": "A1",
    "channel": "shopify",
    "placed_at": "2026-11-23T18:59:09Z",
    "ship_to": {"country": "us", "name": " Ann ", "postal_code": "12345"},
    "shipping_method": "ground",
    "total": "50.96",
    "tags": ["vip", " gift ", ""],
    "warehouse": "east",
    "attributes": {"gift_wrap": True, "note": "x", "n": 3, "none": None},
    "lines": [{"sku": "MUG", "qty": 2}, {"sku": " TEE ", "qty": 1}],
}


def full(obj: object) -> tuple[object, list[str]]:
    problems: list[str] = []
    return check_order_mapping(obj, "f:1", NOW, problems), problems


def test_a_plain_order_takes_the_quick_path_and_equals_the_full_one() -> None:
    quick = quick_order(PLAIN, NOW)
    assert quick is not None
    assert full(PLAIN) == (quick, [])
    assert quick_line(json.dumps(PLAIN), NOW) == quick
    assert quick.ship_to.country == "US" and quick.tags == frozenset({"vip", "gift"})


def test_the_quick_order_is_what_the_constructor_makes() -> None:
    quick = quick_order(PLAIN, NOW)
    assert type(quick) is Order
    # replace() runs the dataclass's own __init__ on every field read back: all are there.
    assert vars(quick) == vars(dataclasses.replace(quick))
    try:
        quick.channel = "x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("the quick order must stay frozen")
    made = frozen_maker(IncomingOrder)(
        order=quick,
        status="shipped",
        updated_at=None,
        sets_warehouse=False,
        where="f:1",
        sets_placed_at=False,
    )
    assert made == IncomingOrder(quick, "shipped", None, False, "f:1", False)
    assert vars(made) == vars(dataclasses.replace(made))


def test_what_the_quick_path_leaves_to_the_full_validator() -> None:
    unusual = [
        {**PLAIN, "total": Decimal("1.5")},  # a JSON number with a fraction
        {**PLAIN, "total": "1e3"},
        {**PLAIN, "channel": "café"},  # non-ASCII text
        {**PLAIN, "lines": [{"sku": "MUG", "qty": "2"}]},  # a digit string
        {**PLAIN, "attributes": {"weight": 1.5}},
        {**PLAIN, "status": "shipped"},
        {**PLAIN, "colour": "red"},
        {**PLAIN, "id": 10**250},
    ]
    for obj in unusual:
        assert quick_order(obj, NOW) is None, obj


def _either(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
    """Mostly good values, so the quick path is taken often; odd ones probe its edges."""
    return st.integers(0, 9).flatmap(lambda n: odd if n == 0 else good)


_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2**31 + 5),
    st.sampled_from([0, 10**14, 10**14 - 1, 10**200, -(10**199), 2**31, 2**31 - 1]),
    st.sampled_from(["", " ", "x" * 201, "é", "a\x00b", "\ud800", "US ", "1e3", "-1", " 2 "]),
    st.sampled_from(["1.23456", "007", "12345678901234.5", "123456789012345", "1.", ".5"]),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "soon", "2026-13-01", "2026-11-23"]),
    st.sampled_from(["2026-11-23T18:59:09+05:00", "2026-11-23T18:59:09", " 2026-11-23 "]),
    st.decimals(allow_nan=False, places=2, min_value=-10, max_value=10),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.lists(st.none(), max_size=1),
    st.dictionaries(st.text(max_size=2), st.none(), max_size=1),
)
_name = _either(st.sampled_from(["A1", " B2 ", "shopify", "main", "vip", "x" * 100]), _odd)
_line = _either(
    st.fixed_dictionaries(
        {
            "sku": _either(st.sampled_from(["MUG", " TEE ", "S" * 200]), _odd),
            "qty": _either(st.integers(1, 5), _odd),
        },
        optional={"price": _odd},
    ),
    _odd,
)
_order = st.fixed_dictionaries(
    {
        "id": _either(st.one_of(_name, st.integers(-(10**5), 10**5)), _odd),
        "channel": _name,
        "lines": _either(st.lists(_line, min_size=1, max_size=3), _odd),
    },
    optional={
        "placed_at": _either(st.sampled_from(["2026-11-23T18:59:09Z", "2026-11-23"]), _odd),
        "status": _either(st.just("awaiting_fulfillment"), st.sampled_from(["shipped", 3])),
        "allocation_status": _either(st.just("unallocated"), st.just("allocated")),
        "ship_to": _either(
            st.dictionaries(
                st.sampled_from(["name", "country", "state", "city", "postal_code", "zip"]),
                _either(st.sampled_from(["us", "GB", "Ann", " x "]), _odd),
                max_size=3,
            ),
            _odd,
        ),
        "shipping_method": _name,
        "total": _either(st.sampled_from(["50.96", "0", "7", 12, "99999999999999.9999"]), _odd),
        "tags": _either(st.lists(_name, max_size=3), _odd),
        "warehouse": _name,
        "attributes": _either(
            st.dictionaries(st.sampled_from(["a", " b", "", "é"]), _either(_name, _odd)),
            _odd,
        ),
    },
)


@settings(max_examples=1500, deadline=None)
@given(_order)
def test_the_quick_path_agrees_with_the_full_validator(obj: dict[str, Any]) -> None:
    quick = quick_order(obj, NOW)
    if quick is not None:
        assert full(obj) == (quick, [])


_DECODER = json.JSONDecoder(parse_float=Decimal)  # as the JSON Lines reader decodes


@settings(max_examples=1500, deadline=None)
@given(_order)
def test_the_json_lines_fast_path_agrees_with_the_full_validator(obj: dict[str, Any]) -> None:
    try:
        text = json.dumps(obj)
    except TypeError:  # a Decimal: no JSON text gives one to the json module's reader as is
        assume(False)
    quick = quick_line(text, NOW)
    if quick is not None:
        assert full(_DECODER.decode(text)) == (quick, [])
