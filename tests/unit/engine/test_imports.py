"""Order and inventory file import: every validation rule, exact line numbers, refuse-whole."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from engine.errors import BadInput
from engine.io.imports import (
    order_from_mapping,
    parse_line_spec,
    read_inventory,
    read_kits,
    read_orders,
)
from engine.model import AllocationStatus, Line, OrderStatus, ShipTo

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CSV_HEADER = "id,channel,placed_at,sku,qty"


def good(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "A1",
        "channel": "shopify",
        "placed_at": "2026-11-28T10:00:00Z",
        "lines": [{"sku": "MUG-12OZ", "qty": 1}],
    }
    order.update(overrides)
    return order


GOOD = json.dumps(good())


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(BadInput) as caught:
        read_orders(path, now=NOW)
    assert caught.value.exit_code == 2
    assert "nothing imported" in str(caught.value)
    return caught.value.problems


def json_problems(tmp_path: Path, *orders: object) -> list[str]:
    return problems_of(write(tmp_path, "orders.json", json.dumps(list(orders))))


def one_problem(tmp_path: Path, order: object) -> str:
    found = json_problems(tmp_path, order)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------------------------
# A valid order, every field


def test_json_order_with_every_field(tmp_path: Path) -> None:
    full = good(
        status="awaiting_fulfillment",
        allocation_status="unallocated",
        ship_to={
            "name": " Ana Li ",
            "country": "us",
            "state": "NY",
            "city": "Brooklyn",
            "postal_code": "11201",
        },
        shipping_method="two_day",
        total=19.99,
        tags=["vip", "gift", "vip"],
        warehouse="east",
        attributes={"risk": 0.5, "prime": True, "orders": 3, "note": "hi", "none": None},
        lines=[{"sku": "MUG-12OZ", "qty": 2}, {"sku": "CAP-BLK", "qty": 1}],
    )
    [order] = read_orders(write(tmp_path, "o.json", json.dumps([full])), now=NOW)
    assert order.id == "A1"
    assert order.channel == "shopify"
    assert order.placed_at == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert order.status == OrderStatus.AWAITING_FULFILLMENT
    assert order.allocation_status == AllocationStatus.UNALLOCATED
    assert order.ship_to == ShipTo("Ana Li", "US", "NY", "Brooklyn", "11201")
    assert order.shipping_method == "two_day"
    assert order.total == Decimal("19.99")  # exact: parsed as Decimal, never a binary float
    assert order.tags == frozenset({"vip", "gift"})
    assert order.warehouse == "east"
    assert order.attributes == {"risk": 0.5, "prime": True, "orders": 3, "note": "hi", "none": None}
    assert order.lines == (Line("MUG-12OZ", 2), Line("CAP-BLK", 1))


def test_defaults(tmp_path: Path) -> None:
    obj = {"id": "A1", "channel": "ebay", "lines": [{"sku": "X", "qty": 1}]}
    [order] = read_orders(write(tmp_path, "o.json", json.dumps([obj])), now=NOW)
    assert order.placed_at == NOW
    assert order.warehouse == "main"
    assert order.ship_to == ShipTo()
    assert order.tags == frozenset()
    assert order.total is None
    assert order.attributes == {}


def test_default_placed_at_is_current_time_when_now_not_given(tmp_path: Path) -> None:
    obj = {"id": "A1", "channel": "ebay", "lines": [{"sku": "X", "qty": 1}]}
    before = datetime.now(UTC)
    [order] = read_orders(write(tmp_path, "o.json", json.dumps([obj])))
    assert before <= order.placed_at <= datetime.now(UTC)


def test_numeric_id_becomes_a_string(tmp_path: Path) -> None:
    [order] = read_orders(write(tmp_path, "o.json", json.dumps([good(id=1001)])), now=NOW)
    assert order.id == "1001"


def test_total_as_string_and_integer(tmp_path: Path) -> None:
    text = json.dumps([good(id="A", total="12.5000"), good(id="B", total=7)])
    a, b = read_orders(write(tmp_path, "o.json", text), now=NOW)
    assert a.total == Decimal("12.5")
    assert b.total == Decimal(7)


# --------------------------------------------------------------------------------------------
# Timezones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T10:00:00Z", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28T10:00:00+00:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28T05:00:00-05:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28T11:30:00+01:30", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28T10:00:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),  # no zone: UTC
        ("2026-11-28 10:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28T10:00:00.250Z", datetime(2026, 11, 28, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2026-11-28", datetime(2026, 11, 28, tzinfo=UTC)),  # a bare date: midnight UTC
    ],
)
def test_placed_at_is_normalised_to_utc(tmp_path: Path, text: str, expected: datetime) -> None:
    [order] = read_orders(write(tmp_path, "o.json", json.dumps([good(placed_at=text)])), now=NOW)
    assert order.placed_at == expected
    assert order.placed_at.utcoffset() == timedelta(0)


def test_placed_at_from_yaml_style_objects() -> None:
    naive = order_from_mapping(good(placed_at=datetime(2026, 1, 1, 9)), "t", NOW)
    assert naive.placed_at == datetime(2026, 1, 1, 9, tzinfo=UTC)
    zoned = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=2)))
    assert order_from_mapping(good(placed_at=zoned), "t", NOW).placed_at == datetime(
        2026, 1, 1, 7, tzinfo=UTC
    )
    assert order_from_mapping(good(placed_at=date(2026, 1, 2)), "t", NOW).placed_at == datetime(
        2026, 1, 2, tzinfo=UTC
    )


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "28/11/2026", 1700000000])
def test_bad_placed_at(tmp_path: Path, value: object) -> None:
    problem = one_problem(tmp_path, good(placed_at=value))
    assert problem.startswith(f"{tmp_path / 'orders.json'}:1: order 'A1': placed_at ")
    assert "ISO-8601" in problem


# --------------------------------------------------------------------------------------------
# Field rules, one at a time (JSON array of one order: every problem is on line 1)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (0, "lines[0].qty must be a positive integer, got 0"),
        (-3, "lines[0].qty must be a positive integer, got -3"),
        (1.5, "lines[0].qty must be a positive integer, got 1.5"),
        ("abc", "lines[0].qty must be a positive integer, got 'abc'"),
        ("1.0", "lines[0].qty must be a positive integer, got '1.0'"),
        (True, "lines[0].qty must be a positive integer, got true"),
        (None, "lines[0].qty is required"),
        (2**31, "lines[0].qty is too large"),
    ],
)
def test_bad_qty(tmp_path: Path, value: object, fragment: str) -> None:
    assert fragment in one_problem(tmp_path, good(lines=[{"sku": "X", "qty": value}]))


def test_qty_as_digit_string_is_accepted(tmp_path: Path) -> None:
    [order] = read_orders(
        write(tmp_path, "o.json", json.dumps([good(lines=[{"sku": "X", "qty": " 3 "}])])), now=NOW
    )
    assert order.lines == (Line("X", 3),)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (-1, "total must not be negative"),
        ("-0.01", "total must not be negative"),
        (1.00001, "total has more than 4 decimal places"),
        ("12.34567", "total has more than 4 decimal places"),
        ("NaN", "total must be a finite number"),
        ("Infinity", "total must be a finite number"),
        ("twelve", "total must be a decimal number"),
        (True, "total must be a decimal number"),
        ([1], "total must be a decimal number"),
    ],
)
def test_bad_total(tmp_path: Path, value: object, fragment: str) -> None:
    assert fragment in one_problem(tmp_path, good(total=value))


def test_json_nan_and_infinity_literals_are_rejected(tmp_path: Path) -> None:
    text = '[{"id": "A", "channel": "c", "total": NaN, "lines": [{"sku": "X", "qty": 1}]},\n'
    text += ' {"id": "B", "channel": "c", "total": Infinity, "lines": [{"sku": "X", "qty": 1}]}]'
    found = problems_of(write(tmp_path, "orders.json", text))
    assert [p.split(": ", 1)[1] for p in found] == [
        "order 'A': total must be a finite number, got NaN",
        "order 'B': total must be a finite number, got Infinity",
    ]


@pytest.mark.parametrize("value", ["USA", "U", "U1", "ÜS", 840])
def test_bad_country(tmp_path: Path, value: object) -> None:
    problem = one_problem(tmp_path, good(ship_to={"country": value}))
    assert "ship_to.country must be" in problem


def test_country_is_upper_cased(tmp_path: Path) -> None:
    order = order_from_mapping(good(ship_to={"country": "gb"}), "t", NOW)
    assert order.ship_to.country == "GB"


def test_postal_code_must_be_a_string() -> None:
    with pytest.raises(BadInput) as caught:
        order_from_mapping(good(ship_to={"postal_code": 2134}), "fixture", NOW)
    assert caught.value.problems == [
        "fixture: order 'A1': ship_to.postal_code must be a string, got 2134"
    ]


@pytest.mark.parametrize(
    ("order", "fragment"),
    [
        ({"channel": "c", "lines": [{"sku": "X", "qty": 1}]}, "id is required"),
        (good(id=""), "id must not be empty"),
        (good(id="  "), "id must not be empty"),
        (good(id=["A"]), "id must be a string"),
        ({"id": "A1", "lines": [{"sku": "X", "qty": 1}]}, "channel is required"),
        (good(channel=""), "channel must not be empty"),
        (good(channel=3), "channel must be a string"),
        (good(lines=[]), "needs at least one line"),
        ({"id": "A1", "channel": "c"}, "needs at least one line"),
        (good(lines={"sku": "X", "qty": 1}), "lines must be a list"),
        (good(lines=["X:1"]), "lines[0] must be an object {sku, qty}"),
        (good(lines=[{"sku": " ", "qty": 1}]), "lines[0].sku is required"),
        (good(lines=[{"qty": 1}]), "lines[0].sku is required"),
        (good(lines=[{"sku": 5, "qty": 1}]), "lines[0].sku must be a string"),
        (good(tags="vip"), "tags must be a list of strings"),
        (good(tags=["vip", 3]), "tags must be a list of strings, got an element 3"),
        (good(attributes=[1]), "attributes must be an object"),
        (good(attributes={"a": [1]}), "attributes 'a' must be a string, number, true/false"),
        (good(attributes={"a": {"b": 1}}), "attributes 'a' must be a string, number"),
        (good(ship_to="NYC"), "ship_to must be an object"),
        (good(warehouse=1), "warehouse must be a string"),
        (good(shipping_method=["x"]), "shipping_method must be a string"),
        (good(status="shipped"), "status must be 'awaiting_fulfillment'"),
        (good(allocation_status="allocated"), "allocation_status must be 'unallocated'"),
    ],
)
def test_field_rules(tmp_path: Path, order: dict[str, Any], fragment: str) -> None:
    assert fragment in one_problem(tmp_path, order)


def test_attributes_reject_nan(tmp_path: Path) -> None:
    text = (
        '[{"id": "A", "channel": "c", "attributes": {"x": NaN}, "lines": [{"sku": "X", "qty": 1}]}]'
    )
    [problem] = problems_of(write(tmp_path, "orders.json", text))
    assert "attributes 'x' must be a finite number" in problem


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (good(tagz=["vip"]), "unknown key 'tagz'; did you mean 'tags'?"),
        (good(shiping_method="x"), "unknown key 'shiping_method'; did you mean 'shipping_method'?"),
        (
            good(ship_to={"contry": "US"}),
            "unknown key 'ship_to.contry'; did you mean 'ship_to.country'?",
        ),
        (good(lines=[{"sku": "X", "quantity": 1, "qty": 1}]), "unknown key 'lines[0].quantity'"),
        (good(zzz=1), "unknown key 'zzz'; known: id, channel"),
    ],
)
def test_unknown_keys_are_named_with_a_hint(
    tmp_path: Path, order: dict[str, Any], message: str
) -> None:
    assert message in one_problem(tmp_path, order)


def test_every_problem_of_one_order_is_listed(tmp_path: Path) -> None:
    bad = {"id": "A9", "channel": "", "placed_at": "soon", "total": -1, "lines": [{"qty": 0}]}
    found = json_problems(tmp_path, bad)
    assert [p.split(": order 'A9': ")[1] for p in found] == [
        "channel must not be empty",
        "placed_at must be an ISO-8601 timestamp such as 2026-11-28T14:30:00Z, got 'soon'",
        "total must not be negative, got -1",
        "lines[0].sku is required",
        "lines[0].qty must be a positive integer, got 0",
    ]


# --------------------------------------------------------------------------------------------
# JSON array: line numbers, refuse-whole, duplicates, syntax errors


def test_json_array_reports_the_line_where_each_element_starts(tmp_path: Path) -> None:
    text = (
        "[\n"  # 1
        '  {"id": "A1", "channel": "shopify",\n'  # 2
        '   "lines": [{"sku": "X", "qty": 1}]},\n'  # 3
        "\n"  # 4
        "  {\n"  # 5
        '    "id": "A2",\n'  # 6
        '    "channel": "amazon",\n'  # 7
        '    "lines": [{"sku": "X", "qty": 0}]\n'  # 8
        "  },\n"  # 9
        '  {"id": "A3", "channel": "ebay", "lines": [{"sku": "X", "qty": 2}]},'  # 10
        ' {"id": "A4", "channel": "ebay", "lines": []}\n'  # 10, second element
        "]\n"
    )
    path = write(tmp_path, "orders.json", text)
    assert problems_of(path) == [
        f"{path}:5: order 'A2': lines[0].qty must be a positive integer, got 0",
        f"{path}:10: order 'A4': needs at least one line",
    ]


def test_one_bad_order_refuses_the_whole_file(tmp_path: Path) -> None:
    orders = [good(id=f"A{n}") for n in range(50)]
    orders[37]["lines"][0]["qty"] = -1
    path = write(tmp_path, "orders.json", json.dumps(orders))
    with pytest.raises(BadInput) as caught:
        read_orders(path, now=NOW)
    assert str(caught.value).splitlines() == [
        f"{path}: 1 problem, nothing imported",
        f"{path}:1: order 'A37': lines[0].qty must be a positive integer, got -1",
    ]


def test_duplicate_ids_in_json(tmp_path: Path) -> None:
    path = write(
        tmp_path, "orders.json", "[\n" + ",\n".join(json.dumps(good()) for _ in "ab") + "]"
    )
    assert problems_of(path) == [f"{path}:3: duplicate order id 'A1' (first on line 2)"]


def test_duplicate_id_is_reported_even_when_the_copy_is_invalid(tmp_path: Path) -> None:
    found = json_problems(tmp_path, good(), good(channel=""))
    assert any("duplicate order id 'A1'" in p for p in found)
    assert any("channel must not be empty" in p for p in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[\n  {"id": "A1",\n   "channel": }\n]', ":3:15: invalid JSON: Expecting value"),
        (f"[{GOOD},]", f":1:{len(GOOD) + 3}: invalid JSON: Expecting value"),
        (f"[{GOOD}\n{{}}]", ":2:1: invalid JSON: expected ',' or ']', got '{'"),
        (f"[{GOOD}", f":1:{len(GOOD) + 2}: invalid JSON: expected ',' or ']', got end of file"),
        ('[]\n{"x": 1}', ":2:1: invalid JSON: unexpected data after the array"),
        ('{"id": "A1"}', ":1:1: expected a JSON array of orders (for one order object"),
        ("  \n", ":1: empty file, expected a JSON array of orders"),
    ],
)
def test_unreadable_json_names_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "orders.json", text)
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}{expected}")


def test_empty_array_imports_nothing(tmp_path: Path) -> None:
    assert read_orders(write(tmp_path, "orders.json", " [ ] \n"), now=NOW) == []


def test_array_elements_must_be_objects(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.json", '[\n  ["A1"],\n  "A2"\n]')
    assert problems_of(path) == [
        f"{path}:2: expected an order object, got a list",
        f"{path}:3: expected an order object, got a string",
    ]


# --------------------------------------------------------------------------------------------
# JSON Lines


def test_jsonl_line_numbers_skip_blank_lines_and_keep_going_after_bad_json(
    tmp_path: Path,
) -> None:
    text = "\n".join(
        [
            json.dumps(good(id="A1")),  # 1
            "",  # 2
            json.dumps(good(id="A2", total=-5)),  # 3
            '{"id": "A3", "channel": ',  # 4
            json.dumps(good(id="A1")),  # 5
            "   ",  # 6
            json.dumps(good(id="A4", lines=[{"sku": "X", "qty": "many"}])),  # 7
        ]
    )
    path = write(tmp_path, "orders.jsonl", text + "\n")
    assert problems_of(path) == [
        f"{path}:3: order 'A2': total must not be negative, got -5",
        f"{path}:4:25: invalid JSON: Expecting value",
        f"{path}:5: duplicate order id 'A1' (first on line 1)",
        f"{path}:7: order 'A4': lines[0].qty must be a positive integer, got 'many'",
    ]


def test_jsonl_valid_file_and_crlf(tmp_path: Path) -> None:
    text = "\r\n".join(json.dumps(good(id=f"A{n}")) for n in range(3)) + "\r\n"
    orders = read_orders(write(tmp_path, "orders.jsonl", text), now=NOW)
    assert [o.id for o in orders] == ["A0", "A1", "A2"]
    ndjson = read_orders(write(tmp_path, "orders.ndjson", text), now=NOW)
    assert len(ndjson) == 3


# --------------------------------------------------------------------------------------------
# CSV


def test_csv_rows_sharing_an_id_form_one_order(tmp_path: Path) -> None:
    text = (
        "id,channel,placed_at,sku,qty,country,shipping_method,total,tags,warehouse\n"
        "A1,shopify,2026-11-28T10:00:00Z,TSHIRT-BLK-M,2,us,ground,50.00,vip;gift,east\n"
        "A2,amazon,2026-11-28T11:00:00Z,MUG-12OZ,1,GB,international,14,,\n"
        "A1,shopify,2026-11-28T10:00:00Z,CAP-BLK,1,us,ground,50.00,vip;gift,east\n"
    )
    a1, a2 = read_orders(write(tmp_path, "orders.csv", text), now=NOW)
    assert a1.id == "A1"
    assert a1.lines == (Line("TSHIRT-BLK-M", 2), Line("CAP-BLK", 1))
    assert a1.ship_to == ShipTo(country="US")
    assert a1.tags == frozenset({"vip", "gift"})
    assert a1.total == Decimal("50.00")
    assert a1.warehouse == "east"
    assert a1.placed_at == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert a2.lines == (Line("MUG-12OZ", 1),)
    assert a2.warehouse == "main"
    assert a2.tags == frozenset()
    assert a2.total == Decimal(14)


def test_csv_continuation_rows_may_leave_order_fields_blank(tmp_path: Path) -> None:
    text = (
        "id,channel,placed_at,sku,qty,city,tags\n"
        "A1,,,X,1,,\n"  # the first row may be the sparse one, too
        "A1,shopify,2026-11-28T10:00:00,Y,2,Oslo,a | b\n"
        "A1,shopify,,Z,3,,\n"
    )
    [order] = read_orders(write(tmp_path, "orders.csv", text), now=NOW)
    assert order.channel == "shopify"
    assert order.ship_to.city == "Oslo"
    assert order.tags == frozenset({"a", "b"})
    assert [line.sku for line in order.lines] == ["X", "Y", "Z"]


def test_csv_order_fields_must_agree(tmp_path: Path) -> None:
    text = (
        f"{CSV_HEADER},total\n"
        "A1,shopify,2026-11-28T10:00:00Z,X,1,10.00\n"
        "A1,shopify,2026-11-28T10:00:00Z,Y,1,10.00\n"
        "A1,amazon,2026-11-28T10:00:00Z,Z,1,12.00\n"
    )
    path = write(tmp_path, "orders.csv", text)
    assert problems_of(path) == [
        f"{path}:4: order 'A1': channel 'amazon' differs from 'shopify' on line 2 "
        "(every row of an order must agree)",
        f"{path}:4: order 'A1': total '12.00' differs from '10.00' on line 2 "
        "(every row of an order must agree)",
    ]


def test_csv_line_numbers_count_the_header_and_quoted_newlines(tmp_path: Path) -> None:
    text = (
        f"{CSV_HEADER},ship_to_name\n"  # 1
        'A1,shopify,2026-11-28T10:00:00Z,X,1,"Ana\nLi"\n'  # 2-3
        "A2,shopify,2026-11-28T10:00:00Z,X,0,Bo\n"  # 4
        "\n"  # 5
        "A3,shopify,2026-11-28T10:00:00Z,,1,Cy\n"  # 6
        "A4,shopify,2026-11-28T10:00:00Z,X,1\n"  # 7
        "A5,,2026-11-28T10:00:00Z,X,1,Di\n"  # 8
        "A6,shopify,later,X,1,Ed\n"  # 9
        ",shopify,2026-11-28T10:00:00Z,X,1,Fi\n"  # 10
    )
    path = write(tmp_path, "orders.csv", text)
    assert problems_of(path) == [
        f"{path}:4: order 'A2': qty must be a positive integer, got 0",
        f"{path}:6: order 'A3': sku is required",
        f"{path}:7: expected 6 columns as in the header, got 5",
        f"{path}:8: order 'A5': channel is required",
        f"{path}:9: order 'A6': placed_at must be an ISO-8601 timestamp such as "
        "2026-11-28T14:30:00Z, got 'later'",
        f"{path}:10: id is required",
    ]


@pytest.mark.parametrize(
    ("qty", "fragment"),
    [
        ("0", "qty must be a positive integer, got 0"),
        ("-2", "qty must be a positive integer, got '-2'"),
        ("1.5", "qty must be a positive integer, got '1.5'"),
        ("abc", "qty must be a positive integer, got 'abc'"),
        ("", "qty is required"),
        ("٣", "qty must be a positive integer"),  # a non-ASCII digit is not a quantity
        ("99999999999", "qty is too large"),
    ],
)
def test_csv_bad_qty(tmp_path: Path, qty: str, fragment: str) -> None:
    path = write(tmp_path, "orders.csv", f"{CSV_HEADER}\nA1,c,2026-11-28,X,{qty}\n")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:2: order 'A1': {fragment}")


def test_csv_one_bad_row_among_good_ones_refuses_everything(tmp_path: Path) -> None:
    rows = [f"A{n},shopify,2026-11-28T10:00:00Z,X,1" for n in range(100)]
    rows[60] = "A60,shopify,2026-11-28T10:00:00Z,X,-1"
    path = write(tmp_path, "orders.csv", "\n".join([CSV_HEADER, *rows]) + "\n")
    assert problems_of(path) == [
        f"{path}:62: order 'A60': qty must be a positive integer, got '-1'"
    ]


def test_csv_attributes_from_both_prefixes_stay_text(tmp_path: Path) -> None:
    text = (
        f"{CSV_HEADER},attr.gift_note,attributes.PO,Ship_To.Country\n"
        "A1,c,2026-11-28,X,1,Happy day,00123,de\n"
        "A2,c,2026-11-28,X,1,,,\n"
    )
    a1, a2 = read_orders(write(tmp_path, "orders.csv", text), now=NOW)
    assert a1.attributes == {"gift_note": "Happy day", "PO": "00123"}
    assert a1.ship_to.country == "DE"
    assert a2.attributes == {}


def test_csv_default_placed_at_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(("\ufeff" + CSV_HEADER + "\r\nA1,c,,X,1\r\n").encode("utf-8"))
    [order] = read_orders(path, now=NOW)
    assert order.placed_at == NOW


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("id,channel,placed_at,sku", "missing required column qty"),
        ("id,sku,qty", "missing required columns channel, placed_at"),
        (f"{CSV_HEADER},chanel", "unknown column 'chanel'; did you mean 'channel'?"),
        (f"{CSV_HEADER},qty", "column 'qty' appears twice"),
        (f"{CSV_HEADER},attr.a,attributes.a", "attribute 'a' appears twice"),
        (f"{CSV_HEADER},attr.", "column 'attr.' names no attribute"),
        (f"{CSV_HEADER},country,ship_to.country", "column 'country' appears twice"),
    ],
)
def test_csv_header_problems(tmp_path: Path, header: str, fragment: str) -> None:
    path = write(tmp_path, "orders.csv", header + "\n")
    found = problems_of(path)
    assert any(p.startswith(f"{path}:1: {fragment}") for p in found), found


def test_csv_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", "")
    assert problems_of(path) == [
        f"{path}:1: empty file, expected a header: id,channel,placed_at,sku,qty"
    ]


def test_csv_header_only_imports_nothing(tmp_path: Path) -> None:
    assert read_orders(write(tmp_path, "orders.csv", CSV_HEADER + "\n"), now=NOW) == []


# --------------------------------------------------------------------------------------------
# Files that cannot be read at all


def test_missing_file() -> None:
    with pytest.raises(BadInput, match="no such file"):
        read_orders(Path("/nonexistent/orders.json"))


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "orders.json"
    folder.mkdir()
    with pytest.raises(BadInput, match="is a directory"):
        read_orders(folder)


@pytest.mark.parametrize("name", ["orders.xml", "orders", "orders.yaml"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, "[]")
    with pytest.raises(BadInput, match=r"unknown order file type .*expected \.json"):
        read_orders(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV_HEADER.encode() + b"\nA1,caf\xe9,2026-11-28,X,1\n")
    with pytest.raises(BadInput, match="not UTF-8 text"):
        read_orders(path)


@pytest.mark.parametrize("name", ["orders.csv", "orders.jsonl", "stock.csv", "kits.csv"])
def test_not_utf8_names_the_line_and_column_deep_in_a_big_file(tmp_path: Path, name: str) -> None:
    """A Latin-1 "é" on line 3001 was reported as "at byte 6169", the offset inside the text
    reader's buffer, with no line: the merchant could not find it in a 5,000-row export."""
    rows = {
        "orders.csv": (CSV_HEADER, "X{},web,2026-11-28,MUG,1", "BAD,caf\xe9,2026-11-28,MUG,1"),
        "orders.jsonl": (
            '{"id": "J0", "channel": "web", "lines": [{"sku": "M", "qty": 1}]}',
            '{{"id": "J{}", "channel": "web", "lines": [{{"sku": "M", "qty": 1}}]}}',
            '{"id": "BAD", "channel": "caf\xe9", "lines": [{"sku": "M", "qty": 1}]}',
        ),
        "stock.csv": ("sku,on_hand", "S{},1", "CAF\xe9,2"),
        "kits.csv": ("kit,component,qty", "K{},MUG,1", "K\xe9,MUG,1"),
    }[name]
    lines = [rows[0]] + [rows[1].format(n + 1) for n in range(4999)]
    lines.insert(3000, rows[2])
    path = tmp_path / name
    path.write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    column = rows[2].index("\xe9") + 1
    read = {"stock.csv": read_inventory, "kits.csv": lambda p: read_kits(p, {})}
    with pytest.raises(BadInput) as info:
        read.get(name, read_orders)(path)
    assert str(info.value).startswith(
        f"{path}:3001:{column}: not UTF-8 text (invalid continuation byte, byte 0xe9); "
        "save the file as UTF-8"
    ), str(info.value)


# --------------------------------------------------------------------------------------------
# order_from_mapping and parse_line_spec (the CLI and rule-file fixtures)


def test_order_from_mapping_accepts_yaml_values() -> None:
    order = order_from_mapping(
        {"id": "A1", "channel": "shopify", "total": 19.99, "lines": [{"sku": "W", "qty": 1}]},
        "rules.yaml:12:9",
        NOW,
    )
    assert order.total == Decimal("19.99")
    assert order.placed_at == NOW


def test_order_from_mapping_lists_every_problem() -> None:
    with pytest.raises(BadInput) as caught:
        order_from_mapping({"id": "A1", "lines": [{"sku": "W", "qty": 0}]}, "rules.yaml:12:9", NOW)
    assert caught.value.exit_code == 2
    assert str(caught.value).splitlines()[0] == "rules.yaml:12:9: invalid order (2 problems)"
    assert caught.value.problems == [
        "rules.yaml:12:9: order 'A1': channel is required",
        "rules.yaml:12:9: order 'A1': lines[0].qty must be a positive integer, got 0",
    ]


def test_order_from_mapping_rejects_a_non_mapping() -> None:
    with pytest.raises(BadInput) as caught:
        order_from_mapping(["A1"], "fixture", NOW)
    assert caught.value.problems == ["fixture: expected an order object, got a list"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("TSHIRT-BLK-M:2", ("TSHIRT-BLK-M", 2)), (" MUG : 10 ", ("MUG", 10)), ("A:B:3", ("A:B", 3))],
)
def test_parse_line_spec(spec: str, expected: tuple[str, int]) -> None:
    assert parse_line_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("MUG", "expected SKU:QTY"),
        (":3", "expected SKU:QTY"),
        ("MUG:", "qty is required"),
        ("MUG:0", "qty must be a positive integer, got 0"),
        ("MUG:-1", "qty must be a positive integer, got '-1'"),
        ("MUG:x", "qty must be a positive integer, got 'x'"),
    ],
)
def test_parse_line_spec_errors(spec: str, fragment: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_line_spec(spec)
    assert caught.value.exit_code == 2
    assert str(caught.value) == f"--line {spec!r}: {fragment}" or fragment in str(caught.value)


# --------------------------------------------------------------------------------------------
# Inventory


def test_inventory_rows(tmp_path: Path) -> None:
    text = "sku,on_hand,warehouse\nMUG-12OZ,10,\nMUG-12OZ,4,east\nCAP-BLK, 0 ,main\n"
    assert read_inventory(write(tmp_path, "inv.csv", text)) == [
        ("MUG-12OZ", "main", 10),
        ("MUG-12OZ", "east", 4),
        ("CAP-BLK", "main", 0),
    ]


def test_inventory_without_warehouse_column(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.csv", "SKU,On_Hand\nX,3\n")
    assert read_inventory(path) == [("X", "main", 3)]


def test_inventory_problems_are_all_listed(tmp_path: Path) -> None:
    text = (
        "sku,on_hand,warehouse\n"  # 1
        "X,5,main\n"  # 2
        "Y,-3,main\n"  # 3
        ",4,main\n"  # 4
        "X,6,\n"  # 5: same as line 2 (blank warehouse is main)
        "Z,1.5,main\n"  # 6
        "W,2\n"  # 7
        "V,,main\n"  # 8
    )
    path = write(tmp_path, "inv.csv", text)
    with pytest.raises(BadInput) as caught:
        read_inventory(path)
    assert str(caught.value).splitlines()[0] == f"{path}: 6 problems, nothing imported"
    assert caught.value.problems == [
        f"{path}:3: on_hand must be a whole number >= 0, got '-3'",
        f"{path}:4: sku is required",
        f"{path}:5: duplicate sku 'X' in warehouse 'main' (first on line 2)",
        f"{path}:6: on_hand must be a whole number >= 0, got '1.5'",
        f"{path}:7: expected 3 columns as in the header, got 2",
        f"{path}:8: on_hand is required",
    ]


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("sku,onhand", "unknown column 'onhand'; did you mean 'on_hand'?"),
        ("sku,warehouse", "missing required column on_hand"),
        ("X,5", "unknown column 'X'"),  # no header row at all
    ],
)
def test_inventory_header_problems(tmp_path: Path, header: str, fragment: str) -> None:
    path = write(tmp_path, "inv.csv", header + "\n")
    with pytest.raises(BadInput) as caught:
        read_inventory(path)
    assert any(p.startswith(f"{path}:1: {fragment}") for p in caught.value.problems)


def test_inventory_file_type_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"expected \.csv with columns sku,on_hand"):
        read_inventory(write(tmp_path, "inv.json", "[]"))
    with pytest.raises(BadInput, match="no such file"):
        read_inventory(tmp_path / "nope.csv")


# --------------------------------------------------------------------------------------------
# The shipped examples and the data generators


def load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_examples_parse_without_problems() -> None:
    orders = read_orders(EXAMPLES / "orders.json", now=NOW)
    sample = read_orders(EXAMPLES / "orders.csv", now=NOW)
    stock = read_inventory(EXAMPLES / "inventory.csv")
    assert len(orders) >= 250
    assert len(sample) >= 15
    assert not {o.id for o in orders} & {o.id for o in sample}
    assert {o.channel for o in orders} == {"shopify", "amazon", "ebay", "wholesale"}
    assert {o.ship_to.country for o in orders} == {"US", "CA", "GB", "DE", "AU"}
    assert {o.warehouse for o in orders} == {"main", "east"}
    assert any(len(o.lines) > 1 for o in sample)
    assert all(
        datetime(2026, 11, 26, tzinfo=UTC) <= o.placed_at < datetime(2026, 12, 1, tzinfo=UTC)
        for o in orders
    )
    # Some SKUs are short of their demand, and one is out of stock.
    on_hand = {(sku, wh): qty for sku, wh, qty in stock}
    demand: dict[tuple[str, str], int] = {}
    for order in [*orders, *sample]:
        for line in order.lines:
            key = (line.sku, order.warehouse)
            demand[key] = demand.get(key, 0) + line.qty
    short = [key for key, qty in demand.items() if on_hand.get(key, 0) < qty]
    assert len(short) >= 3
    assert 0 in on_hand.values()


def test_examples_are_what_the_generator_writes(tmp_path: Path) -> None:
    generator = load_script(EXAMPLES / "generate.py")
    for path in generator.generate(tmp_path):
        assert path.read_bytes() == (EXAMPLES / path.name).read_bytes(), path.name


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bench_generator_writes_parseable_data(tmp_path: Path, fmt: str) -> None:
    gen_data = load_script(ROOT / "tests" / "bench" / "gen_data.py")
    data = gen_data.generate(tmp_path, orders=400, skus=50, fmt=fmt, seed=3)
    orders = read_orders(data.orders_path, now=NOW)
    assert len(orders) == 400
    assert sum(len(o.lines) for o in orders) == data.lines
    assert sum(o.unit_count for o in orders) == data.units
    assert 0.5 < data.stock / data.units < 0.8
    assert len(read_inventory(data.inventory_path)) == 50
    again = gen_data.generate(tmp_path / "again", orders=400, skus=50, fmt=fmt, seed=3)
    assert again.orders_path.read_bytes() == data.orders_path.read_bytes()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("orders.csv", f"{CSV_HEADER},\nA1,web,2026-11-28,MUG,1,\n"),
        ("stock.csv", "sku,on_hand,\nMUG,1,\n"),
        ("kits.csv", "kit,component,qty,\nBOX,MUG,1,\n"),
    ],
)
def test_a_header_cell_without_a_name_is_named_by_its_position(
    tmp_path: Path, name: str, text: str
) -> None:
    """A spreadsheet's trailing comma said "unknown column ''; known: …": nothing to look for."""
    path = write(tmp_path, name, text)
    read = {"stock.csv": read_inventory, "kits.csv": lambda p: read_kits(p, {})}
    with pytest.raises(BadInput) as info:
        read.get(name, read_orders)(path)
    position = text.split("\n")[0].count(",") + 1
    assert info.value.problems == [
        f"{path}:1: column {position} of the header has no name (a trailing comma, or an empty "
        "column the spreadsheet kept?): name it or delete it"
    ], info.value.problems


def test_a_semicolon_header_is_named_by_the_native_reader_too(tmp_path: Path) -> None:
    """`orders import x.csv --format dibs` skips detection; the reader itself then said
    "unknown column 'id;channel;placed_at;sku;qty'" and five missing columns."""
    path = write(tmp_path, "orders.csv", "id;channel;placed_at;sku;qty\nA1;web;2026-11-28;M;1\n")
    with pytest.raises(BadInput) as info:
        read_orders(path)
    assert info.value.problems == [
        f"{path}:1: the header separates its columns with ';': dibs reads comma-separated CSV "
        "(in a spreadsheet, save as CSV UTF-8, comma-delimited)"
    ]
