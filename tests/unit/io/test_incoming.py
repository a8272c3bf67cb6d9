"""Reading any order file into `IncomingOrder`s, the edit validators, and sync's pure parts
(content hash, the cheap verdict, FieldChanges). No database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.io.fields import Invalid, attribute_pair, edit_value, tag_text
from engine.io.incoming import IncomingOrder, read_incoming
from engine.model import Line, Order, OrderStatus, ShipTo
from engine.service.edits import FieldChanges, same_content
from engine.service.sync import content_hash, judge
from engine.store.changes import SyncState

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "channels"
NOW = datetime(2026, 3, 10, tzinfo=UTC)


def test_shopify_export_becomes_incoming_orders_with_statuses() -> None:
    read = read_incoming(FIXTURES / "shopify_orders_export.csv", now=NOW)
    assert read.format == "shopify-csv"
    by_id = {i.id: i for i in read.orders}
    assert {k: v.status for k, v in by_id.items()} == {
        "#1001": "awaiting_fulfillment",
        "#1002": "shipped",
        "#1003": "cancelled",
    }
    first = by_id["#1001"]
    assert (first.updated_at, first.sets_warehouse) == (None, False)
    assert first.where.endswith("shopify_orders_export.csv:2")
    assert [s.order for s in read.skipped] == ["#1004"]


def test_json_formats_carry_updated_at_and_the_channel_override() -> None:
    shop = read_incoming(FIXTURES / "shopify_order.json", now=NOW).orders[0]
    assert shop.updated_at == datetime(2026, 3, 2, 16, 40, 12, tzinfo=UTC)
    woo = read_incoming(FIXTURES / "woocommerce_order.json", channel="wc-eu", now=NOW).orders[0]
    assert (woo.id, woo.order.channel, woo.status) == ("727", "wc-eu", "awaiting_fulfillment")


def test_native_files_set_the_warehouse_and_accept_a_channel(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps({"id": "A", "channel": "web", "lines": [{"sku": "M", "qty": 1}]}))
    got = read_incoming(path, channel="b2b", now=NOW)
    assert got.format == "dibs"
    assert (got.orders[0].order.channel, got.orders[0].sets_warehouse) == ("b2b", True)
    assert got.orders[0].order.placed_at == NOW


def test_every_problem_of_a_channel_file_is_listed(tmp_path: Path) -> None:
    order = json.loads((FIXTURES / "shopify_order.json").read_text())
    second = {**order, "name": "#2", "created_at": "soon"}
    second["line_items"] = [{**order["line_items"][0], "quantity": 0}]
    path = tmp_path / "two.json"
    path.write_text(json.dumps([order, second]))
    with pytest.raises(BadInput) as refused:
        read_incoming(path, now=NOW)
    problems = refused.value.problems
    assert any(p.startswith(f"{path}:[1]: order '#2': created_at") for p in problems)
    assert any(f"{path}:[1]: order '#2': line_items[0].quantity" in p for p in problems)
    assert "2 problems, nothing imported" in str(refused.value)


def test_unreadable_and_unrecognised_files_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        read_incoming(tmp_path / "missing.csv")
    odd = tmp_path / "odd.json"
    odd.write_text('{"hello": 1}')
    with pytest.raises(BadInput, match="tried shopify-json"):
        read_incoming(odd)
    with pytest.raises(BadInput, match="unknown format"):
        read_incoming(odd, fmt="amazon")


def test_edit_validators_are_the_importers() -> None:
    assert edit_value("ship_to.country", " de ") == "DE"
    assert edit_value("total", "19.90") == Decimal("19.90")
    assert edit_value("total", "") is None
    assert edit_value("ship_to.state", "  ") is None
    with pytest.raises(Invalid, match="two-letter"):
        edit_value("ship_to.country", "Germany")
    with pytest.raises(Invalid, match="negative"):
        edit_value("total", "-1")
    with pytest.raises(Invalid):
        edit_value("warehouse", " ")
    assert attribute_pair("gift_wrap= yes") == ("gift_wrap", "yes")
    assert attribute_pair("gift_wrap=") == ("gift_wrap", None)
    with pytest.raises(Invalid, match="KEY=VALUE"):
        attribute_pair("=x")
    assert tag_text(" vip ") == "vip"
    with pytest.raises(Invalid):
        tag_text("")


def _order(**kw: object) -> Order:
    base: dict[str, object] = {
        "id": "A",
        "channel": "shopify",
        "placed_at": NOW,
        "lines": (Line("M", 2, reserved=1),),
    }
    return Order(**{**base, **kw})  # type: ignore[arg-type]


def test_field_changes_make_the_order_they_describe() -> None:
    order = _order(ship_to=ShipTo(name="Ada", city="Paris"), attributes={"a": "1", "b": "2"})
    changed = FieldChanges(
        {"ship_to.city": "Lyon", "warehouse": "east", "total": Decimal("5")},
        {"a": None, "c": "3"},
        [("M", 3)],
    ).apply(order)
    assert changed.ship_to == ShipTo(name="Ada", city="Lyon")
    assert (changed.warehouse, changed.total) == ("east", Decimal("5"))
    assert changed.attributes == {"b": "2", "c": "3"}
    assert [(x.sku, x.qty) for x in changed.lines] == [("M", 3)]
    assert not FieldChanges() and FieldChanges(lines=[("M", 1)])
    assert same_content(order, FieldChanges({"ship_to.city": "Paris"}).apply(order))
    assert not same_content(order, changed)


def test_the_hash_sees_every_mapped_field_and_the_status() -> None:
    base = IncomingOrder(_order(), sets_warehouse=False)
    digest = content_hash(base)
    assert content_hash(IncomingOrder(_order(), sets_warehouse=False)) == digest
    assert content_hash(IncomingOrder(_order(total=Decimal("1.50")))) == content_hash(
        IncomingOrder(_order(total=Decimal("1.5000")))
    )
    variants = [
        IncomingOrder(_order(), OrderStatus.CANCELLED, sets_warehouse=False),
        IncomingOrder(_order(tags=frozenset({"x"})), sets_warehouse=False),
        IncomingOrder(_order(lines=(Line("M", 3),)), sets_warehouse=False),
        IncomingOrder(_order(ship_to=ShipTo(postal_code="1")), sets_warehouse=False),
        IncomingOrder(_order(attributes={"k": 1}), sets_warehouse=False),
        IncomingOrder(_order(), sets_warehouse=True),
    ]
    assert len({digest, *(content_hash(v) for v in variants)}) == len(variants) + 1
    # The warehouse counts only when the format sets it.
    assert content_hash(IncomingOrder(_order(warehouse="east"), sets_warehouse=False)) == digest


def test_the_cheap_verdict() -> None:
    seen = NOW + timedelta(hours=1)
    item = IncomingOrder(_order(), updated_at=seen, sets_warehouse=False)
    digest = content_hash(item)
    awaiting = OrderStatus.AWAITING_FULFILLMENT
    assert judge(SyncState(awaiting, digest, seen), item, digest) == "unchanged"
    assert judge(SyncState(awaiting, digest, seen + timedelta(1)), item, digest) == "stale"
    assert judge(SyncState(awaiting, "other", None), item, digest) == "check"
    # Cancelled in dibs since: the same copy must be judged (it is a conflict), not skipped.
    assert judge(SyncState(OrderStatus.CANCELLED, digest, seen), item, digest) == "check"
    no_time = IncomingOrder(_order(), sets_warehouse=False)
    assert judge(SyncState(awaiting, "other", seen), no_time, content_hash(no_time)) == "check"
