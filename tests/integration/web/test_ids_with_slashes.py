"""Order ids and SKUs with a `/` (`SO/2026/0001`, common in ERP numbering; `TEE/M`): every
route that names one in its path reaches it, in the API and on the dashboard. They answered 404
`no such endpoint`, because the router decodes `%2F` before matching and a plain path parameter
stops at a slash; the dashboard's own links (`/orders/SO/2026/1`) led nowhere."""

from __future__ import annotations

from urllib.parse import quote

from tests.helpers import snapshot
from tests.integration.web.conftest import Api, error_of, order

OID = "SO/2026/1"


def test_the_api_reaches_an_order_and_a_sku_with_slashes(api: Api) -> None:
    api.stock("TEE/M", 2)
    api.add(order(OID, ("TEE/M", 1)), order("SO/2026/2", ("TEE/M", 1)))
    path = f"/api/v1/orders/{quote(OID, safe='')}"
    assert api.get(path).json()["id"] == OID
    assert api.post("/api/v1/allocate", json={"ids": [OID]}).status_code == 200
    assert api.get(f"{path}/explain").json()["id"] == OID
    assert [h["delta"] for h in api.get(f"{path}/history").json()] == [1]
    patched = api.patch(path, json={"tags": ["vip"]})
    assert patched.status_code == 200 and patched.json()["tags"] == ["vip"]
    assert api.post(f"{path}/ship").json()["status"] == "shipped"
    sku = f"/api/v1/inventory/{quote('TEE/M', safe='')}"
    assert api.post(f"{sku}/receive", json={"qty": 3}).json()["on_hand"] == 4
    assert api.post(f"{sku}/adjust", json={"qty": -1}).json()["on_hand"] == 3
    assert api.put(sku, json={"on_hand": 5}).json()["on_hand"] == 5
    assert api.post("/api/v1/orders/SO%2F2026%2F2/cancel").json()["status"] == "cancelled"


def test_an_id_ending_in_a_route_word_is_reached_with_its_slash_encoded(api: Api) -> None:
    """`A/explain` and `A/history` are legal ids (any string is): `GET /orders/A%2Fexplain`
    answered the explain of order `A` (the router decodes `%2F` before matching, and the
    explain route came first), so the order could not be fetched at all. An encoded slash is
    part of the id; a plain one separates the id from the route's word."""
    api.stock("MUG", 5)
    api.add(
        order("A", ("MUG", 1)),
        order("A/explain", ("MUG", 2)),
        order("A/history", ("MUG", 3)),
        order("50%/explain", ("MUG", 4)),
    )
    assert api.get("/api/v1/orders/A%2Fexplain").json()["id"] == "A/explain"
    assert api.get("/api/v1/orders/A%2fexplain").json()["id"] == "A/explain"
    assert api.get("/api/v1/orders/A%2Fhistory").json()["id"] == "A/history"
    assert api.get("/api/v1/orders/50%25%2Fexplain").json()["id"] == "50%/explain"
    assert api.get("/api/v1/orders/A%2Fexplain/explain").json()["id"] == "A/explain"
    assert api.get("/api/v1/orders/A%2Fhistory/explain").json()["id"] == "A/history"
    assert api.get("/api/v1/orders/A/explain").json()["id"] == "A"  # explain of A
    assert api.get("/api/v1/orders/A%2Fexplain/history").json() == []
    patched = api.patch("/api/v1/orders/A%2Fhistory", json={"tags": ["vip"]})
    assert patched.status_code == 200 and patched.json()["id"] == "A/history"
    tagged = {o["id"]: o["tags"] for o in api.get("/api/v1/orders").json()["orders"]}
    assert tagged == {"A": [], "A/explain": [], "A/history": ["vip"], "50%/explain": []}


def test_an_encoded_slash_never_turns_into_an_action_on_another_order(api: Api) -> None:
    """`POST /orders/A%2Fship` is no action (POST on an order itself is not allowed): it
    shipped order `A`. `POST /inventory/X%2Fadjust` adjusted SKU `X`."""
    api.stock("X", 5)
    api.add(order("A", ("X", 1)), order("A/ship", ("X", 1)))
    before = snapshot(api.store)
    refused = error_of(api.post("/api/v1/orders/A%2Fship"), 405)
    assert "POST is not allowed on /api/v1/orders/A%2Fship;" in refused["message"]
    error_of(api.post("/api/v1/inventory/X%2Fadjust", json={"qty": 1}), 405)
    assert snapshot(api.store) == before
    shipped = api.post("/api/v1/orders/A%2Fship/ship", params={"force": "true"})
    assert shipped.status_code == 200 and shipped.json()["id"] == "A/ship"
    assert api.get("/api/v1/orders/A").json()["status"] == "awaiting_fulfillment"
    sku = api.post("/api/v1/inventory/X%2Fadjust/receive", json={"qty": 2}).json()
    assert (sku["sku"], sku["on_hand"]) == ("X/adjust", 2)
    assert api.get("/api/v1/inventory", params={"sku": "X"}).json()[0]["on_hand"] == 4
