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
    ("method", "path"),
    [("post", "/api/v1/orders"), ("patch", "/api/v1/orders/A"), ("post", "/api/v1/allocate")],
)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "body: is empty; send JSON, with `Content-Type: application/json`"),
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
            "unknown key 'lines.0.quantity'; known: sku, qty",
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
