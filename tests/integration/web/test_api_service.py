"""Who may call the API, inventory, allocate, rules, documents and every error of SPEC §10."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.service import Service
from engine.store import Store
from engine.web.app import create_app
from tests.conftest import FakeClock
from tests.helpers import snapshot
from tests.integration.web.conftest import AUTH, Api, error_of, order, settings

ROOT = Path(__file__).resolve().parents[3]

#: One request per route under /api/v1 that needs the token (method, path, JSON body).
PROTECTED: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/orders", None),
    ("POST", "/api/v1/orders", {"id": "X", "channel": "web", "lines": [{"sku": "A", "qty": 1}]}),
    ("GET", "/api/v1/orders/A", None),
    ("GET", "/api/v1/orders/A/explain", None),
    ("GET", "/api/v1/orders/A/history", None),
    ("PATCH", "/api/v1/orders/A", {"tags": ["x"]}),
    *[
        ("POST", f"/api/v1/orders/A/{op}", None)
        for op in ("ship", "cancel", "dropship", "split", "deallocate", "reallocate")
    ],
    ("POST", "/api/v1/allocate", {"all": True}),
    ("GET", "/api/v1/inventory", None),
    ("PUT", "/api/v1/inventory/A", {"on_hand": 3}),
    ("POST", "/api/v1/inventory/A/adjust", {"qty": 1}),
    ("POST", "/api/v1/inventory/A/receive", {"qty": 1}),
    ("POST", "/api/v1/rules/check", None),
    ("POST", "/api/v1/rules/preview", None),
    ("GET", "/api/v1/openapi.json", None),
    ("GET", "/api/v1/docs", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic czNjcmV0LXRva2Vu", "Bearer "])
def test_every_route_needs_the_token_and_401_reveals_nothing(
    lite: Api, method: str, path: str, body: Any, auth: str | None
) -> None:
    api = lite
    api.add(order("A", ("A", 1)))
    before = snapshot(api.store)
    headers = {"Authorization": auth} if auth else {}
    answer = api.client.request(method, path, json=body, headers=headers)
    error = error_of(answer, 401)
    assert error == {"code": "unauthorized", "message": "missing or wrong API token", "field": None}
    assert snapshot(api.store) == before


def test_health_needs_no_token(api: Api) -> None:
    api.add(order("A", ("A", 1)))
    answer = api.client.get("/api/v1/health")
    assert answer.json() == {
        "status": "ok",
        "database": "ok",
        "pending_events": 1,
        "last_tick": None,
    }
    head = api.client.head("/api/v1/health")  # a load balancer's check; it was 405
    assert (head.status_code, head.content) == (200, b"")


def test_without_a_configured_token_the_api_is_open(store: Store) -> None:
    with TestClient(create_app(Service(store), settings(api_token=None))) as client:
        assert client.get("/api/v1/orders").status_code == 200


def test_inventory(api: Api) -> None:
    assert api.put("/api/v1/inventory/MUG", json={"on_hand": 5}).json() == {
        "sku": "MUG",
        "warehouse": "main",
        "on_hand": 5,
        "allocated": 0,
        "available": 5,
    }
    assert api.post("/api/v1/inventory/MUG/adjust", json={"qty": -7}).json()["on_hand"] == -2
    row = api.post("/api/v1/inventory/MUG/receive", json={"qty": 4, "warehouse": "east"}).json()
    assert (row["warehouse"], row["on_hand"]) == ("east", 4)
    api.put("/api/v1/inventory/CUP", json={"on_hand": 1})
    assert [(r["sku"], r["warehouse"]) for r in api.get("/api/v1/inventory").json()] == [
        ("CUP", "main"),
        ("MUG", "east"),
        ("MUG", "main"),
    ]
    assert len(api.get("/api/v1/inventory?sku=MUG").json()) == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/api/v1/inventory/MUG", {"on_hand": -1}, "on_hand"),
        ("PUT", "/api/v1/inventory/MUG", {"on_hand": "5"}, "on_hand"),
        ("PUT", "/api/v1/inventory/MUG", {}, "on_hand"),
        ("PUT", "/api/v1/inventory/MUG", {"on_hand": 5, "bin": 3}, "bin"),
        ("PUT", "/api/v1/inventory/MUG", {"on_hand": 2**40}, "on_hand"),
        ("POST", "/api/v1/inventory/MUG/receive", {"qty": 0}, "qty"),
        ("POST", "/api/v1/inventory/MUG/adjust", {"qty": 1.5}, "qty"),
        ("POST", "/api/v1/inventory/MUG/adjust", {"qty": 2**40}, "qty"),
        ("POST", "/api/v1/inventory/MUG/adjust", {"qty": 2**31 - 1}, "qty"),
        ("POST", "/api/v1/inventory/MUG/receive", {"qty": 1, "warehouse": " "}, "warehouse"),
        ("POST", "/api/v1/inventory/MUG/receive", {"qty": 1, "warehouse": "w" * 101}, "warehouse"),
        ("POST", "/api/v1/inventory/BOX/receive", {"qty": 1}, "sku"),
        ("PUT", "/api/v1/inventory/MUG", {"on_hand": 1, "warehouse": "w" * 101}, "warehouse"),
        ("PUT", f"/api/v1/inventory/{'M' * 201}", {"on_hand": 1}, "sku"),
        ("PUT", "/api/v1/inventory/%20", {"on_hand": 1}, "sku"),
        ("PUT", "/api/v1/inventory/BOX", {"on_hand": 1}, "sku"),  # a kit
    ],
)
def test_bad_stock_changes_are_400_and_write_nothing(
    api: Api, method: str, path: str, body: Any, field: str | None
) -> None:
    """`field` names the input at fault, as docs/http.md says: the service's refusals (a
    negative set, a zero receipt, an empty warehouse) answered `null`."""
    api.stock("MUG", 5)
    api.service.set_kits({"BOX": [("MUG", 1)]})
    before = snapshot(api.store)
    error = error_of(api.client.request(method, path, json=body, headers=AUTH), 400)
    assert error["field"] == field
    assert snapshot(api.store) == before


def test_a_sku_and_warehouse_with_spaces_are_trimmed_as_in_an_inventory_file(api: Api) -> None:
    """` MUG ` was stored as given: stock no order line (trimmed on import) ever names."""
    row = api.put("/api/v1/inventory/%20MUG%20", json={"on_hand": 3, "warehouse": " east "})
    assert (row.json()["sku"], row.json()["warehouse"]) == ("MUG", "east"), row.text
    api.post("/api/v1/inventory/MUG /receive", json={"qty": 2, "warehouse": "east"})
    assert [
        (r["sku"], r["warehouse"], r["on_hand"]) for r in api.get("/api/v1/inventory").json()
    ] == [("MUG", "east", 5)]


def test_allocate_like_the_cli(api: Api) -> None:
    api.stock("MUG", 2)
    api.add(
        order("A", ("MUG", 1), channel="amazon"),
        order("B", ("MUG", 1), placed_at="2026-01-02T00:00:00Z"),
        order("C", ("MUG", 5), placed_at="2026-01-03T00:00:00Z"),
    )
    dry = api.post("/api/v1/allocate", json={"all": True, "dry_run": True})
    before = snapshot(api.store)
    assert api.post("/api/v1/allocate", json={"all": True, "dry_run": True}).json() == dry.json()
    assert snapshot(api.store) == before
    done = api.post(
        "/api/v1/allocate",
        json={"all": True, "where": 'channel != "amazon"', "order_by": "placed_at desc"},
    ).json()
    assert done == {
        "results": [
            {"id": "C", "before": "unallocated", "after": "could_not_allocate"},
            {"id": "B", "before": "unallocated", "after": "allocated"},
        ],
        "skipped": [],
    }
    api.post("/api/v1/orders/B/ship")
    named = api.post("/api/v1/allocate", json={"ids": ["A", "B"], "policy": "units"}).json()
    assert named["skipped"] == [{"id": "B", "reason": "order is shipped"}]
    assert named["results"] == [{"id": "A", "before": "unallocated", "after": "allocated"}]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "ids"),
        ({"ids": []}, 400, "ids"),
        ({"ids": ["A"], "all": True}, 400, None),
        ({"all": True, "policy": "greedy"}, 400, "policy"),
        ({"all": True, "where": "total >"}, 400, "where"),
        ({"all": True, "order_by": "colour"}, 400, "order_by"),
        ({"all": True, "bogus": 1}, 400, "bogus"),
        ({"ids": ["A", "NOPE"]}, 404, None),
    ],
)
def test_bad_allocate_requests_write_nothing(
    api: Api, body: Any, status: int, field: str | None
) -> None:
    api.stock("MUG", 2)
    api.add(order("A", ("MUG", 1)))
    before = snapshot(api.store)
    error = error_of(api.post("/api/v1/allocate", json=body), status)
    assert error["field"] == field
    assert snapshot(api.store) == before


def test_rules_check(api: Api) -> None:
    good = (ROOT / "examples" / "rules.yaml").read_bytes()
    ok = api.post("/api/v1/rules/check", content=good).json()
    assert ok["ok"] is True and len(ok["ruleset"]) == 12
    bad = api.post(
        "/api/v1/rules/check",
        content=b"version: 1\nrules:\n  - name: x\n    rule: when new order then allocat\n",
    )
    body = bad.json()
    assert bad.status_code == 200 and body["ok"] is False and body["ruleset"] is None
    first = body["diagnostics"][0]
    assert (first["file"], first["line"], first["severity"]) == ("rules.yaml", 4, "error")


def test_a_rule_file_flattened_by_curl_d_is_told_how_to_send_it(lite: Api) -> None:
    """`curl -d @rules.yaml` (the way JSON is posted) sends a form with the newlines dropped:
    the answer was only `invalid YAML: mapping values are not allowed here` at 1:16."""
    good = (ROOT / "examples" / "rules.yaml").read_bytes()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    flat = b"".join(good.splitlines())  # what curl -d sends
    first = lite.post("/api/v1/rules/check", content=flat, headers=form).json()["diagnostics"][0]
    assert "--data-binary" in first["hint"] and "-d drops" in first["hint"], first
    error = error_of(lite.post("/api/v1/rules/preview", content=flat, headers=form), 400)
    assert "--data-binary" in error["problems"][0], error
    # --data-binary without a Content-Type is a form too, with its newlines: it just works.
    assert lite.post("/api/v1/rules/check", content=good, headers=form).json()["ok"] is True


WHERE_IT_RUNS = b"""version: 1
rules:
  - name: east
    rule: when new order then allocate from ["nowhere", "main"]
notify:
  - name: wms
    url: https://wms.example.com/dibs
    events: [order.shipped]
    secret_env: DIBS_TEST_UNSET_SECRET
"""


def test_rules_check_warns_as_the_command_line_does_where_it_runs(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset secret and a warehouse without stock are warnings of `dibs rules check`; the
    API answered the same file `diagnostics: []`."""
    monkeypatch.delenv("DIBS_TEST_UNSET_SECRET", raising=False)
    api.stock("MUG", 1)
    body = api.post("/api/v1/rules/check", content=WHERE_IT_RUNS).json()
    assert body["ok"] is True
    found = [(d["line"], d["severity"], d["message"]) for d in body["diagnostics"]]
    assert found == [
        (
            9,
            "warning",
            "notify `wms`: the environment variable DIBS_TEST_UNSET_SECRET is not set; dibs "
            "refuses to deliver to this endpoint unsigned",
        ),
        (
            4,
            "warning",
            "rule east: no stock row exists in warehouse 'nowhere' (yet); check the name",
        ),
    ]
    monkeypatch.setenv("DIBS_TEST_UNSET_SECRET", "s")
    body = api.post("/api/v1/rules/check", content=WHERE_IT_RUNS).json()
    assert [d["line"] for d in body["diagnostics"]] == [4]


def test_rules_preview_writes_nothing(api: Api) -> None:
    api.stock("MUG", 1)
    api.add(order("A", ("MUG", 1)))
    before = snapshot(api.store)
    rules = b"version: 1\nrules:\n  - name: all\n    rule: when new order then allocate\n"
    doc = api.post("/api/v1/rules/preview", content=rules).json()
    assert [(o["id"], o["after"]) for o in doc["orders"]] == [("A", "allocated")]
    assert snapshot(api.store) == before
    error = error_of(api.post("/api/v1/rules/preview", content=b"version: 2\n"), 400)
    assert error["field"] == "body" and error["problems"]


def test_openapi_and_docs_page(api: Api) -> None:
    document = api.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/allocate",
        "/api/v1/inventory/{sku}/receive",
        "/api/v1/rules/preview",
        "/api/v1/health",
        "/webhooks/shopify",
        "/webhooks/woocommerce",
    ):
        assert path in paths, path
    # The answers dibs gives, not FastAPI's 422 `{"detail": …}`, which it never sends.
    assert "HTTPValidationError" not in json.dumps(document)
    # Its descriptions are the docstrings: none may send a reader to a document no install has.
    assert "SPEC" not in json.dumps(document)
    error = {"$ref": "#/components/schemas/Error"}
    patch = paths["/api/v1/orders/{order_id}"]["patch"]["responses"]
    assert set(patch) == {"200", "400", "401", "404", "409", "413"}
    assert patch["400"]["content"]["application/json"]["schema"] == error
    assert set(paths["/api/v1/orders"]["get"]["responses"]) == {"200", "400", "401"}
    assert set(paths["/webhooks/shopify"]["post"]["responses"]) == {"200", "400", "401", "413"}
    assert set(paths["/api/v1/health"]["get"]["responses"]) == {"200"}
    shape = document["components"]["schemas"]["Error"]["properties"]["error"]
    assert shape["required"] == ["code", "message", "field"]
    assert "bad_input" in shape["properties"]["code"]["enum"]
    page = api.get("/api/v1/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/api/v1/orders/{order_id}/split" in page.text and "<script" not in page.text


def test_unknown_route_and_method_keep_the_shape(api: Api) -> None:
    assert error_of(api.get("/api/v1/nothing-here"), 404)["code"] == "not_found"
    assert error_of(api.client.delete("/api/v1/orders/A", headers=AUTH), 405)["code"] == (
        "method_not_allowed"
    )
    # It says what the path takes (it said "Method Not Allowed").
    error = error_of(api.client.post("/api/v1/health"), 405)
    assert error["message"] == "POST is not allowed on /api/v1/health; it takes GET"


# ---- 413 -------------------------------------------------------------------------------------


@pytest.fixture
def small(sqlite_store: Store) -> Iterator[Api]:
    """An app whose body limit is 1 KiB, to exercise the limit without 10 MiB uploads."""
    service = Service(sqlite_store, FakeClock())
    with TestClient(create_app(service, settings(max_body=1024))) as client:
        yield Api(client, service)


def test_a_body_over_10_mib_is_413(lite: Api) -> None:
    api = lite
    big = b'{"all": true, "where": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    error = error_of(api.post("/api/v1/allocate", content=big), 413)
    assert error["code"] == "too_large" and "10 MiB" in error["message"]


def test_413_without_content_length_and_on_webhooks(small: Api) -> None:
    before = snapshot(small.store)

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        for _ in range(8):
            yield b"x" * 200

    answer = small.post("/api/v1/orders", content=chunks())
    assert error_of(answer, 413)["code"] == "too_large"
    assert error_of(small.client.post("/webhooks/shopify", content=b"x" * 2000), 413)
    assert small.post("/api/v1/orders", content=b"x" * 900).status_code == 400  # under it
    assert snapshot(small.store) == before


# ---- never a stack trace or SQL --------------------------------------------------------------


def test_an_unexpected_failure_is_500_without_details(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = Service(store)

    def broken(*_: Any) -> Any:
        raise RuntimeError("secret internals at line 42")

    monkeypatch.setattr(service, "list_inventory", broken)
    app = create_app(service, settings())
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/inventory", headers=AUTH)
    error = error_of(answer, 500)
    assert error["code"] == "internal" and "secret" not in answer.text


def test_a_database_failure_is_503_without_sql(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    service = Service(store)

    def broken(*_: Any) -> Any:
        raise OperationalError("SELECT secret FROM orders", {}, Exception("disk I/O error"))

    monkeypatch.setattr(service, "list_inventory", broken)
    with TestClient(create_app(service, settings()), raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/inventory", headers=AUTH)
    assert error_of(answer, 503)["code"] == "unavailable"
    assert "secret" not in answer.text and "disk" not in answer.text


def test_health_says_when_the_database_is_unreachable(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    def down() -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(sqlite_store, "read", down)
    with TestClient(create_app(Service(sqlite_store), settings())) as client:
        answer = client.get("/api/v1/health")
        assert client.head("/api/v1/health").status_code == 503
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "error",
        "database": "unreachable",
        "pending_events": None,
        "last_tick": None,
    }


def test_rules_check_refuses_an_invalid_order_of_a_test_as_the_command_line_does(
    api: Api,
) -> None:
    """`dibs rules check` refuses a test order an import would refuse; the API answered the
    same file `ok: true`."""
    text = (
        "version: 1\nrules:\n  - name: ship\n    rule: when new order then allocate\n"
        "tests:\n  - name: t\n    orders:\n"
        "      - {id: A1, channel: web, ship_to: {country: ZZZ}, lines: [{sku: M, qty: 1}]}\n"
        "    expect: {A1: allocated}\n"
    )
    body = api.post("/api/v1/rules/check", content=text).json()
    assert body["ok"] is False and body["ruleset"] is None
    (found,) = body["diagnostics"]
    assert (found["line"], found["column"], found["severity"]) == (8, 51, "error")
    assert found["message"].startswith("test 't': order 'A1': ship_to.country must be a two-letter")
