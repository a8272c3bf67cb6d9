"""Bodies that are not what an endpoint takes (SQLite only: no dialect is involved): a form
or text where JSON goes (curl's `-d` without `-H 'Content-Type: application/json'`), JSON of the
wrong kind. Each is a 400 that says what to send, never pydantic's or Python's words, and
writes nothing."""

from __future__ import annotations

import pytest

from tests.helpers import snapshot
from tests.integration.web.conftest import AUTH, Api, error_of, order

ORDER = b'{"id": "T1", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]}'


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("post", "/api/v1/orders", ORDER),
        ("patch", "/api/v1/orders/A", b'{"tags": ["x"]}'),
        ("post", "/api/v1/inventory/MUG/receive", b'{"qty": 1}'),
        ("put", "/api/v1/inventory/MUG", b'{"on_hand": 1}'),
        ("post", "/api/v1/allocate", b'{"all": true}'),
    ],
)
@pytest.mark.parametrize(
    ("content_type", "sent"),
    [
        ("application/x-www-form-urlencoded", "`application/x-www-form-urlencoded`"),
        ("text/plain", "`text/plain`"),
        (None, "no Content-Type"),
    ],
)
def test_a_body_not_sent_as_json_is_told_to_send_json(
    lite: Api, method: str, path: str, content: bytes, content_type: str | None, sent: str
) -> None:
    lite.add(order("A", ("MUG", 1)))
    before = snapshot(lite.store)
    headers = {"Content-Type": content_type} if content_type else {}
    answer = lite.client.request(method.upper(), path, content=content, headers={**AUTH, **headers})
    error = error_of(answer, 400)
    assert error["field"] == "body", error
    assert error["message"] == (
        "the body must be JSON, sent with `Content-Type: application/json`; "
        f"this request sent {sent}"
    ), error
    assert snapshot(lite.store) == before


def test_json_of_the_wrong_kind_names_the_kind_expected(lite: Api) -> None:
    error = error_of(lite.put("/api/v1/inventory/MUG", json=[1]), 400)
    assert (error["message"], error["field"]) == ("body: expected a JSON object", "body")


def test_a_condition_s_hint_is_in_the_message_not_a_problem_of_its_own(lite: Api) -> None:
    error = error_of(lite.get("/api/v1/orders", params={"where": "chanel == 1"}), 400)
    assert error["message"] == "where:1:1: unknown field `chanel`\n  hint: did you mean `channel`?"
    assert "problems" not in error, error  # was ["hint: did you mean `channel`?"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/v1/orders?allocation-status=allocated", "did you mean 'allocation_status'?"),
        ("/api/v1/orders?sku=MUG", "it takes allocation_status, channel, cursor, limit, "),
        ("/api/v1/inventory?skus=MUG", "did you mean 'sku'?"),
        ("/api/v1/orders/A?verbose=1", "it takes none"),
    ],
)
def test_an_unknown_query_parameter_is_refused_not_ignored(
    lite: Api, path: str, message: str
) -> None:
    """Ignored, `?sku=MUG` (a command-line option the API has not) answered every order."""
    lite.add(order("A", ("MUG", 1)))
    error = error_of(lite.get(path), 400)
    name = path.split("?")[1].split("=")[0]
    assert error["field"] == name and error["message"].startswith(
        f"unknown query parameter {name!r}; "
    )
    assert message in error["message"], error


def test_the_documented_query_parameters_are_taken(lite: Api) -> None:
    lite.add(order("A", ("MUG", 1)))
    query = "allocation_status=unallocated&status=awaiting_fulfillment&channel=web&tag=x"
    assert (
        lite.get(f"/api/v1/orders?{query}&where=total > 1&order_by=id&limit=5").status_code == 200
    )
    assert lite.get("/api/v1/inventory?sku=MUG").status_code == 200
    answer = lite.post("/api/v1/orders?sync=true", json=order("B", ("MUG", 1)))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "query", ["channel=&tag=&cursor=", "channel=&status=&allocation_status=&where=&order_by="]
)
def test_an_empty_filter_is_no_filter(lite: Api, query: str) -> None:
    """`?tag=` (a script's empty variable) answered no order at all and `?cursor=` was "not a
    cursor", while an empty `status=` or `where=` filtered nothing."""
    lite.add(order("A", ("MUG", 1)), order("B", ("MUG", 1), channel="shop", tags=["x"]))
    answer = lite.get(f"/api/v1/orders?{query}")
    assert [o["id"] for o in answer.json()["orders"]] == ["A", "B"], answer.text


@pytest.mark.parametrize("query", ["channel=web&channel=shop", "limit=1&limit=2", "tag=x&tag=y"])
def test_a_query_parameter_given_twice_is_refused(lite: Api, query: str) -> None:
    """`?channel=web&channel=shop` answered the shop orders alone: the last value won."""
    lite.add(order("A", ("MUG", 1)))
    name = query.split("=")[0]
    error = error_of(lite.get(f"/api/v1/orders?{query}"), 400)
    assert error["field"] == name
    assert error["message"].startswith(
        f"query parameter '{name}' is given 2 times; it takes one value"
    ), error


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/orders"),
        ("PATCH", "/api/v1/orders/A"),
        ("POST", "/api/v1/inventory/MUG/receive"),
        ("PUT", "/api/v1/inventory/MUG"),
        ("POST", "/api/v1/allocate"),
    ],
)
@pytest.mark.parametrize("content_type", ["application/json", None])
def test_an_empty_body_is_told_to_send_json(
    lite: Api, method: str, path: str, content_type: str | None
) -> None:
    """`curl -X POST $API/allocate` (no `-d`) answered pydantic's "Field required", `field`
    null: no word of which field, or that the whole body was missing."""
    lite.add(order("A", ("MUG", 1)))
    before = snapshot(lite.store)
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    error = error_of(lite.client.request(method, path, content=b"", headers=headers), 400)
    assert (error["message"], error["field"]) == (
        "the body is empty: send a JSON document, with `Content-Type: application/json`",
        "body",
    )
    assert snapshot(lite.store) == before


def test_a_json_string_posted_as_an_order_is_named_a_string(lite: Api) -> None:
    """`-d '"hello"'` with the JSON type was told to send JSON with `Content-Type:
    application/json`; "this request sent `application/json`"."""
    error = error_of(lite.post("/api/v1/orders", json="hello"), 400)
    assert error["problems"] == ["body: expected an order object, got a string"], error
    assert lite.get("/api/v1/orders").json()["orders"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("PUT", "/api/v1/inventory/MUG", {"onhand": 5}, "'onhand'; did you mean 'on_hand'?"),
        (
            "POST",
            "/api/v1/inventory/MUG/receive",
            {"qty": 1, "warehous": "east"},
            "'warehous'; did you mean 'warehouse'?",
        ),
        (
            "POST",
            "/api/v1/allocate",
            {"all": True, "dryrun": True},
            "'dryrun'; did you mean 'dry_run'?",
        ),
        ("PATCH", "/api/v1/orders/A", {"tag": ["vip"]}, "'tag'; did you mean 'tags'?"),
        (
            "PATCH",
            "/api/v1/orders/A",
            {"ship_to": {"contry": "US"}},
            "'ship_to.contry'; did you mean 'ship_to.country'?",
        ),
        (
            "PATCH",
            "/api/v1/orders/A",
            {"lines": [{"sku": "MUG", "quantity": 1}]},
            "'lines[0].quantity'; known: sku, qty",
        ),
        (
            "PATCH",
            "/api/v1/orders/A",
            {"warehouse": "east"},
            "'warehouse'; known: lines, tags, ship_to, shipping_method",
        ),
        (
            "POST",
            "/api/v1/orders/A/reallocate",
            {"polcy": "units"},
            "'polcy'; did you mean 'policy'?",
        ),
    ],
)
def test_an_unknown_key_gets_a_did_you_mean_as_in_an_import_file(
    lite: Api, method: str, path: str, body: object, message: str
) -> None:
    """docs/http.md promises a did-you-mean for an unknown key; it said "Extra inputs are not
    permitted", and a misspelt `onhand` was reported as "on_hand: Field required"."""
    lite.add(order("A", ("MUG", 1)))
    before = snapshot(lite.store)
    error = error_of(lite.client.request(method, path, json=body, headers=AUTH), 400)
    assert error["message"] == f"unknown key {message}", error
    assert error["field"] == message.split("'")[1].replace("[", ".").replace("]", ""), error
    assert snapshot(lite.store) == before


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders?sync=true"])
def test_an_id_twice_in_a_posted_array_is_named_where_it_is(lite: Api, path: str) -> None:
    """It said "the same order id appears twice in the body: ['D1']" (a Python list, no place),
    where a file names the line of the second one."""
    body = [order("D1", ("MUG", 1)), order("D2", ("MUG", 1)), order("D1", ("MUG", 2))]
    error = error_of(lite.post(path, json=body), 400)
    assert (error["field"], error["problems"]) == (
        "id",
        ["body[2]: duplicate order id 'D1' (first at body[0])"],
    ), error
    assert lite.get("/api/v1/orders").json()["orders"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/orders"), ("patch", "/api/v1/orders/A"), ("post", "/api/v1/allocate")],
)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body: is nested too deeply to be read as JSON"),
        (b'{"id": "\xff"}', "body: is not UTF-8 text (byte 9)"),
    ],
)
def test_a_json_body_that_cannot_be_read_says_why_naming_the_body(
    lite: Api, method: str, path: str, content: bytes, message: str
) -> None:
    """Each was pydantic's "Field required" or FastAPI's "There was an error parsing the
    body", with `field: null`."""
    lite.add(order("A", ("MUG", 1)))
    before = snapshot(lite.store)
    headers = {**AUTH, "Content-Type": "application/json"}
    error = error_of(
        lite.client.request(method.upper(), path, content=content, headers=headers), 400
    )
    assert (error["message"], error["field"]) == (message, "body")
    assert snapshot(lite.store) == before


def test_a_json_string_posted_as_orders_is_told_it_is_not_an_order(lite: Api) -> None:
    """It was told to send JSON with `Content-Type: application/json`, which it had done."""
    error = error_of(lite.post("/api/v1/orders", json="A1"), 400)
    assert error["field"] == "body" and "got a string" in error["message"], error


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "message"),
    [
        (
            "patch",
            "/api/v1/orders/A",
            {"tag": ["x"]},
            "tag",
            "unknown key 'tag'; did you mean 'tags'?",
        ),
        (
            "patch",
            "/api/v1/orders/A",
            {"total": "5"},
            "total",
            "unknown key 'total'; known: lines, tags, ship_to, shipping_method",
        ),
        (
            "patch",
            "/api/v1/orders/A",
            {"ship_to": {"postcode": "1"}},
            "ship_to.postcode",
            "unknown key 'ship_to.postcode'; did you mean 'ship_to.postal_code'?",
        ),
        (
            "patch",
            "/api/v1/orders/A",
            {"lines": [{"sku": "MUG", "qty": 1, "quantity": 1}]},
            "lines.0.quantity",
            "unknown key 'lines[0].quantity'; known: sku, qty",
        ),
        (
            "post",
            "/api/v1/allocate",
            {"ids": ["A"], "dryrun": True},
            "dryrun",
            "unknown key 'dryrun'; did you mean 'dry_run'?",
        ),
        ("put", "/api/v1/inventory/MUG", {"onhand": 5}, "onhand", "did you mean 'on_hand'?"),
        ("put", "/api/v1/inventory/MUG", {}, "on_hand", "on_hand: is required"),
        ("put", "/api/v1/inventory/MUG", {"on_hand": "5"}, "on_hand", "on_hand: must be a valid"),
    ],
)
def test_a_body_s_unknown_or_missing_key_is_told_in_dibs_words(
    lite: Api, method: str, path: str, body: object, field: str, message: str
) -> None:
    """docs/http.md promises a did-you-mean for an unknown key; pydantic said "Extra inputs
    are not permitted" (and `{"onhand": 5}` only that `on_hand` was "Field required")."""
    lite.add(order("A", ("MUG", 1)))
    answer = lite.client.request(method.upper(), path, json=body, headers=AUTH)
    error = error_of(answer, 400)
    assert error["field"] == field and message in error["message"], error
    assert "Input should" not in error["message"] and "Extra inputs" not in error["message"]
