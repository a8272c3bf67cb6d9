"""Order ids and SKUs with a `/` (`SO/2026/0001`, common in ERP numbering; `TEE/M`): every
route that names one in its path reaches it, in the API and on the dashboard. They answered 404
`no such endpoint`, because the router decodes `%2F` before matching and a plain path parameter
stops at a slash; the dashboard's own links (`/orders/SO/2026/1`) led nowhere."""

from __future__ import annotations

from urllib.parse import quote

from tests.integration.web.conftest import Api, order

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
