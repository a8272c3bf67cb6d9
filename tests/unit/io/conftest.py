"""Fixtures for the channel adapter tests: the recorded payloads and the native validator.

The suite runs with --import-mode=importlib, so tests reach these through fixtures.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.io.fields import check_order_mapping

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "channels"
NativeCheck = Callable[[dict[str, Any]], None]


@pytest.fixture
def fixtures() -> Path:
    """tests/fixtures/channels: realistic Shopify and WooCommerce payloads."""
    return FIXTURES


@pytest.fixture
def shopify_order() -> dict[str, Any]:
    """A Shopify Admin REST order (the shape of an orders/create webhook), freshly loaded."""
    return copy.deepcopy(json.loads((FIXTURES / "shopify_order.json").read_text("utf-8")))


@pytest.fixture
def woocommerce_order() -> dict[str, Any]:
    """A WooCommerce REST v3 order, freshly loaded."""
    return copy.deepcopy(json.loads((FIXTURES / "woocommerce_order.json").read_text("utf-8")))


@pytest.fixture
def native_check() -> NativeCheck:
    """Assert that a mapping is accepted whole by the native order validator."""
    check = check_order_mapping

    def run(mapping: dict[str, Any]) -> None:
        problems: list[str] = []
        order = check(mapping, "test", datetime(2026, 1, 1, tzinfo=UTC), problems)
        assert problems == [], problems
        assert order is not None

    return run
