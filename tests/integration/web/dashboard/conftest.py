"""Fixtures of the dashboard tests: a client that signs in and posts forms like a browser
without JavaScript, over an app per test on the `store` fixture (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.io.imports import check_order_mapping
from engine.service import Service
from engine.store import Store
from engine.web.app import create_app
from engine.web.settings import Settings
from rules.loader import load_ruleset
from tests.conftest import FakeClock
from tests.integration.web.conftest import TOKEN, order, settings

RULES = Path(__file__).resolve().parents[4] / "examples" / "rules.yaml"


class Dash:
    """A browser without JavaScript: a client that signs in and posts forms with their token."""

    def __init__(self, client: TestClient, service: Service) -> None:
        self.client = client
        self.service = service

    def csrf(self, path: str = "/") -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.client.get(path).text)
        assert found, "no form token on " + path
        return found.group(1)

    def sign_in(self) -> None:
        answer = self.client.post(
            "/login",
            data={"token": TOKEN, "csrf_token": self.csrf("/login"), "next": "/"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any], **kw: Any) -> Any:
        return self.client.post(
            path, data={"csrf_token": self.csrf(), **data}, follow_redirects=False, **kw
        )

    def status(self, oid: str) -> str:
        return self.service.get_order(oid).allocation_status


def make_app(store: Store, config: Settings, with_rules: bool = True) -> Any:
    service = Service(store, FakeClock())
    ruleset = load_ruleset(RULES) if with_rules else None
    return service, create_app(service, config, ruleset=lambda: ruleset)


@pytest.fixture
def dash(store: Store) -> Iterator[Dash]:
    service, app = make_app(store, settings())
    with TestClient(app) as client:
        yield Dash(client, service)


@pytest.fixture
def signed(dash: Dash) -> Dash:
    dash.sign_in()
    return dash


def seed(service: Service) -> None:
    """A(2 W) allocated, B(5 W) could not, C(1 G) unallocated, tagged; stock W 3, G 1."""
    service.change_stock("W", "main", 3, "set")
    service.change_stock("G", "main", 1, "set")
    docs = [
        order("A", ("W", 2), placed_at="2026-01-01T09:00:00Z", channel="shop"),
        order("B", ("W", 5), placed_at="2026-01-01T10:00:00Z", channel="shop"),
        order("C", ("G", 1), placed_at="2026-01-01T11:00:00Z", channel="amazon", tags=["vip"]),
    ]
    problems: list[str] = []
    new = [check_order_mapping(d, "seed", FakeClock()(), problems) for d in docs]
    assert not problems
    service.add_orders([o for o in new if o is not None])
    service.allocate(["A", "B"])


def page_text(answer: Any) -> str:
    """The page's text without tags, for asserting what a reader sees."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.text)))
