"""A channel file holding several copies of one order (a log of webhook bodies: the order's
`orders/create`, then its `orders/updated`): the newest copy by the channel's own change time is
the order; copies that cannot be told apart by it are refused, naming both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.io.channels import ChannelError, read_shopify_json, read_woocommerce_json


def shopify(qty: int, updated_at: str | None, name: str = "#1005") -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 5001,
        "name": name,
        "created_at": "2026-12-01T09:15:00-05:00",
        "line_items": [{"sku": "SOCK-L", "quantity": qty, "requires_shipping": True}],
    }
    if updated_at is not None:
        order["updated_at"] = updated_at
    return order


def log(*orders: dict[str, Any]) -> str:
    return "".join(json.dumps(o) + "\n" for o in orders)


def test_a_webhook_log_takes_the_newest_copy_of_each_order() -> None:
    data = log(
        shopify(1, "2026-12-01T09:16:00-05:00"),
        shopify(1, "2026-12-01T09:17:00-05:00", name="#1006"),
        shopify(3, "2026-12-01T10:00:00-05:00"),
        shopify(2, "2026-12-01T09:30:00-05:00"),  # an older copy logged late
    )
    read = read_shopify_json(data, "hooks.jsonl")
    assert [(o.id, o.where, o.mapping["lines"][0]["qty"]) for o in read.orders] == [
        ("#1005", "hooks.jsonl:3", 3),
        ("#1006", "hooks.jsonl:2", 1),
    ]
    assert read.orders[0].updated_at == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_woocommerce_copies_are_told_apart_by_date_modified_gmt() -> None:
    def woo(status: str, modified: str) -> dict[str, Any]:
        return {
            "id": 727,
            "number": "727",
            "status": status,
            "date_created_gmt": "2026-12-01T10:00:00",
            "date_modified_gmt": modified,
            "line_items": [{"sku": "MUG", "quantity": 1}],
        }

    data = log(woo("processing", "2026-12-01T10:00:00"), woo("completed", "2026-12-02T08:00:00"))
    [order] = read_woocommerce_json(data, "wc.jsonl").orders
    assert (order.status, order.where) == ("shipped", "wc.jsonl:2")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (None, None),  # no change time to tell which is newer
        ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z"),  # the same time, another content
        ("2026-12-01T10:00:00Z", None),
    ],
)
def test_copies_that_cannot_be_told_apart_are_refused(
    first: str | None, second: str | None
) -> None:
    data = log(shopify(1, first), shopify(2, second))
    with pytest.raises(ChannelError) as caught:
        read_shopify_json(data, "hooks.jsonl")
    assert [str(p) for p in caught.value.problems] == [
        "hooks.jsonl:2: order '#1005': appears twice in the file (first at hooks.jsonl:1), "
        "and updated_at does not say which copy is newer"
    ]


def test_the_same_copy_twice_is_one_order() -> None:
    same = shopify(1, "2026-12-01T10:00:00Z")
    [order] = read_shopify_json(log(same, same), "hooks.jsonl").orders
    assert order.where == "hooks.jsonl:1"
