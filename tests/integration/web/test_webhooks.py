"""Webhook receivers (SPEC §10): signatures, topics, dedup in the database, sync of deliveries."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.io.channels import read_shopify_json
from engine.store import events, webhook_deliveries
from engine.web.webhooks import Delivery, apply
from tests.helpers import snapshot
from tests.integration.web.conftest import AUTH, SHOPIFY_SECRET, WOO_SECRET, Api, error_of

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "channels"
SHOPIFY = json.loads((FIXTURES / "shopify_order.json").read_text())
WOO = json.loads((FIXTURES / "woocommerce_order.json").read_text())


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify(
    api: Api,
    payload: Any,
    topic: str = "orders/create",
    delivery: str = "d-1",
    signature: str | None = None,
    query: str = "",
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery,
        "X-Shopify-Hmac-Sha256": signature if signature is not None else sign(SHOPIFY_SECRET, body),
        "Content-Type": "application/json",
    }
    return api.client.post(f"/webhooks/shopify{query}", content=body, headers=headers)


def woo(
    api: Api, payload: Any, topic: str = "order.created", delivery: str = "w-1", query: str = ""
) -> Any:
    body = json.dumps(payload).encode()
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": sign(WOO_SECRET, body),
        "Content-Type": "application/json",
    }
    return api.client.post(f"/webhooks/woocommerce{query}", content=body, headers=headers)


def _event_types(api: Api) -> list[str]:
    with api.store.read() as conn:
        return [r.type for r in conn.execute(select(events.c.type).order_by(events.c.id))]


def test_a_signed_order_is_created_then_a_redelivery_is_ignored(api: Api) -> None:
    answer = shopify(api, SHOPIFY)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "applied"
    assert answer.json()["report"]["created"] == ["#1001"]
    doc = api.get("/api/v1/orders/%231001").json()
    assert doc["channel"] == "shopify" and doc["attributes"]["shopify_id"] == "5678901234567"
    assert _event_types(api) == ["order.created"]
    before = snapshot(api.store)
    again = shopify(api, SHOPIFY)
    assert again.json() == {"status": "duplicate", "delivery": "d-1"}
    assert snapshot(api.store) == before


def test_the_same_order_in_a_new_delivery_is_unchanged(api: Api) -> None:
    shopify(api, SHOPIFY, delivery="d-1")
    answer = shopify(api, SHOPIFY, topic="orders/paid", delivery="d-2")
    assert answer.json()["report"]["unchanged"] == ["#1001"]
    assert _event_types(api) == ["order.created"]


@pytest.mark.parametrize("signature", ["", "bm90IGl0", sign("another secret", b"{}")])
def test_a_forged_or_missing_signature_is_401_and_writes_nothing(api: Api, signature: str) -> None:
    before = snapshot(api.store)
    error = error_of(shopify(api, SHOPIFY, signature=signature), 401)
    assert error["code"] == "unauthorized"
    body = json.dumps(SHOPIFY).encode()
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "x"}
    error_of(api.client.post("/webhooks/shopify", content=body, headers=headers), 401)
    assert snapshot(api.store) == before


def test_a_tampered_body_is_401(api: Api) -> None:
    body = json.dumps(SHOPIFY).encode()
    tampered = body.replace(b'"quantity": 2', b'"quantity": 9')
    assert tampered != body
    before = snapshot(api.store)
    error_of(shopify(api, tampered, signature=sign(SHOPIFY_SECRET, body)), 401)
    assert snapshot(api.store) == before


def test_no_secret_configured_refuses_every_delivery(store: Any) -> None:
    from fastapi.testclient import TestClient

    from engine.service import Service
    from engine.web.app import create_app
    from tests.integration.web.conftest import settings

    service = Service(store)
    with TestClient(create_app(service, settings(shopify_secret=None))) as client:
        body = b"{}"
        headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign("", body)}
        answer = client.post("/webhooks/shopify", content=body, headers=headers)
    assert answer.status_code == 401 and "not configured" in answer.json()["error"]["message"]


def test_cancelled_and_fulfilled_topics(api: Api) -> None:
    api.put("/api/v1/inventory/MUG-12OZ", json={"on_hand": 10})
    api.put("/api/v1/inventory/BLANKET-GRY", json={"on_hand": 10})
    shopify(api, SHOPIFY, delivery="d-1")
    api.post("/api/v1/allocate", json={"all": True})
    assert api.get("/api/v1/inventory?sku=MUG-12OZ").json()[0]["allocated"] == 3
    # orders/cancelled cancels even when the payload's own fields do not say so yet.
    answer = shopify(api, SHOPIFY, topic="orders/cancelled", delivery="d-2")
    assert answer.json()["report"]["cancelled"] == ["#1001"]
    doc = api.get("/api/v1/orders/%231001").json()
    assert (doc["status"], doc["allocation_status"]) == ("cancelled", "unallocated")
    assert api.get("/api/v1/inventory?sku=MUG-12OZ").json()[0]["allocated"] == 0
    second = {**copy.deepcopy(SHOPIFY), "name": "#1002", "id": 99}
    shopify(api, second, delivery="d-3")
    answer = shopify(api, second, topic="orders/fulfilled", delivery="d-4")
    assert answer.json()["report"]["shipped"] == ["#1002"]
    assert api.get("/api/v1/inventory?sku=MUG-12OZ").json()[0]["on_hand"] == 7


def test_an_update_changes_the_order(api: Api) -> None:
    shopify(api, SHOPIFY, delivery="d-1")
    changed = copy.deepcopy(SHOPIFY)
    changed["line_items"][0]["quantity"] = 5
    changed["updated_at"] = "2026-03-02T12:00:00-05:00"
    answer = shopify(api, changed, topic="orders/updated", delivery="d-2")
    assert answer.json()["report"]["updated"] == ["#1001"]
    lines = api.get("/api/v1/orders/%231001").json()["lines"]
    assert lines[0] == {"sku": "MUG-12OZ", "qty": 5, "reserved": 0, "warehouses": {}}


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("customers/create", {"id": 1, "email": "a@example.com"}),
        ("orders/edited", {"order_edit": {"id": 1, "order_id": 5678901234567}}),
        ("orders/create", {**SHOPIFY, "line_items": [{**SHOPIFY["line_items"][2]}]}),
    ],
)
def test_other_topics_edits_and_nothing_to_ship_are_200_and_ignored(
    api: Api, topic: str, payload: Any
) -> None:
    before = snapshot(api.store)
    answer = shopify(api, payload, topic=topic)
    assert answer.status_code == 200 and answer.json()["status"] == "ignored", answer.text
    assert snapshot(api.store) == before


@pytest.mark.parametrize(
    "payload",
    [
        b"not json at all",
        {**SHOPIFY, "line_items": [{"quantity": 1, "requires_shipping": True, "title": "Mug"}]},
        {**SHOPIFY, "created_at": "yesterday"},
        [1, 2],
    ],
)
def test_an_unmappable_payload_is_400_and_not_recorded(api: Api, payload: Any) -> None:
    before = snapshot(api.store)
    error = error_of(shopify(api, payload), 400)
    assert error["code"] == "bad_input" and error["message"]
    assert snapshot(api.store) == before  # the delivery id is not recorded either
    assert shopify(api, SHOPIFY).json()["status"] == "applied"  # a fixed redelivery applies


def test_woocommerce_ping_order_dedup_and_cancel(api: Api) -> None:
    before = snapshot(api.store)
    ping = api.client.post(
        "/webhooks/woocommerce",
        content=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ping.status_code == 200
    assert snapshot(api.store) == before
    created = woo(api, WOO)
    assert created.json()["report"]["created"] == ["727"], created.text
    assert woo(api, WOO).json()["status"] == "duplicate"
    cancelled = {**WOO, "status": "cancelled", "date_modified_gmt": "2026-03-03T10:00:00"}
    answer = woo(api, cancelled, topic="order.updated", delivery="w-2")
    assert answer.json()["report"]["cancelled"] == ["727"]
    assert woo(api, WOO, topic="coupon.created", delivery="w-3").json()["status"] == "ignored"
    forged = api.client.post(
        "/webhooks/woocommerce",
        content=json.dumps(WOO).encode(),
        headers={"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Signature": "AAAA"},
    )
    assert error_of(forged, 401)["code"] == "unauthorized"


def test_one_delivery_applied_from_many_threads_at_once_creates_the_order_once(
    api: Api,
) -> None:
    read = read_shopify_json(json.dumps(SHOPIFY).encode(), "webhook", None)
    delivery = Delivery("shopify", "orders/create", "same-delivery")
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            outcomes.append(apply(api.service, delivery, read)["status"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 5
    assert _event_types(api) == ["order.created"]
    with api.store.read() as conn:
        assert len(conn.execute(select(webhook_deliveries)).all()) == 1


def test_the_request_log_names_topic_and_delivery_but_no_secret(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="dibs.access"):
        shopify(api, SHOPIFY, delivery="log-1")
        api.get("/api/v1/orders")
    lines = [r for r in caplog.records if r.name == "dibs.access"]
    hook = next(r for r in lines if getattr(r, "path", "") == "/webhooks/shopify")
    assert (hook.topic, hook.delivery, hook.status) == ("orders/create", "log-1", 200)  # type: ignore[attr-defined]
    # The text format's line says them too (it stopped at the duration).
    assert hook.getMessage().endswith(" ms from testclient topic orders/create delivery log-1")
    text = caplog.text + " ".join(str(vars(r)) for r in lines)
    assert SHOPIFY_SECRET not in text and "s3cret-token" not in text
    assert sign(SHOPIFY_SECRET, json.dumps(SHOPIFY).encode()) not in text


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            {**SHOPIFY, "line_items": [{**SHOPIFY["line_items"][2]}]},
            "the order holds nothing to ship",
        ),
        ([], "the payload holds no order"),
        ({"orders": []}, "the payload holds no order"),
    ],
)
def test_an_ignored_delivery_says_why(api: Api, payload: Any, reason: str) -> None:
    """An empty array was answered "the order holds nothing to ship": there was no order."""
    answer = shopify(api, payload)
    assert answer.json() == {"status": "ignored", "reason": reason}, answer.text


def test_a_delivery_without_a_topic_header_says_so(api: Api) -> None:
    """A proxy that drops the topic header left the log with `topic '' is not an order topic
    dibs uses`, which reads like a Shopify setting; the answer names the missing header."""
    before = snapshot(api.store)
    answer = shopify(api, SHOPIFY, topic="")
    assert answer.status_code == 200 and answer.json() == {
        "status": "ignored",
        "reason": "no X-Shopify-Topic header (a proxy in between may drop it); nothing applied",
    }
    body = json.dumps(WOO).encode()
    headers = {"X-WC-Webhook-Signature": sign(WOO_SECRET, body), "Content-Type": "application/json"}
    answer = api.client.post("/webhooks/woocommerce", content=body, headers=headers)
    assert answer.json()["reason"].startswith("no X-WC-Webhook-Topic header")
    assert snapshot(api.store) == before


def test_a_channel_named_on_the_webhook_url_is_the_orders_channel(api: Api) -> None:
    """Orders imported with `--channel shop-eu` changed to `shopify` at their first webhook
    (an `updated` that rewrote the channel); `?channel=` on the URL names it as --channel does."""
    answer = shopify(api, SHOPIFY, query="?channel=shop-eu")
    assert answer.json()["report"]["created"] == ["#1001"], answer.text
    assert api.get("/api/v1/orders/%231001").json()["channel"] == "shop-eu"
    again = shopify(api, SHOPIFY, topic="orders/updated", delivery="d-2", query="?channel=shop-eu")
    assert again.json()["report"]["unchanged"] == ["#1001"]
    assert woo(api, WOO, query="?channel=wc-eu").json()["report"]["created"] == ["727"]
    assert api.get("/api/v1/orders/727").json()["channel"] == "wc-eu"
    before = snapshot(api.store)
    blank = error_of(shopify(api, SHOPIFY, delivery="d-3", query="?channel=%20"), 400)
    assert (blank["field"], blank["message"].split(" (")[0]) == (
        "channel",
        "channel: must not be empty",
    )
    assert snapshot(api.store) == before


def test_a_trashed_woocommerce_order_is_cancelled_and_its_stock_released(api: Api) -> None:
    """WooCommerce sends `order.deleted` with only `{"id": N}` when an order goes to the trash:
    the order of that channel with `attributes.woocommerce_id` N is cancelled, its stock freed."""
    for sku in ("SOCK-TRAIL-L", "BOTTLE-750"):
        api.put(f"/api/v1/inventory/{sku}", json={"on_hand": 10})
    assert woo(api, WOO, query="?channel=wc-eu").json()["report"]["created"] == ["727"]
    api.post("/api/v1/allocate", json={"all": True})
    assert api.get("/api/v1/inventory?sku=SOCK-TRAIL-L").json()[0]["allocated"] == 2
    elsewhere = woo(api, {"id": 727}, topic="order.deleted", delivery="w-2")  # not wc-eu's
    assert elsewhere.json()["status"] == "ignored", elsewhere.text
    assert "no woocommerce order has WooCommerce id 727" in elsewhere.json()["reason"]
    answer = woo(api, {"id": 727}, topic="order.deleted", delivery="w-3", query="?channel=wc-eu")
    assert answer.status_code == 200, answer.text
    assert answer.json()["report"]["cancelled"] == ["727"]
    doc = api.get("/api/v1/orders/727").json()
    assert (doc["status"], doc["allocation_status"]) == ("cancelled", "unallocated")
    assert api.get("/api/v1/inventory?sku=SOCK-TRAIL-L").json()[0]["allocated"] == 0
    assert "order.cancelled" in _event_types(api)
    again = woo(api, {"id": "727"}, topic="order.deleted", delivery="w-4", query="?channel=wc-eu")
    assert again.json()["report"]["unchanged"] == ["727"]
    redelivered = woo(
        api, {"id": 727}, topic="order.deleted", delivery="w-3", query="?channel=wc-eu"
    )
    assert redelivered.json() == {"status": "duplicate", "delivery": "w-3"}


def test_a_woocommerce_order_shipped_in_dibs_then_deleted_is_a_conflict(api: Api) -> None:
    woo(api, WOO)
    api.post("/api/v1/orders/727/ship")
    answer = woo(api, {"id": 727}, topic="order.deleted", delivery="w-2")
    assert answer.json()["report"]["conflicts"] == [
        {"id": "727", "reason": "shipped in dibs, the channel deleted it"}
    ]
    assert api.get("/api/v1/orders/727").json()["status"] == "shipped"


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[727]", b'{"id": 0}', b'{"id": -3}', b'{"id": true}', b'{"id": 1.5}',
     b'{"id": "12a"}', b'{"number": "727"}', b'{"id": 1' + b"0" * 30 + b"}",
     b'{"id": ' + b"9" * 5000 + b"}", b"[" * 100_000],
)  # fmt: skip
def test_an_order_deleted_body_that_names_no_order_is_400_and_writes_nothing(
    api: Api, body: bytes
) -> None:
    woo(api, WOO)
    before = snapshot(api.store)
    headers = {
        "X-WC-Webhook-Topic": "order.deleted",
        "X-WC-Webhook-Delivery-ID": "w-9",
        "X-WC-Webhook-Signature": sign(WOO_SECRET, body),
        "Content-Type": "application/json",
    }
    answer = api.client.post("/webhooks/woocommerce", content=body, headers=headers)
    problem = error_of(answer, 400)
    assert problem["field"] == "body.id" and 'must be {"id": N}' in problem["message"]
    assert snapshot(api.store) == before


def test_two_shops_each_sign_with_their_own_secret(store: Any) -> None:
    """Two Shopify stores deliver to one dibs, each to its own channel (`?channel=`), each
    signing with its own secret; neither can deliver into the other's channel."""
    from fastapi.testclient import TestClient

    from engine.service import Service
    from engine.web.app import create_app
    from tests.integration.web.conftest import settings

    own = {("shopify", "SHOP_EU"): "eu-secret", ("woocommerce", "WC_EU"): "wc-secret"}
    with TestClient(create_app(Service(store), settings(channel_secrets=own))) as client:
        api = Api(client, Service(store))

        def send(
            query: str, secret: str, delivery: str, platform: str = "shopify", name: str = "#1001"
        ) -> Any:
            payload = {**SHOPIFY, "name": name} if platform == "shopify" else WOO
            body = json.dumps(payload).encode()
            signed = sign(secret, body)
            shop = {
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Webhook-Id": delivery,
                "X-Shopify-Hmac-Sha256": signed,
            }
            wc = {
                "X-WC-Webhook-Topic": "order.created",
                "X-WC-Webhook-Delivery-ID": delivery,
                "X-WC-Webhook-Signature": signed,
            }
            headers = {"Content-Type": "application/json"}
            headers.update(shop if platform == "shopify" else wc)
            return client.post(f"/webhooks/{platform}{query}", content=body, headers=headers)

        before = snapshot(store)
        error_of(send("?channel=shop-eu", SHOPIFY_SECRET, "d-1"), 401)  # the generic secret
        error_of(send("", "eu-secret", "d-2"), 401)  # the EU secret outside its channel
        error_of(send("?channel=wc-eu", WOO_SECRET, "w-1", "woocommerce"), 401)
        assert snapshot(store) == before
        assert send("?channel=shop-eu", "eu-secret", "d-3").json()["report"]["created"] == ["#1001"]
        # A shop without a secret of its own signs with the generic one (each store its own
        # order-number prefix: dibs knows an order by its name).
        us = send("?channel=shop-us", SHOPIFY_SECRET, "d-4", name="US1001")
        assert us.json()["report"]["created"] == ["US1001"], us.text
        woo_eu = send("?channel=wc-eu", "wc-secret", "w-2", "woocommerce")
        assert woo_eu.json()["report"]["created"] == ["727"], woo_eu.text
        assert api.client.get("/api/v1/orders/727", headers=AUTH).json()["channel"] == "wc-eu"


def test_two_woocommerce_shops_delivery_ids_do_not_meet(api: Api) -> None:
    """A WooCommerce delivery id counts up per site: shop A's delivery 1 is not shop B's."""
    assert woo(api, WOO, delivery="1", query="?channel=wc-eu").json()["report"]["created"] == [
        "727"
    ]
    other = {**WOO, "id": 9, "number": "US-9"}
    second = woo(api, other, delivery="1", query="?channel=wc-us")
    assert second.json()["report"]["created"] == ["US-9"], second.text
    again = woo(api, other, delivery="1", query="?channel=wc-us")
    assert again.json() == {"status": "duplicate", "delivery": "1"}


def test_a_long_or_padded_channel_on_the_url_is_taken_as_orders_take_it(api: Api) -> None:
    """The delivery ids of a channel named on the URL are kept under a digest of its name (the
    column holds 32 characters; PostgreSQL refused a longer key with a 500), the name trimmed
    as `--channel` is, and one longer than a channel may be is a 400 before anything is read."""
    shop = "woocommerce-europe-main-store-" + "x" * 40  # 70 characters
    created = woo(api, WOO, delivery="1", query=f"?channel={shop}")
    assert created.json()["report"]["created"] == ["727"], created.text
    assert woo(api, WOO, delivery="1", query=f"?channel={shop}").json()["status"] == "duplicate"
    padded = woo(api, {"id": 727}, topic="order.deleted", delivery="2", query=f"?channel=%20{shop}")
    assert padded.json()["report"]["cancelled"] == ["727"], padded.text
    before = snapshot(api.store)
    for topic, payload in (("order.created", WOO), ("order.deleted", {"id": 727})):
        answer = woo(api, payload, topic=topic, delivery="3", query="?channel=" + "y" * 101)
        assert error_of(answer, 400)["field"] == "channel"
    assert snapshot(api.store) == before


def test_a_body_that_is_not_json_is_400_at_its_line_and_column(api: Api) -> None:
    """As every dibs error names a place: the line and column of the body, not an offset."""
    body = b'{"name": "#1001",\n  "line_items": [}'
    error = error_of(shopify(api, body), 400)
    assert error["problems"] == ["shopify webhook:2:18: is not valid JSON: Expecting value"]
    before = snapshot(api.store)
    wc = api.client.post(
        "/webhooks/woocommerce",
        content=body,
        headers={
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Delivery-ID": "w-9",
            "X-WC-Webhook-Signature": sign(WOO_SECRET, body),
            "Content-Type": "application/json",
        },
    )
    assert error_of(wc, 400)["problems"] == [
        "woocommerce webhook:2:18: is not valid JSON: Expecting value"
    ]
    assert snapshot(api.store) == before


def test_an_order_deleted_body_that_is_not_json_names_its_line_and_column(api: Api) -> None:
    body = b'{"id":\n 72 7}'
    headers = {
        "X-WC-Webhook-Topic": "order.deleted",
        "X-WC-Webhook-Delivery-ID": "w-9",
        "X-WC-Webhook-Signature": sign(WOO_SECRET, body),
        "Content-Type": "application/json",
    }
    answer = api.client.post("/webhooks/woocommerce", content=body, headers=headers)
    assert error_of(answer, 400)["problems"] == [
        "woocommerce webhook:2:5: is not valid JSON: Expecting ',' delimiter"
    ]


def test_a_second_shops_order_of_the_same_number_never_rewrites_the_first_shops(
    api: Api,
) -> None:
    """Two Shopify stores both start at #1001: the second store's delivery (its own channel,
    signed as that channel) is a conflict, and the first store's order stays as it was."""
    assert shopify(api, SHOPIFY).json()["report"]["created"] == ["#1001"]
    before = snapshot(api.store)
    other = {**SHOPIFY, "id": 42, "shipping_address": {"name": "Zed", "country_code": "DE"}}
    answer = shopify(api, other, delivery="eu-1", query="?channel=shop-eu")
    assert answer.status_code == 200, answer.text
    report = answer.json()["report"]
    assert report["updated"] == [] and [c["id"] for c in report["conflicts"]] == ["#1001"]
    assert "channel 'shopify' in dibs" in report["conflicts"][0]["reason"]
    kept = api.get("/api/v1/orders/%231001").json()
    assert (kept["channel"], kept["ship_to"]["country"]) == ("shopify", "US")
    after = snapshot(api.store)
    assert {k: v for k, v in after.items() if k != "webhook_deliveries"} == {
        k: v for k, v in before.items() if k != "webhook_deliveries"
    }


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("?chanel=shop-eu", "unknown query parameter 'chanel'; did you mean 'channel'?"),
        ("?channel=shop-eu&channel=shop-us", "query parameter 'channel' is given 2 times"),
    ],
)
def test_a_mistyped_or_repeated_channel_on_the_url_is_400_not_another_channel(
    api: Api, query: str, says: str
) -> None:
    """`?chanel=shop-eu` put the orders in channel `shopify`, `?channel=a&channel=b` in `b`:
    silently, so the shop's later deliveries met orders of the wrong channel."""
    before = snapshot(api.store)
    for platform in ("shopify", "woocommerce"):
        send = shopify if platform == "shopify" else woo
        error = error_of(send(api, SHOPIFY if platform == "shopify" else WOO, query=query), 400)
        assert error["message"].startswith(says), error
    assert snapshot(api.store) == before
