"""GET/POST/PATCH /api/v1/orders and the per-order operations, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.helpers import snapshot
from tests.integration.web.conftest import AUTH, Api, error_of, order


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [o["id"] for o in answer.json()["orders"]]


def _walk(api: Api, query: str, limit: int) -> list[str]:
    """Every page of a listing, following `next` until it is null."""
    seen: list[str] = []
    url = f"/api/v1/orders?limit={limit}&{query}"
    while True:
        body = api.get(url).json()
        seen.extend(o["id"] for o in body["orders"])
        assert len(body["orders"]) <= limit
        if body["next"] is None:
            return seen
        url = f"/api/v1/orders?limit={limit}&{query}&cursor={body['next']}"


def test_list_is_fifo_with_whole_orders_in_the_cli_shape(api: Api) -> None:
    api.add(
        order("B", ("MUG", 1), placed_at="2026-01-02T00:00:00Z"),
        order("A", ("MUG", 2), placed_at="2026-01-01T00:00:00Z", tags=["vip"]),
    )
    body = api.get("/api/v1/orders").json()
    assert [o["id"] for o in body["orders"]] == ["A", "B"]
    assert body["next"] is None
    first = body["orders"][0]
    assert first["lines"] == [{"sku": "MUG", "qty": 2, "reserved": 0, "warehouses": {}}]
    assert first["tags"] == ["vip"] and first["placed_at"] == "2026-01-01T00:00:00Z"
    assert first == api.get("/api/v1/orders/A").json()  # the same serializer as show


def test_pages_walk_every_order_once_in_any_order_by(api: Api) -> None:
    methods = ["ground", None, "overnight", None, "two_day"]
    api.add(
        *[
            order(
                f"O{n:02}",
                ("MUG", 1 + n % 3),
                placed_at=f"2026-01-{1 + n % 4:02}T00:00:00Z",
                **({"shipping_method": methods[n % 5]} if methods[n % 5] else {}),
                **({"total": str(n % 6)} if n % 7 else {}),
            )
            for n in range(23)
        ]
    )
    everything = _ids(api.get("/api/v1/orders?limit=500"))
    assert len(everything) == 23
    for order_by in (
        "",
        "order_by=id desc",
        "order_by=shipping_method, placed_at desc",
        "order_by=total desc",
        "order_by=age",
        "order_by=unit_count desc, id",
    ):
        full = _ids(api.get(f"/api/v1/orders?limit=500&{order_by}"))
        assert _walk(api, order_by, 4) == full, order_by
        assert sorted(full) == sorted(everything)


def test_orders_added_between_pages_do_not_shift_the_next_page(api: Api) -> None:
    api.add(
        *[order(f"O{n}", ("MUG", 1), placed_at=f"2026-01-0{n + 2}T00:00:00Z") for n in range(4)]
    )
    first = api.get("/api/v1/orders?limit=2").json()
    api.add(order("EARLY", ("MUG", 1), placed_at="2025-12-01T00:00:00Z"))
    second = api.get(f"/api/v1/orders?limit=2&cursor={first['next']}").json()
    assert [o["id"] for o in second["orders"]] == ["O2", "O3"]


def test_filters(api: Api) -> None:
    api.stock("MUG", 1)
    api.add(
        order("A", ("MUG", 1), channel="shop", tags=["vip", "gift"]),
        order("B", ("MUG", 1), channel="amazon", ship_to={"country": "US"}, total="150"),
        order("C", ("MUG", 1), channel="shop", placed_at="2026-02-01T00:00:00Z"),
    )
    api.post("/api/v1/allocate", json={"ids": ["A", "B"]})
    api.post("/api/v1/orders/C/cancel")
    assert _ids(api.get("/api/v1/orders?allocation_status=allocated")) == ["A"]
    assert _ids(api.get("/api/v1/orders?allocation_status=allocated,could_not_allocate")) == [
        "A",
        "B",
    ]
    assert _ids(api.get("/api/v1/orders?status=cancelled")) == ["C"]
    assert _ids(api.get("/api/v1/orders?channel=shop")) == ["A", "C"]
    assert _ids(api.get("/api/v1/orders?tag=gift")) == ["A"]
    where = 'ship_to.country == "US" and total > 100'
    assert _ids(api.get("/api/v1/orders", params={"where": where})) == ["B"]
    assert _ids(api.get("/api/v1/orders?channel=shop&status=awaiting_fulfillment")) == ["A"]
    # As docs/http.md says: without `status` closed orders are listed too, unallocated ones among
    # them (the CLI lists open orders unless --all).
    assert _ids(api.get("/api/v1/orders?allocation_status=unallocated")) == ["C"]
    waiting = "/api/v1/orders?allocation_status=unallocated&status=awaiting_fulfillment"
    assert _ids(api.get(waiting)) == []


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("where=total >", "where", "where:1:8"),
        ("where=totl > 3", "where", "unknown field"),
        ("allocation_status=alocated", "allocation_status", "did you mean 'allocated'"),
        ("status=gone", "status", "unknown status"),
        ("order_by=colour", "order_by", "unknown field"),
        ("order_by=attributes.gift", "order_by", "attributes"),
        ("limit=0", "limit", ""),
        ("limit=501", "limit", ""),
        ("limit=ten", "limit", ""),
        ("cursor=not-a-cursor", "cursor", "not a cursor"),
    ],
)
def test_bad_listing_queries_are_400_naming_the_field(
    api: Api, query: str, field: str, words: str
) -> None:
    error = error_of(api.get(f"/api/v1/orders?{query}"), 400)
    assert error["code"] == "bad_input" and error["field"] == field
    assert words in error["message"]


def test_a_cursor_only_continues_the_listing_it_came_from(api: Api) -> None:
    api.add(*[order(f"O{n}", ("MUG", 1)) for n in range(3)])
    cursor = api.get("/api/v1/orders?limit=1").json()["next"]
    error = error_of(api.get(f"/api/v1/orders?limit=1&order_by=id desc&cursor={cursor}"), 400)
    assert error["field"] == "cursor"


def test_post_one_order_answers_it_and_an_array_answers_them(api: Api) -> None:
    one = api.post("/api/v1/orders", json=order("A", ("MUG", 2), total=19.99))
    assert one.status_code == 201 and one.json()["id"] == "A" and one.json()["total"] == "19.99"
    many = api.post("/api/v1/orders", json=[order("B", ("MUG", 1)), order("C", ("MUG", 1))])
    assert many.status_code == 201 and [o["id"] for o in many.json()["orders"]] == ["B", "C"]
    assert api.get("/api/v1/orders/B").json()["status"] == "awaiting_fulfillment"


@pytest.mark.parametrize(
    "body",
    [
        [{"id": "A", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]}, {"id": "B"}],
        {"id": "A", "channel": "web", "lines": [{"sku": "MUG", "qty": -1}]},
        {"id": "A", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}], "colour": "red"},
        [order("A", ("MUG", 1)), order("A", ("MUG", 2))],
        [],
        "just a string",
    ],
)
def test_bad_orders_are_400_and_write_nothing(api: Api, body: Any) -> None:
    before = snapshot(api.store)
    error = error_of(api.post("/api/v1/orders", json=body), 400)
    assert error["code"] == "bad_input"
    assert snapshot(api.store) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"id": ', "body:1:8: invalid JSON: Expecting value"),
        (b'{"id": "A",\n "lines": [}', "body:2:12: invalid JSON: Expecting value"),
        (b"\xff\xfe", "body:1:1: invalid JSON"),
        (b'{"id": "A', "body:1:8: invalid JSON: Unterminated string starting here"),
    ],
)
def test_bad_json_is_400_naming_the_body_and_where(api: Api, content: bytes, message: str) -> None:
    """Not `{"message": "15: JSON decode error", "field": "15"}` (the parser's offset taken for
    a field name): the body, its line and column, and what the parser expected."""
    for method, path in [("post", "/api/v1/orders"), ("patch", "/api/v1/orders/A")]:
        answer = getattr(api, method)(
            path, content=content, headers={"Content-Type": "application/json"}
        )
        error = error_of(answer, 400)
        assert error["code"] == "bad_input" and error["field"] == "body"
        assert error["message"].startswith(message), error


def test_a_key_given_twice_takes_its_last_value_as_an_import_file_does(api: Api) -> None:
    """The README's decision on duplicate keys, in the API as in import files."""
    content = b'{"id": "D2", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}], "id": "D3"}'
    answer = api.post(
        "/api/v1/orders", content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == "D3"


def test_an_existing_id_is_409_and_nothing_is_added(api: Api) -> None:
    api.add(order("A", ("MUG", 1)))
    before = snapshot(api.store)
    error = error_of(
        api.post("/api/v1/orders", json=[order("B", ("MUG", 1)), order("A", ("MUG", 1))]), 409
    )
    assert error["field"] == "id"
    assert error["message"].startswith("order id already exists: A; nothing was added"), error
    assert error["message"].endswith("; POST with ?sync=true to update known orders instead")
    assert snapshot(api.store) == before


def test_show_explain_history(api: Api) -> None:
    api.stock("MUG", 1)
    api.add(order("A", ("MUG", 1)), order("B", ("MUG", 1)))
    api.post("/api/v1/allocate", json={"ids": ["A", "B"]})
    explained = api.get("/api/v1/orders/B/explain").json()
    assert explained["allocation_status"] == "could_not_allocate"
    assert explained["lines"][0]["held_by"][0]["order"] == "A"
    history = api.get("/api/v1/orders/A/history").json()
    assert [(h["sku"], h["delta"], h["operation"], h["actor"]) for h in history] == [
        ("MUG", 1, "allocate", "api")
    ]
    for path in ("", "/explain", "/history"):
        error = error_of(api.get(f"/api/v1/orders/NOPE{path}"), 404)
        assert error["code"] == "not_found" and "NOPE" in error["message"]


def test_patch_lines_trims_and_tags_and_address_change(api: Api) -> None:
    api.stock("MUG", 5)
    api.add(order("A", ("MUG", 3), ship_to={"country": "US", "city": "Reno"}))
    api.post("/api/v1/allocate", json={"ids": ["A"]})
    answer = api.patch(
        "/api/v1/orders/A",
        json={
            "lines": [{"sku": "MUG", "qty": 2}, {"sku": "CUP", "qty": 1}],
            "tags": ["vip"],
            "ship_to": {"country": "ca", "state": "BC"},
            "shipping_method": "overnight",
        },
    )
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["lines"] == [
        {"sku": "MUG", "qty": 2, "reserved": 2, "warehouses": {"main": 2}},
        {"sku": "CUP", "qty": 1, "reserved": 0, "warehouses": {}},
    ]
    assert doc["tags"] == ["vip"] and doc["shipping_method"] == "overnight"
    assert doc["ship_to"] == {
        "name": None,
        "country": "CA",
        "state": "BC",
        "city": "Reno",
        "postal_code": None,
    }
    assert doc["allocation_status"] == "partially_allocated"
    assert api.get("/api/v1/inventory?sku=MUG").json()[0]["allocated"] == 2
    cleared = api.patch("/api/v1/orders/A", json={"shipping_method": None, "tags": []}).json()
    assert cleared["shipping_method"] is None and cleared["tags"] == []


def test_patch_records_one_update_event_and_a_no_op_writes_nothing(api: Api) -> None:
    from sqlalchemy import select

    from engine.store import events

    api.add(order("A", ("MUG", 1), tags=["x"]))
    with api.store.read() as conn:
        start = len(conn.execute(select(events.c.id)).all())
    api.patch("/api/v1/orders/A", json={"tags": ["y"], "shipping_method": "ground"})
    with api.store.read() as conn:
        kinds = [r.type for r in conn.execute(select(events.c.type).order_by(events.c.id))]
    assert kinds[start:] == ["order.updated"]
    before = snapshot(api.store)
    assert api.patch("/api/v1/orders/A", json={"tags": ["y"]}).status_code == 200
    assert snapshot(api.store) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"sku": "MUG", "qty": 0}]}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": None}, "lines"),
        ({"ship_to": {"country": "USA"}}, "ship_to"),
        ({"ship_to": {"planet": "Mars"}}, "ship_to.planet"),
        ({"tags": "vip"}, "tags"),
        ({"colour": "red"}, "colour"),
        ({"lines": [{"sku": "MUG", "qty": "two"}]}, "lines"),
        ({"lines": [{"sku": "MUG", "qty": 2.5}]}, "lines"),
        ({"lines": [{"sku": "MUG"}]}, "lines.0.qty"),
    ],
)
def test_bad_patches_are_400_and_write_nothing(api: Api, body: Any, field: str) -> None:
    api.stock("MUG", 5)
    api.add(order("A", ("MUG", 3)))
    api.post("/api/v1/allocate", json={"ids": ["A"]})
    before = snapshot(api.store)
    error = error_of(api.patch("/api/v1/orders/A", json=body), 400)
    assert error["field"] == field, error
    assert snapshot(api.store) == before


def test_patch_takes_a_digit_string_qty_as_a_posted_order_does(api: Api) -> None:
    """The same line in a file, in POST /orders and in a patch means the same thing."""
    api.add(order("A", ("MUG", 3)))
    doc = api.patch("/api/v1/orders/A", json={"lines": [{"sku": "MUG", "qty": "2"}]}).json()
    assert [(x["sku"], x["qty"]) for x in doc["lines"]] == [("MUG", 2)]
    error = error_of(
        api.patch("/api/v1/orders/A", json={"lines": [{"sku": "MUG", "qty": "0"}]}), 400
    )
    assert "lines[0].qty" in " ".join(error["problems"]), error


def test_patch_unknown_is_404_and_closed_is_409(api: Api) -> None:
    api.add(order("A", ("MUG", 1)))
    api.post("/api/v1/orders/A/cancel")
    assert error_of(api.patch("/api/v1/orders/NOPE", json={"tags": []}), 404)["code"] == "not_found"
    before = snapshot(api.store)
    error = error_of(api.patch("/api/v1/orders/A", json={"tags": ["x"]}), 409)
    assert error["code"] == "conflict" and "cancelled" in error["message"]
    assert snapshot(api.store) == before


@pytest.mark.parametrize(
    ("how", "status"), [("ship", "shipped"), ("cancel", "cancelled"), ("dropship", "dropshipped")]
)
def test_closing_an_order(api: Api, how: str, status: str) -> None:
    api.stock("MUG", 2)
    api.add(order("A", ("MUG", 2)))
    api.post("/api/v1/allocate", json={"ids": ["A"]})
    doc = api.post(f"/api/v1/orders/A/{how}").json()
    assert (doc["status"], doc["allocation_status"]) == (status, "unallocated")
    on_hand = api.get("/api/v1/inventory?sku=MUG").json()[0]
    assert (on_hand["on_hand"], on_hand["allocated"]) == ((0 if how == "ship" else 2), 0)
    before = snapshot(api.store)
    assert error_of(api.post(f"/api/v1/orders/A/{how}"), 409)["code"] == "conflict"
    assert error_of(api.post(f"/api/v1/orders/NOPE/{how}"), 404)["code"] == "not_found"
    assert snapshot(api.store) == before


def test_split_deallocate_reallocate(api: Api) -> None:
    api.stock("MUG", 1)
    api.add(order("A", ("MUG", 3)))
    assert api.post("/api/v1/allocate", json={"ids": ["A"], "policy": "units"}).status_code == 200
    split = api.post("/api/v1/orders/A/split").json()
    assert split["order"]["lines"] == [
        {"sku": "MUG", "qty": 1, "reserved": 1, "warehouses": {"main": 1}}
    ]
    assert split["split_into"]["id"] == "A-1" and split["split_into"]["lines"][0]["qty"] == 2
    assert error_of(api.post("/api/v1/orders/A/split"), 409)["code"] == "conflict"
    assert api.post("/api/v1/orders/A/deallocate").json() == {
        "results": [{"id": "A", "before": "allocated", "after": "unallocated"}],
        "skipped": [],
    }
    again = api.post("/api/v1/orders/A/reallocate").json()
    assert again["results"] == [{"id": "A", "before": "unallocated", "after": "allocated"}]
    bad = api.post("/api/v1/orders/A/reallocate", json={"policy": "sometimes"})
    assert error_of(bad, 400)["field"] == "policy"
    for op in ("split", "deallocate", "reallocate"):
        assert error_of(api.post(f"/api/v1/orders/NOPE/{op}"), 404)["code"] == "not_found"


def test_post_with_sync_reports_each_outcome(api: Api) -> None:
    api.add(order("A", ("MUG", 1)))
    answer = api.post(
        "/api/v1/orders?sync=true",
        json=[order("A", ("MUG", 3)), order("B", ("MUG", 1)), order("A2", ("MUG", 1))],
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["created"], report["updated"]) == (["B", "A2"], ["A"])
    again = api.post("/api/v1/orders?sync=true", json=order("B", ("MUG", 1))).json()
    assert again["unchanged"] == ["B"]
    assert api.get("/api/v1/orders/A").json()["lines"][0]["qty"] == 3
    before = snapshot(api.store)
    error_of(api.post("/api/v1/orders?sync=true", json=[order("C", ("MUG", 0))]), 400)
    assert snapshot(api.store) == before


def test_a_synced_order_without_placed_at_keeps_its_place_when_sent_again(api: Api) -> None:
    """`placed_at` defaults to now: each re-send was `updated`, with an `order.updated` event,
    and moved the order to the back of the FIFO queue."""
    bare = {"id": "W1", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]}
    assert api.post("/api/v1/orders?sync=true", json=bare).json()["created"] == ["W1"]
    placed = api.get("/api/v1/orders/W1").json()["placed_at"]
    api.service.clock.advance(hours=1)  # type: ignore[attr-defined]
    before = snapshot(api.store)
    again = api.post("/api/v1/orders?sync=true", json=bare).json()
    assert again["unchanged"] == ["W1"] and again["updated"] == [], again
    assert snapshot(api.store) == before
    changed = api.post("/api/v1/orders?sync=true", json={**bare, "tags": ["vip"]}).json()
    assert changed["updated"] == ["W1"]
    assert api.get("/api/v1/orders/W1").json()["placed_at"] == placed
    moved = api.post("/api/v1/orders?sync=true", json={**bare, "placed_at": "2026-01-05"}).json()
    assert moved["updated"] == ["W1"]
    assert api.get("/api/v1/orders/W1").json()["placed_at"] == "2026-01-05T00:00:00Z"


def test_patch_leaves_every_field_it_does_not_name_as_it_was(api: Api) -> None:
    api.stock("MUG", 5)
    api.add(
        order(
            "A",
            ("MUG", 2),
            total="19.99",
            warehouse="east",
            attributes={"gift": True, "note": "ring twice", "weight": 1.5},
            tags=["vip"],
            shipping_method="ground",
            ship_to={"name": "Ann", "country": "US", "postal_code": "89501"},
        )
    )
    before = api.get("/api/v1/orders/A").json()
    after = api.patch("/api/v1/orders/A", json={"ship_to": {"city": "Reno"}}).json()
    assert after == {**before, "ship_to": {**before["ship_to"], "city": "Reno"}}
    again = api.patch("/api/v1/orders/A", json={"lines": [{"sku": "MUG", "qty": 1}]}).json()
    assert {k: v for k, v in again.items() if k != "lines"} == {
        k: v for k, v in after.items() if k != "lines"
    }


def _forged(order_by: str, values: list[Any]) -> str:
    raw = json.dumps({"o": order_by, "v": values}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("order_by", "values"),
    [
        ("total desc", ["abc", "A"]),
        ("total desc", ["NaN", "A"]),
        ("total desc", ["1E+400", "A"]),
        ("total desc", [{"x": 1}, "A"]),
        ("line_count asc", [10**30, "A"]),
        ("placed_at asc", ["garbage", "A"]),
    ],
)
def test_an_edited_cursor_is_400_not_a_database_error(
    api: Api, order_by: str, values: list[Any]
) -> None:
    """A cursor whose amount was not a number reached the database: 503 "try again"."""
    api.add(order("A", ("MUG", 1), total="5"), order("B", ("MUG", 1), total="7"))
    url = f"/api/v1/orders?limit=1&order_by={order_by}&cursor={_forged(order_by, values)}"
    error = error_of(api.get(url), 400)
    assert error["field"] == "cursor" and "not a cursor" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/api/v1/orders/A%00B", None, "order_id"),
        ("POST", "/api/v1/orders/A%00B/ship", None, "order_id"),
        ("GET", "/api/v1/orders/A%00B/history", None, "order_id"),
        ("GET", "/api/v1/orders?channel=web%00", None, "channel"),
        ("GET", "/api/v1/orders?tag=x%00", None, "tag"),
        ("GET", "/api/v1/orders?where=id%20%3D%3D%20%22A%00%22", None, "where"),
        ("GET", "/api/v1/inventory?sku=MUG%00", None, "sku"),
        ("PUT", "/api/v1/inventory/MUG%00", {"on_hand": 1}, "sku"),
        ("POST", "/api/v1/allocate", {"ids": ["A\u0000"]}, "ids.0"),
        ("POST", "/api/v1/allocate", {"ids": ["A\ud800"]}, "ids.0"),
        ("POST", "/api/v1/allocate", {"all": True, "where": 'id == "\ud800"'}, "where"),
        ("POST", "/api/v1/allocate", {"all": True, "where": 'id == "\u0000"'}, "where"),
        ("PATCH", "/api/v1/orders/A", {"tags": ["\ud800"]}, "tags.0"),
    ],
)
def test_a_value_no_database_can_hold_is_400_naming_it(
    api: Api, method: str, path: str, body: Any, field: str
) -> None:
    """A NUL (`%00`, `\\u0000`) or a lone surrogate reached the database: a 500, or on
    PostgreSQL a 503 that says to try again."""
    api.add(order("A", ("MUG", 1)))
    before = snapshot(api.store)
    kw: dict[str, Any] = {} if body is None else {"content": json.dumps(body)}
    headers = {**AUTH, "Content-Type": "application/json"}
    error = error_of(api.client.request(method, path, headers=headers, **kw), 400)
    assert error["field"] == field, error
    assert "NUL" in error["message"] or "Unicode" in error["message"], error
    assert snapshot(api.store) == before
