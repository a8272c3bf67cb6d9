"""Unit-test fixtures for dsl and rules: order doubles with the attributes rules read.

The suite runs with --import-mode=importlib, so tests reach these through fixtures, not imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Address:
    name: str | None = None
    country: str | None = "US"
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class Line:
    sku: str
    qty: int


@dataclass(frozen=True)
class Order:
    id: str = "A1"
    channel: str = "shopify"
    status: str = "awaiting_fulfillment"
    allocation_status: str = "unallocated"
    placed_at: datetime = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
    shipping_method: str | None = "ground"
    total: Decimal | None = Decimal("50.00")
    ship_to: Address = field(default_factory=Address)
    warehouse: str = "main"
    tags: frozenset[str] = frozenset()
    attributes: dict[str, Any] = field(default_factory=dict)
    lines: tuple[Line, ...] = (Line("WIDGET", 1),)


def new_order(**kwargs: Any) -> Order:
    """An order with test defaults; ``country=`` sets ship_to.country."""
    if "country" in kwargs:
        kwargs["ship_to"] = Address(country=kwargs.pop("country"))
    return Order(**kwargs)


@pytest.fixture
def make_order() -> Callable[..., Order]:
    """Build an order double (keyword arguments override the defaults)."""
    return new_order


@pytest.fixture
def make_line() -> type[Line]:
    """The order-line double class."""
    return Line


@pytest.fixture
def now() -> datetime:
    """The evaluation time used by the tests (orders default to one day old)."""
    return NOW
