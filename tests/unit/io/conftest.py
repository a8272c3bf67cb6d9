"""Fixtures for the channel adapter tests: the recorded payloads and the native validator.

The suite runs with --import-mode=importlib, so tests reach these through fixtures.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

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


def _native_validator() -> Callable[..., Any] | None:
    # The native readers are moving from engine/ to engine/io/; accept either home.
    for module in ("engine.io.fields", "engine.fields"):
        try:
            return getattr(importlib.import_module(module), "check_order_mapping", None)
        except ImportError:
            continue
    return None


@pytest.fixture
def native_check() -> NativeCheck:
    """Assert that a mapping is accepted whole by the native order validator."""
    check = _native_validator()
    if check is None:
        pytest.skip("the native order validator (check_order_mapping) is not importable")

    def run(mapping: dict[str, Any]) -> None:
        problems: list[str] = []
        order = check(mapping, "test", datetime(2026, 1, 1, tzinfo=UTC), problems)
        assert problems == [], problems
        assert order is not None

    return run
