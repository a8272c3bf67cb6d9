"""WooCommerce REST v3 orders -> native order mappings, per SPEC §9."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.io.channels import ChannelError, ChannelRead, Skipped, read_woocommerce_json
from engine.io.channels import woocommerce_order as parse_one

EXPECTED_727 = {
    "id": "727",
    "channel": "woocommerce",
    "placed_at": "2026-03-02T14:15:00+00:00",  # date_created_gmt has no zone: it is UTC
    "ship_to": {
        "name": "Anna Schmidt",
        "country": "DE",
        "state": "BE",
        "city": "Berlin",
        "postal_code": "10115",
    },
    "shipping_method": "DHL Paket",
    "total": "38.15",
    "attributes": {"woocommerce_id": "727"},
    "lines": [{"sku": "SOCK-TRAIL-L", "qty": 2}, {"sku": "BOTTLE-750", "qty": 1}],
}


def read(payload: object, name: str = "wc.json", **kwargs: Any) -> ChannelRead:
    return read_woocommerce_json(json.dumps(payload).encode(), name, **kwargs)


def problems_of(payload: object, name: str = "wc.json") -> list[str]:
    with pytest.raises(ChannelError) as caught:
        read_woocommerce_json(json.dumps(payload), name)
    return [str(problem) for problem in caught.value.problems]


def test_a_rest_order_maps_field_by_field(
    woocommerce_order: dict[str, Any], native_check: Any
) -> None:
    [order] = read(woocommerce_order).orders
    assert order.mapping == EXPECTED_727
    assert order.status == "awaiting_fulfillment"
    assert order.updated_at == datetime(2026, 3, 2, 15, 2, 11, tzinfo=UTC)
    assert order.where == "wc.json"
    native_check(order.mapping)


def test_number_is_the_id_and_id_an_attribute(woocommerce_order: dict[str, Any]) -> None:
    # Sequential-number plugins make the two differ; the merchant knows the number.
    woocommerce_order.update(number="WC-2026-0042", id=9913)
    mapping = read(woocommerce_order).orders[0].mapping
    assert (mapping["id"], mapping["attributes"]) == ("WC-2026-0042", {"woocommerce_id": "9913"})


@pytest.mark.parametrize(
    ("wc_status", "status"),
    [
        ("pending", "awaiting_fulfillment"),
        ("processing", "awaiting_fulfillment"),
        ("on-hold", "awaiting_fulfillment"),
        ("checkout-draft", "awaiting_fulfillment"),
        ("completed", "shipped"),
        ("cancelled", "cancelled"),
        ("refunded", "cancelled"),
        ("failed", "cancelled"),
        ("trash", "cancelled"),  # a REST export of the trash (`?status=trash`)
        ("Completed", "shipped"),
    ],
)
def test_status(woocommerce_order: dict[str, Any], wc_status: str, status: str) -> None:
    woocommerce_order["status"] = wc_status
    assert read(woocommerce_order).orders[0].status == status


@pytest.mark.parametrize(
    ("container", "where"),
    [
        (lambda o: o, "wc.json"),
        (lambda o: [o], "wc.json:[0]"),
        (lambda o: {"order": o}, "wc.json:order"),
        (lambda o: {"orders": [o]}, "wc.json:orders[0]"),
    ],
    ids=["object", "array", "order-wrapper", "orders-wrapper"],
)
def test_every_container_holds_orders(
    woocommerce_order: dict[str, Any], container: Any, where: str
) -> None:
    [order] = read(container(woocommerce_order)).orders
    assert (order.mapping, order.where) == (EXPECTED_727, where)


def test_json_lines(woocommerce_order: dict[str, Any]) -> None:
    second = dict(woocommerce_order, number="728", id=728)
    text = json.dumps(woocommerce_order) + "\n\n" + json.dumps(second) + "\n"
    result = read_woocommerce_json(text, "wc.jsonl")
    assert [(o.id, o.where) for o in result.orders] == [
        ("727", "wc.jsonl:1"),
        ("728", "wc.jsonl:3"),
    ]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-03-02T14:15:00", datetime(2026, 3, 2, 14, 15, tzinfo=UTC)),
        ("2026-03-02T14:15:00Z", datetime(2026, 3, 2, 14, 15, tzinfo=UTC)),
        ("2026-03-02T15:15:00+01:00", datetime(2026, 3, 2, 14, 15, tzinfo=UTC)),
    ],
)
def test_gmt_dates_without_a_zone_are_utc(
    woocommerce_order: dict[str, Any], stamp: str, expected: datetime
) -> None:
    woocommerce_order["date_created_gmt"] = stamp
    woocommerce_order["date_modified_gmt"] = stamp
    [order] = read(woocommerce_order).orders
    assert order.mapping["placed_at"] == expected.isoformat()
    assert order.updated_at == expected


def test_site_local_dates_are_ignored(woocommerce_order: dict[str, Any]) -> None:
    woocommerce_order["date_created"] = "garbage"
    assert read(woocommerce_order).orders[0].mapping["placed_at"] == "2026-03-02T14:15:00+00:00"


def test_no_shipping_and_no_shipping_lines(woocommerce_order: dict[str, Any]) -> None:
    woocommerce_order.update(shipping=None, shipping_lines=[])
    mapping = read(woocommerce_order).orders[0].mapping
    assert "ship_to" not in mapping and "shipping_method" not in mapping


def test_blank_shipping_fields_are_left_out(woocommerce_order: dict[str, Any]) -> None:
    woocommerce_order["shipping"] = {
        "first_name": "",
        "last_name": "Schmidt",
        "company": "",
        "country": "",
        "state": "",
        "postcode": "",
        "city": "",
    }
    assert read(woocommerce_order).orders[0].mapping["ship_to"] == {"name": "Schmidt"}


def test_channel_can_be_renamed(woocommerce_order: dict[str, Any]) -> None:
    assert read(woocommerce_order, channel="wc-de").orders[0].mapping["channel"] == "wc-de"


def test_an_item_without_a_sku_names_the_order_and_the_item(
    woocommerce_order: dict[str, Any],
) -> None:
    woocommerce_order["line_items"][1]["sku"] = ""
    assert problems_of(woocommerce_order) == [
        "wc.json: order '727': line_items[1].sku is missing: the item 'Water bottle' needs a "
        "SKU to reserve stock for: give the product a SKU in WooCommerce (Product data, "
        "Inventory), a virtual one too"
    ]


def test_an_order_without_line_items_is_skipped(woocommerce_order: dict[str, Any]) -> None:
    woocommerce_order["line_items"] = []
    assert read(woocommerce_order).skipped == (Skipped("wc.json", "727", "has no line items"),)


def test_every_problem_is_listed(woocommerce_order: dict[str, Any]) -> None:
    bad = dict(
        woocommerce_order,
        number="",
        total="abc",
        date_created_gmt=None,
        shipping={"country": "Germany"},
        line_items=[{"sku": "X", "quantity": "1.5"}],
    )
    other = dict(woocommerce_order, total="1.00")  # another copy, the same date_modified_gmt
    assert problems_of([woocommerce_order, bad, other]) == [
        "wc.json:[1]: number is required",
        "wc.json:[1]: date_created_gmt is required",
        "wc.json:[1]: total must be a decimal amount such as \"19.99\", got 'abc'",
        "wc.json:[1]: shipping.country must be a two-letter country code such as US or DE, "
        "got 'Germany'",
        "wc.json:[1]: line_items[0].quantity must be a positive integer, got '1.5'",
        "wc.json:[2]: order '727': appears twice in the file (first at wc.json:[0]), "
        "and date_modified_gmt does not say which copy is newer",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shipping": []}, "wc.json: order '727': shipping must be an object or null, got a list"),
        (
            {"shipping_lines": {}},
            "wc.json: order '727': shipping_lines must be a list, got an object",
        ),
        ({"line_items": "many"}, "wc.json: order '727': line_items must be a list, got a string"),
        ({"line_items": [None]}, "wc.json: order '727': line_items[0] must be an object, got null"),
        ({"status": 3}, "wc.json: order '727': status must be a string, got 3"),
        ({"number": True}, "wc.json: number must be a string, got true"),
    ],
)
def test_wrong_types_are_named(
    woocommerce_order: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    woocommerce_order.update(changes)
    assert problems_of(woocommerce_order) == [message]


def test_one_parsed_webhook_payload(woocommerce_order: dict[str, Any]) -> None:
    order = parse_one(woocommerce_order, "delivery 9f2")
    assert not isinstance(order, Skipped)
    assert (order.mapping, order.where) == (EXPECTED_727, "delivery 9f2")
    with pytest.raises(ChannelError, match="delivery 9f2: expected an order object, got a string"):
        parse_one("webhook_id=12", "delivery 9f2")  # WooCommerce's form-encoded ping
