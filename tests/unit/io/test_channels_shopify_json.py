"""Shopify JSON (Admin REST / webhooks) -> native order mappings, per SPEC §9."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.io.channels import (
    ChannelError,
    ChannelRead,
    Skipped,
    read_shopify_json,
)
from engine.io.channels import shopify_order as parse_one

EXPECTED_1001 = {
    "id": "#1001",
    "channel": "shopify",
    "placed_at": "2026-03-02T14:15:00+00:00",
    "ship_to": {
        "name": "Bob Norman",
        "country": "US",
        "state": "MA",
        "city": "Boston",
        "postal_code": "02134",
    },
    "shipping_method": "Standard Shipping",
    "total": "199.00",
    "tags": ["vip", "Wholesale", "gift"],
    "attributes": {"shopify_id": "5678901234567"},
    # The gift card needs no shipping; the two mug items stay two lines, as given.
    "lines": [
        {"sku": "MUG-12OZ", "qty": 2},
        {"sku": "BLANKET-GRY", "qty": 1},
        {"sku": "MUG-12OZ", "qty": 1},
    ],
}


def read(payload: object, name: str = "orders.json", **kwargs: Any) -> ChannelRead:
    return read_shopify_json(json.dumps(payload).encode(), name, **kwargs)


def problems_of(payload: object | bytes | str, name: str = "orders.json") -> list[str]:
    data = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    with pytest.raises(ChannelError) as caught:
        read_shopify_json(data, name)
    return [str(problem) for problem in caught.value.problems]


def test_a_rest_order_maps_field_by_field(shopify_order: dict[str, Any], native_check: Any) -> None:
    result = read(shopify_order)
    [order] = result.orders
    assert order.mapping == EXPECTED_1001
    assert order.status == "awaiting_fulfillment"
    assert order.updated_at == datetime(2026, 3, 2, 16, 40, 12, tzinfo=UTC)
    assert order.where == "orders.json"
    assert order.id == "#1001"
    assert result.skipped == ()
    native_check(order.mapping)


def test_the_mapping_is_plain_json(shopify_order: dict[str, Any]) -> None:
    [order] = read(shopify_order).orders
    assert json.loads(json.dumps(order.mapping)) == order.mapping


@pytest.mark.parametrize(
    ("container", "where"),
    [
        (lambda o: o, "orders.json"),
        (lambda o: [o], "orders.json:[0]"),
        (lambda o: {"order": o}, "orders.json:order"),
        (lambda o: {"orders": [o]}, "orders.json:orders[0]"),
    ],
    ids=["object", "array", "order-wrapper", "orders-wrapper"],
)
def test_every_container_holds_orders(
    shopify_order: dict[str, Any], container: Any, where: str
) -> None:
    [order] = read(container(shopify_order)).orders
    assert order.mapping == EXPECTED_1001
    assert order.where == where


def test_json_lines_with_windows_endings_blank_lines_and_wrappers(
    shopify_order: dict[str, Any],
) -> None:
    second = dict(shopify_order, name="#1002", id=5678901234568)
    text = "\r\n".join([json.dumps(shopify_order), "", json.dumps({"order": second}), ""])
    result = read_shopify_json(text.encode(), "hooks.jsonl")
    assert [(o.id, o.where) for o in result.orders] == [
        ("#1001", "hooks.jsonl:1"),
        ("#1002", "hooks.jsonl:3 order"),
    ]


def test_a_utf8_bom_is_skipped(shopify_order: dict[str, Any]) -> None:
    data = "\ufeff".encode() + json.dumps(shopify_order).encode()
    assert read_shopify_json(data, "orders.json").orders[0].id == "#1001"


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"fulfillment_status": "fulfilled"}, "shipped"),
        ({"fulfillment_status": "partial"}, "awaiting_fulfillment"),
        ({"fulfillment_status": None}, "awaiting_fulfillment"),
        ({"cancelled_at": "2026-03-03T08:00:00-05:00"}, "cancelled"),
        # Cancelled wins: a cancelled order is not shipped again by a sync.
        (
            {"cancelled_at": "2026-03-03T08:00:00-05:00", "fulfillment_status": "fulfilled"},
            "cancelled",
        ),
    ],
)
def test_status_follows_cancelled_at_then_fulfillment_status(
    shopify_order: dict[str, Any], changes: dict[str, Any], status: str
) -> None:
    shopify_order.update(changes)
    assert read(shopify_order).orders[0].status == status


def test_financial_status_does_not_change_the_status(shopify_order: dict[str, Any]) -> None:
    shopify_order["financial_status"] = "refunded"
    assert read(shopify_order).orders[0].status == "awaiting_fulfillment"


def test_no_shipping_address_means_no_ship_to(shopify_order: dict[str, Any]) -> None:
    shopify_order["shipping_address"] = None
    mapping = read(shopify_order).orders[0].mapping
    assert "ship_to" not in mapping


def test_partial_address_keeps_what_is_there(shopify_order: dict[str, Any]) -> None:
    shopify_order["shipping_address"] = {
        "first_name": "Bob",
        "last_name": "Norman",
        "country_code": "us",
        "zip": None,
    }
    assert read(shopify_order).orders[0].mapping["ship_to"] == {
        "name": "Bob Norman",
        "country": "US",
    }


def test_shipping_method_is_the_first_title_even_with_a_null_code(
    shopify_order: dict[str, Any],
) -> None:
    shopify_order["shipping_lines"].append({"title": "Express", "code": "EXP"})
    assert read(shopify_order).orders[0].mapping["shipping_method"] == "Standard Shipping"
    shopify_order["shipping_lines"] = []
    assert "shipping_method" not in read(shopify_order).orders[0].mapping


@pytest.mark.parametrize(
    ("total", "expected"), [("199.00", "199.00"), (" 5 ", "5"), (12, "12"), (None, None)]
)
def test_total_price_string_or_number(
    shopify_order: dict[str, Any], total: object, expected: str | None
) -> None:
    shopify_order["total_price"] = total
    assert read(shopify_order).orders[0].mapping.get("total") == expected


def test_total_price_as_a_json_fraction_stays_exact(shopify_order: dict[str, Any]) -> None:
    text = json.dumps(shopify_order).replace('"total_price": "199.00"', '"total_price": 19.99')
    assert read_shopify_json(text, "o.json").orders[0].mapping["total"] == "19.99"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("vip, Wholesale ,  gift", ["vip", "Wholesale", "gift"]),
        ("", None),
        (" , ,", None),
        ("a,a, b", ["a", "b"]),
        (["x ", "y"], ["x", "y"]),
    ],
)
def test_tags_are_split_on_commas_and_trimmed(
    shopify_order: dict[str, Any], tags: object, expected: list[str] | None
) -> None:
    shopify_order["tags"] = tags
    assert read(shopify_order).orders[0].mapping.get("tags") == expected


def test_channel_can_be_renamed(shopify_order: dict[str, Any]) -> None:
    mapping = read(shopify_order, channel="shopify-eu").orders[0].mapping
    assert mapping["channel"] == "shopify-eu"


def test_an_order_of_gift_cards_only_is_skipped_not_refused(
    shopify_order: dict[str, Any],
) -> None:
    digital = dict(
        shopify_order,
        name="#1004",
        line_items=[i for i in shopify_order["line_items"] if not i["requires_shipping"]],
    )
    result = read([shopify_order, digital])
    assert [o.id for o in result.orders] == ["#1001"]
    assert result.skipped == (
        Skipped(
            "orders.json:[1]",
            "#1004",
            "has nothing to ship (none of its 1 line item requires shipping)",
        ),
    )


def test_requires_shipping_missing_counts_as_shipping(shopify_order: dict[str, Any]) -> None:
    shopify_order["line_items"] = [{"sku": "MUG-12OZ", "quantity": 1}]
    assert read(shopify_order).orders[0].mapping["lines"] == [{"sku": "MUG-12OZ", "qty": 1}]


def test_an_item_that_ships_without_a_sku_names_the_order_and_the_item(
    shopify_order: dict[str, Any],
) -> None:
    shopify_order["line_items"][1]["sku"] = ""
    assert problems_of(shopify_order) == [
        "orders.json: order '#1001': line_items[1].sku is missing: the item "
        "'Wool blanket - Grey' requires shipping, so it needs a SKU to reserve stock for"
        ": give the variant a SKU in Shopify, or mark it as not a physical product"
    ]


def test_every_problem_of_the_file_is_listed(shopify_order: dict[str, Any]) -> None:
    bad = dict(shopify_order, name="#1002", created_at="yesterday", total_price="-1")
    bad["line_items"] = [{"sku": "MUG", "quantity": 0, "requires_shipping": True}]
    other = dict(shopify_order, total_price="1.00")  # another copy, the same updated_at
    problems = problems_of([shopify_order, bad, other, 7])
    assert problems == [
        "orders.json:[1]: order '#1002': created_at must be an ISO-8601 timestamp such as "
        "2026-03-02T09:15:00-05:00, got 'yesterday'",
        "orders.json:[1]: order '#1002': total_price must not be negative, got '-1'",
        "orders.json:[1]: order '#1002': line_items[0].quantity must be a positive integer, got 0",
        "orders.json:[3]: expected an order object, got a number",
        "orders.json:[2]: order '#1001': appears twice in the file (first at orders.json:[0]), "
        "and updated_at does not say which copy is newer",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": None}, "orders.json: name is required"),
        ({"created_at": None}, "orders.json: order '#1001': created_at is required"),
        ({"line_items": None}, "orders.json: order '#1001': line_items is required"),
        (
            {"shipping_address": "Boston"},
            "orders.json: order '#1001': shipping_address must be an object or null, got a string",
        ),
        (
            {"updated_at": "soon"},
            "orders.json: order '#1001': updated_at must be an ISO-8601 "
            "timestamp such as 2026-03-02T09:15:00-05:00, got 'soon'",
        ),
        ({"tags": 5}, "orders.json: order '#1001': tags must be a comma-separated string, got 5"),
        ({"id": -3}, "orders.json: order '#1001': id must be a channel id, got -3"),
    ],
)
def test_wrong_fields_are_named(
    shopify_order: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    shopify_order.update(changes)
    assert problems_of(shopify_order) == [message]


def test_no_updated_at_is_none(shopify_order: dict[str, Any]) -> None:
    del shopify_order["updated_at"]
    assert read(shopify_order).orders[0].updated_at is None


def test_a_country_name_instead_of_a_code_is_a_problem(shopify_order: dict[str, Any]) -> None:
    shopify_order["shipping_address"]["country_code"] = "United States"
    assert problems_of(shopify_order) == [
        "orders.json: order '#1001': shipping_address.country_code must be a two-letter "
        "country code such as US or DE, got 'United States'"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "orders.json:1: is empty: expected channel order JSON"),
        (
            b'{"name": "#1", ',
            "orders.json:1:16: is not valid JSON: Expecting property name "
            "enclosed in double quotes",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "orders.json:1:1: is nested too deeply to be an order"),
        (
            b'{"name": "caf\xe9"}',
            "orders.json:1:14: is not UTF-8 text (invalid "
            "continuation byte, byte 0xe9); save the file as UTF-8",
        ),
        (b'"hello"', "orders.json: expected an order object, got a string"),
    ],
    ids=["empty", "truncated", "deep", "latin-1", "scalar"],
)
def test_unreadable_files_are_one_clear_problem(data: bytes, message: str) -> None:
    assert problems_of(data) == [message]


def test_hostile_values_are_problems_not_crashes(shopify_order: dict[str, Any]) -> None:
    item = shopify_order["line_items"][0]
    text = json.dumps(shopify_order)
    text = text.replace('"quantity": 2', '"quantity": ' + "9" * 5000, 1)
    text = text.replace('"sku": "MUG-12OZ"', '"sku": "MUG\\ud800"', 1)
    text = text.replace('"Bob Norman"', '"Bob\\u0000Norman"')
    assert item  # the first item carries all three
    problems = problems_of(text)
    assert problems == [
        "orders.json: order '#1001': shipping_address.name must not contain a NUL character",
        "orders.json: order '#1001': line_items[0].sku contains an invalid character "
        "(a lone UTF-16 surrogate)",
        "orders.json: order '#1001': line_items[0].quantity is too large (at most 2147483647)",
    ]


def test_one_parsed_webhook_payload(shopify_order: dict[str, Any]) -> None:
    order = parse_one(shopify_order, "webhook 42")
    assert not isinstance(order, Skipped)
    assert order.mapping == EXPECTED_1001
    assert order.where == "webhook 42"
    with pytest.raises(ChannelError, match="webhook 42: expected an order object, got a list"):
        parse_one([], "webhook 42")


def test_a_bad_json_line_is_located_and_the_rest_still_checked(
    shopify_order: dict[str, Any],
) -> None:
    bad = dict(shopify_order, name="#1002", created_at="never")
    text = "\n".join([json.dumps(bad), '{"name": "#1003",,}'])
    assert problems_of(text, "hooks.jsonl") == [
        "hooks.jsonl:1: order '#1002': created_at must be an ISO-8601 timestamp such as "
        "2026-03-02T09:15:00-05:00, got 'never'",
        "hooks.jsonl:2:18: is not valid JSON: Expecting property name enclosed in double quotes",
    ]


def test_a_payload_parsed_with_plain_floats_keeps_its_total(shopify_order: dict[str, Any]) -> None:
    shopify_order["total_price"] = 19.99  # what json.loads makes of a numeric total
    order = parse_one(shopify_order, "webhook")
    assert not isinstance(order, Skipped)
    assert order.mapping["total"] == "19.99"
