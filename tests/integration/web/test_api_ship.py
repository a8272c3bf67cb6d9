"""`POST /orders/{id}/ship` of an order that is not fully allocated, on SQLite and PostgreSQL:
as `dibs orders ship`, it does not take units other orders hold unless asked (`?force=true`)."""

from __future__ import annotations

import pytest

from tests.helpers import snapshot
from tests.integration.web.conftest import Api, error_of, order


def test_a_ship_that_would_overallocate_others_is_409_unless_forced(api: Api) -> None:
    api.stock("ZED", 2)
    api.add(order("Z1", ("ZED", 2)), order("Z2", ("ZED", 2)))
    assert api.post("/api/v1/allocate", json={"ids": ["Z1"]}).status_code == 200
    before = snapshot(api.store)
    error = error_of(api.post("/api/v1/orders/Z2/ship"), 409)
    assert error["message"].startswith(
        "shipping Z2 takes stock reserved by other orders: Z1 would lose cover"
    ), error
    assert "?force=true" in error["message"]
    assert snapshot(api.store) == before  # nothing shipped, Z1 still covered

    forced = api.post("/api/v1/orders/Z2/ship?force=true")
    assert forced.status_code == 200 and forced.json()["status"] == "shipped"
    assert api.get("/api/v1/orders/Z1").json()["allocation_status"] == "overallocated"


def test_an_allocated_order_ships_without_the_question(api: Api) -> None:
    api.stock("ZED", 2)
    api.add(order("Z1", ("ZED", 2)))
    assert api.post("/api/v1/allocate", json={"ids": ["Z1"]}).status_code == 200
    assert api.post("/api/v1/orders/Z1/ship").json()["status"] == "shipped"
    assert error_of(api.post("/api/v1/orders/NOPE/ship"), 404)["code"] == "not_found"


@pytest.mark.parametrize("action", ["ship", "cancel", "dropship", "split", "deallocate"])
def test_an_action_that_takes_no_body_refuses_one_and_does_nothing(lite: Api, action: str) -> None:
    """A partial shipment sent as `{"lines": …}` would have shipped the whole order."""
    lite.stock("ZED", 1)
    lite.add(order("Z1", ("ZED", 2)))
    assert lite.post("/api/v1/allocate", json={"ids": ["Z1"]}).status_code == 200
    before = snapshot(lite.store)
    for body in ('{"lines": [{"sku": "ZED", "qty": 1}]}', '{"force": true}', "[]", "ship it"):
        answer = lite.post(
            f"/api/v1/orders/Z1/{action}",
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        error = error_of(answer, 400)
        assert error["field"] == "body" and error["message"].startswith(f"{action} takes no body")
        assert snapshot(lite.store) == before
    for body in ("", "{}", "null", " {} "):
        answer = lite.post(
            f"/api/v1/orders/Z1/{action}",
            content=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code in (200, 409), answer.text  # taken, not refused for its body
        if answer.status_code == 200:
            break
