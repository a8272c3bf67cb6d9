"""An app per test over the `store` fixture (SQLite and PostgreSQL), with Starlette's client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.service import Service
from engine.store import Store
from engine.web.app import create_app
from engine.web.settings import Settings
from tests.conftest import FakeClock

TOKEN = "s3cret-token"
SHOPIFY_SECRET = "shpss_test_secret"
WOO_SECRET = "woo-test-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Api:
    """The test client with the token, and the service behind it."""

    def __init__(self, client: TestClient, service: Service) -> None:
        self.client = client
        self.service = service
        self.store = service.store

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=AUTH, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers={**AUTH, **kw.pop("headers", {})}, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.client.put(path, headers=AUTH, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.client.patch(path, headers={**AUTH, **kw.pop("headers", {})}, **kw)

    def add(self, *orders: dict[str, Any]) -> None:
        answer = self.post("/api/v1/orders", json=list(orders))
        assert answer.status_code == 201, answer.text

    def stock(self, sku: str, on_hand: int) -> None:
        assert self.put(f"/api/v1/inventory/{sku}", json={"on_hand": on_hand}).status_code == 200


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {
        "api_token": TOKEN,
        "shopify_secret": SHOPIFY_SECRET,
        "woocommerce_secret": WOO_SECRET,
    }
    return Settings(**{**base, **kw})


@pytest.fixture
def api(store: Store) -> Iterator[Api]:
    service = Service(store, FakeClock())
    with TestClient(create_app(service, settings())) as client:
        yield Api(client, service)


@pytest.fixture
def lite(sqlite_store: Store) -> Iterator[Api]:
    """The same on SQLite only, for what does not depend on the backend (auth, limits)."""
    service = Service(sqlite_store, FakeClock())
    with TestClient(create_app(service, settings())) as client:
        yield Api(client, service)


def order(oid: str, *lines: tuple[str, int], **kw: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "channel": kw.pop("channel", "web"),
        "placed_at": kw.pop("placed_at", "2026-01-01T09:00:00Z"),
        "lines": [{"sku": s, "qty": q} for s, q in lines],
        **kw,
    }


def error_of(answer: Any, status: int) -> dict[str, Any]:
    """The error object of an answer that must have `status` and the one error shape."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "field"} <= set(body["error"]), body
    assert "Traceback" not in answer.text and "SELECT" not in answer.text
    error: dict[str, Any] = body["error"]
    return error
