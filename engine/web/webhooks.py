"""Webhook receivers (SPEC §10): Shopify and WooCommerce push orders; dibs applies them by sync.

Each delivery is checked, then applied in one transaction, then answered 200:
1. the signature: base64 HMAC-SHA256 of the raw body with the channel's secret, compared in
   constant time; wrong, missing, or no secret configured -> 401 and nothing written;
2. the topic: order topics are applied, anything else is answered 200 and ignored;
3. the payload: read by the channel's adapter and validated like an imported order; one that
   cannot be mapped -> 400 with the reason, nothing written;
4. the delivery id is recorded (unique key) in the same transaction as the sync, so a
   redelivery, a restart or a second server never applies a delivery twice, and a crash never
   leaves a delivery recorded but not applied (or the reverse).
Allocation follows in the next tick (`dibs serve --rules`, or a separate `dibs run`).

WooCommerce's `order.deleted` (sent when an order is trashed, or deleted for good) carries no
order, only `{"id": N}`, its WooCommerce id: the order of the webhook's channel whose
`attributes.woocommerce_id` is N is cancelled, its stock released (`apply_deleted`).
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from engine.errors import quoted
from engine.io.channels import (
    CANCELLED,
    SHIPPED,
    ChannelError,
    ChannelRead,
    read_shopify_json,
    read_woocommerce_json,
)
from engine.io.channels.containers import BadJson, decode_text, json_value
from engine.io.channels.woocommerce import DEFAULT_CHANNEL as WOOCOMMERCE_CHANNEL
from engine.model import Actor, Length, OrderStatus
from engine.service import Service
from engine.service.release import finish
from engine.service.sync import SyncReport
from engine.service.tx import Tx
from engine.store.deliveries import record_delivery
from engine.store.rows import ids_by_attribute, load_orders
from engine.web.deps import get_service, get_settings
from engine.web.errors import ApiError

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

#: Shopify topic -> what it does (SPEC §10); any other topic is answered 200 and ignored.
SHOPIFY_TOPICS: dict[str, str | None] = {
    "orders/create": None,
    "orders/updated": None,
    "orders/paid": None,
    "orders/edited": None,
    "orders/cancelled": CANCELLED,
    "orders/fulfilled": SHIPPED,
}
#: WooCommerce order topics; the status travels in the order itself (`cancelled`, …).
WOOCOMMERCE_TOPICS: dict[str, str | None] = {
    "order.created": None,
    "order.updated": None,
    "order.restored": None,
}
#: Trashed or deleted in WooCommerce: the body names the order by its WooCommerce id only.
WOOCOMMERCE_DELETED = "order.deleted"
#: The largest WooCommerce id `order.deleted` accepts (a MySQL BIGINT UNSIGNED).
_MAX_WOO_ID = 2**64 - 1

_PING = re.compile(rb"^webhook_id=\d+$")


@dataclass(frozen=True)
class Delivery:
    """One webhook request, authenticated: which channel, topic and delivery it is.

    `status` forces the channel status of its orders (`orders/cancelled` cancels, whatever
    the payload's fields say), None to take the payload's own. `shop`: the `?channel=` the
    webhook's URL names, if any."""

    channel: str
    topic: str
    delivery_id: str | None
    status: str | None = None
    shop: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(f"webhook:{self.channel}")

    def record(self, tx: Tx) -> bool:
        """Record the delivery id; False when it was seen before (a duplicate). Ids are kept
        per shop: a WooCommerce delivery id counts up per site, so two shops' ids meet."""
        if not self.delivery_id:
            return True
        return record_delivery(tx.conn, self.source, self.delivery_id, self.topic, tx.now())

    @property
    def source(self) -> str:
        """Whose delivery ids these are: the platform, and a digest of the channel the URL
        names (the column holds 32 characters; a channel name may have 100)."""
        if self.shop is None:
            return self.channel
        return f"{self.channel}:{hashlib.blake2b(self.shop.encode(), digest_size=8).hexdigest()}"


def signature_valid(secret: str | None, body: bytes, given: str | None) -> bool:
    """base64(HMAC-SHA256(secret, body)) == given, in constant time; False without a secret."""
    if not secret or not given:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), given.strip().encode())


def _authenticate(request: Request, body: bytes, secret: str | None, header: str) -> None:
    if not signature_valid(secret, body, request.headers.get(header)):
        reason = "not configured on this server" if not secret else "missing or wrong"
        raise ApiError(401, f"webhook signature {reason}; nothing was written")


def _ignored_topic(topic: str, header: str) -> dict[str, str]:
    if not topic:
        reason = f"no {header} header (a proxy in between may drop it); nothing applied"
    else:
        reason = f"topic {topic!r} is not an order topic dibs uses"
    return {"status": "ignored", "reason": reason}


def _note(request: Request, topic: str, delivery_id: str | None) -> None:
    """For the request's log line (logs.RequestLog)."""
    request.scope.setdefault("state", {})
    request.scope["state"]["webhook_topic"] = topic or None
    request.scope["state"]["webhook_delivery"] = delivery_id


def _channel(request: Request) -> str | None:
    """`?channel=NAME` on the webhook's URL, trimmed: the channel of its orders, as `orders
    import --channel` names it (None: the platform's name). Any other parameter, or the channel
    twice, is 400: `?chanel=shop-eu` would put the shop's orders in the platform's channel."""
    for name in request.query_params:
        if name != "channel":
            hint = "did you mean 'channel'?" if _close_to_channel(name) else "it takes channel"
            raise ApiError(400, f"unknown query parameter {name[:100]!r}; {hint}", name[:100])
    given = request.query_params.getlist("channel")
    if len(given) > 1:
        raise ApiError(
            400, f"query parameter 'channel' is given {len(given)} times; it takes one", "channel"
        )
    channel = request.query_params.get("channel")
    if channel is None:
        return None
    if not channel.strip():
        raise ApiError(400, "channel: must not be empty (or leave ?channel= out)", "channel")
    if len(channel.strip()) > Length.CHANNEL:
        raise ApiError(
            400, f"channel: {quoted(channel)} is longer than {Length.CHANNEL} characters", "channel"
        )
    return channel.strip()


def _close_to_channel(name: str) -> bool:
    return bool(difflib.get_close_matches(name[:100].lower(), ["channel"], n=1))


def _read(reader: Any, body: bytes, name: str, channel: str | None) -> ChannelRead:
    """The payload's orders, in the webhook's channel (`_channel`)."""
    try:
        read: ChannelRead = reader(body, name, channel)
    except ChannelError as exc:
        raise ApiError(
            400,
            "the payload cannot be mapped to an order; nothing was written",
            field="body",
            problems=[str(p) for p in exc.problems],
        ) from exc
    return read


@router.post("/shopify", summary="Shopify order webhooks (X-Shopify-Hmac-Sha256)")
async def shopify(request: Request) -> dict[str, Any]:
    body = await request.body()
    shop = _channel(request)
    secret = get_settings(request).webhook_secret("shopify", shop)
    _authenticate(request, body, secret, "x-shopify-hmac-sha256")
    topic = request.headers.get("x-shopify-topic", "")
    delivery_id = request.headers.get("x-shopify-webhook-id")
    _note(request, topic, delivery_id)
    if topic not in SHOPIFY_TOPICS:
        return _ignored_topic(topic, "X-Shopify-Topic")
    if topic == "orders/edited" and b'"order_edit"' in body[:200]:
        # An order edit names only the changed lines; Shopify follows it with orders/updated,
        # which carries the whole edited order, and that is what dibs applies.
        return {"status": "ignored", "reason": "order edits are applied from orders/updated"}
    read = _read(read_shopify_json, body, "shopify webhook", shop)
    delivery = Delivery("shopify", topic, delivery_id, SHOPIFY_TOPICS[topic], shop)
    return await run_in_threadpool(apply, get_service(request), delivery, read)


@router.post("/woocommerce", summary="WooCommerce order webhooks (X-WC-Webhook-Signature)")
async def woocommerce(request: Request) -> dict[str, Any]:
    body = await request.body()
    topic = request.headers.get("x-wc-webhook-topic", "")
    if not topic and _PING.match(body.strip()):
        # WooCommerce pings a new webhook with `webhook_id=N`, form-encoded and unsigned;
        # answering 200 lets it be saved. Nothing is read or written.
        return {"status": "ok", "reason": "ping"}
    shop = _channel(request)
    secret = get_settings(request).webhook_secret("woocommerce", shop)
    _authenticate(request, body, secret, "x-wc-webhook-signature")
    delivery_id = request.headers.get("x-wc-webhook-delivery-id")
    _note(request, topic, delivery_id)
    if topic == WOOCOMMERCE_DELETED:
        woo_id, channel = deleted_id(body), shop or WOOCOMMERCE_CHANNEL
        delivery = Delivery("woocommerce", topic, delivery_id, CANCELLED, shop)
        return await run_in_threadpool(
            apply_deleted, get_service(request), delivery, channel, woo_id
        )
    if topic not in WOOCOMMERCE_TOPICS:
        return _ignored_topic(topic, "X-WC-Webhook-Topic")
    read = _read(read_woocommerce_json, body, "woocommerce webhook", shop)
    delivery = Delivery("woocommerce", topic, delivery_id, WOOCOMMERCE_TOPICS[topic], shop)
    return await run_in_threadpool(apply, get_service(request), delivery, read)


# ---- applying a delivery ---------------------------------------------------------------------


def apply(service: Service, delivery: Delivery, read: ChannelRead) -> dict[str, Any]:
    """Apply one delivery in one transaction; a duplicate delivery id does nothing.

    A unique-key race (two servers creating the same new order from two different
    deliveries) rolls the loser back whole; it is then retried, and sees the order."""
    incoming = forced(validated(read, service), delivery.status)
    if not incoming:  # gift cards, digital goods: nothing dibs reserves stock for
        # `[]` or `{"orders": []}` holds no order at all: "nothing to ship" said otherwise.
        why = "the order holds nothing to ship" if read.skipped else "the payload holds no order"
        return {"status": "ignored", "reason": why}
    for attempt in range(3):
        try:
            return service.run(lambda tx: apply_in(tx, delivery, incoming))
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def apply_in(tx: Tx, delivery: Delivery, incoming: list[Any]) -> dict[str, Any]:
    """The delivery inside the caller's transaction: record its id, then sync."""
    if not delivery.record(tx):
        return {"status": "duplicate", "delivery": delivery.delivery_id}
    report = sync_step(tx, incoming, delivery.actor)
    return {"status": "applied", "delivery": delivery.delivery_id, "report": report}


def deleted_id(body: bytes) -> str:
    """The WooCommerce id an `order.deleted` body names, `{"id": N}`, as the decimal text
    `attributes.woocommerce_id` holds; anything else is a 400."""
    found: Any = None
    problems: list[str] = []
    try:  # Decimal for a fraction, never an int of 5,000 digits; never RecursionError
        found = json_value(decode_text(body, "woocommerce webhook"))
    except BadJson as exc:  # where it breaks, as every channel body's error says it
        problems.append(f"woocommerce webhook:{exc.line}:{exc.column}: {exc}")
    except ChannelError as exc:  # not UTF-8
        problems.extend(str(p) for p in exc.problems)
    woo_id = found.get("id") if isinstance(found, dict) else None
    if isinstance(woo_id, str) and woo_id.isascii() and woo_id.isdigit() and len(woo_id) < 21:
        woo_id = int(woo_id)
    if isinstance(woo_id, bool) or not isinstance(woo_id, int) or not 0 < woo_id <= _MAX_WOO_ID:
        raise ApiError(
            400,
            'order.deleted: the body must be {"id": N}, the WooCommerce id of the order '
            "(a whole number above 0); nothing was written",
            field="body.id",
            problems=problems,
        )
    return str(woo_id)


def apply_deleted(
    service: Service, delivery: Delivery, channel: str, woo_id: str
) -> dict[str, Any]:
    """An `order.deleted` delivery in one transaction: cancel the order of `channel` whose
    `attributes.woocommerce_id` is `woo_id` (unknown: ignored, and said; already closed:
    unchanged when cancelled, else a conflict, as sync reports them)."""

    def work(tx: Tx) -> dict[str, Any]:
        if not delivery.record(tx):
            return {"status": "duplicate", "delivery": delivery.delivery_id}
        found = load_orders(tx.conn, ids_by_attribute(tx.conn, channel, "woocommerce_id", woo_id))
        if not found:
            reason = f"no {channel} order has WooCommerce id {woo_id}; nothing applied"
            return {"status": "ignored", "delivery": delivery.delivery_id, "reason": reason}
        report = SyncReport()
        for oid, order in found.items():
            if order.status == OrderStatus.AWAITING_FULFILLMENT:
                finish(tx, [oid], "cancel", delivery.actor)
                report.cancelled.append(oid)
            elif order.status == OrderStatus.CANCELLED:
                report.unchanged.append(oid)
            else:
                reason = f"{order.status} in dibs, the channel deleted it"
                report.conflicts.append({"id": oid, "reason": reason})
        return {"status": "applied", "delivery": delivery.delivery_id, "report": report.as_json()}

    return service.run(work)


def validated(read: ChannelRead, service: Service) -> list[Any]:
    """The payload's orders checked like imported ones (BadInput -> 400, nothing written)."""
    from engine.io.incoming import incoming_from_channel

    return list(incoming_from_channel(read, service.clock(), "webhook"))


def sync_step(tx: Tx, incoming: list[Any], actor: Actor) -> dict[str, Any]:
    """THE connection to sync (SPEC §9): every incoming order, by the sync rules."""
    from engine.service.sync import sync_orders

    report = sync_orders(tx, incoming, actor)
    result: dict[str, Any] = report.as_json()
    return result


def forced(incoming: list[Any], status: str | None) -> list[Any]:
    """The topic's status over the payload's (orders/cancelled, orders/fulfilled)."""
    if status is None:
        return incoming
    return [dataclasses.replace(item, status=status) for item in incoming]
