"""Hostile input never escapes as anything but `ChannelError`, and what is accepted is valid.

Two properties per adapter, under random and garbage JSON values (nulls, wrong types, huge
numbers, NaN, deep nesting, lone surrogates, NUL) put anywhere in a realistic order, and under
random bytes:

- reading either returns a `ChannelRead` or raises `ChannelError`; nothing else, ever;
- every mapping it returns is accepted by the native order validator, has a known status and an
  aware (or no) `updated_at`, and is plain JSON.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import importlib
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.io.channels import (
    ChannelError,
    ChannelRead,
    read_shopify_csv,
    read_shopify_json,
    read_woocommerce_json,
    shopify_order,
    woocommerce_order,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "channels"
SHOPIFY = json.loads((FIXTURES / "shopify_order.json").read_text("utf-8"))
WOOCOMMERCE = json.loads((FIXTURES / "woocommerce_order.json").read_text("utf-8"))
EXPORT = (FIXTURES / "shopify_orders_export.csv").read_text("utf-8-sig")
STATUSES = {"awaiting_fulfillment", "cancelled", "shipped"}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e999",
            "NaN",
            "\x00",
            "\ud800",
            "2026-13-45T99:00",
            "2026-03-02 09:15:00 -0500",
            "true",
            "false",
            "'02134",
            "US",
            "#1001",
            "9" * 5000,
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _native() -> Callable[..., Any] | None:
    for module in ("engine.io.fields", "engine.fields"):
        try:
            return getattr(importlib.import_module(module), "check_order_mapping", None)
        except ImportError:
            continue
    return None


CHECK_ORDER_MAPPING = _native()


def assert_valid(result: ChannelRead) -> None:
    for order in result.orders:
        assert order.status in STATUSES
        assert order.updated_at is None or order.updated_at.tzinfo is not None
        assert json.loads(json.dumps(order.mapping)) == order.mapping
        assert "status" not in order.mapping
        if CHECK_ORDER_MAPPING is not None:
            problems: list[str] = []
            built = CHECK_ORDER_MAPPING(
                order.mapping, "fuzz", datetime(2026, 1, 1, tzinfo=UTC), problems
            )
            assert problems == [] and built is not None, problems


def read_or_refuse(reader: Callable[[bytes | str, str], ChannelRead], data: bytes | str) -> None:
    try:
        result = reader(data, "fuzz")
    except ChannelError as exc:
        assert exc.problems, "a ChannelError always says what is wrong"
        assert all(str(problem) for problem in exc.problems)
        str(exc)
        return
    assert_valid(result)


def places(order: dict[str, Any], nested: tuple[str, ...]) -> list[tuple[Any, Any]]:
    """Every (container, key) of an order a garbage value can replace."""
    spots: list[tuple[Any, Any]] = [(order, key) for key in order]
    for key in nested:
        value = order.get(key)
        if isinstance(value, dict):
            spots += [(value, sub) for sub in value]
        elif isinstance(value, list):
            spots += [(value, index) for index in range(len(value))]
            for item in value:
                if isinstance(item, dict):
                    spots += [(item, sub) for sub in item]
    return spots


def mutated(template: dict[str, Any], nested: tuple[str, ...], data: st.DataObject) -> Any:
    order = copy.deepcopy(template)
    spots = places(order, nested)
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        container, key = data.draw(st.sampled_from(spots))
        container[key] = data.draw(json_values)
    wrap = data.draw(
        st.sampled_from(
            [lambda o: o, lambda o: [o, o], lambda o: {"orders": [o]}, lambda o: {"order": o}]
        )
    )
    return wrap(order)


SHOPIFY_NESTED = ("shipping_address", "shipping_lines", "line_items")
WOO_NESTED = ("shipping", "shipping_lines", "line_items")


@FUZZ
@given(st.data())
def test_shopify_json_with_garbage_values(data: st.DataObject) -> None:
    read_or_refuse(read_shopify_json, json.dumps(mutated(SHOPIFY, SHOPIFY_NESTED, data)))


@FUZZ
@given(st.data())
def test_woocommerce_json_with_garbage_values(data: st.DataObject) -> None:
    read_or_refuse(read_woocommerce_json, json.dumps(mutated(WOOCOMMERCE, WOO_NESTED, data)))


@FUZZ
@given(json_values)
def test_any_json_document(value: Any) -> None:
    text = json.dumps(value)
    read_or_refuse(read_shopify_json, text)
    read_or_refuse(read_woocommerce_json, text)


@FUZZ
@given(json_values)
def test_any_parsed_object(value: Any) -> None:
    for parse in (shopify_order, woocommerce_order):
        with contextlib.suppress(ChannelError):  # any other exception fails the test
            parse(value, "webhook")


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    for reader in (read_shopify_json, read_woocommerce_json, read_shopify_csv):
        read_or_refuse(reader, data)
        read_or_refuse(reader, b'{"line_items": [' + data)


@FUZZ
@given(st.data())
def test_shopify_csv_with_garbage_cells(data: st.DataObject) -> None:
    rows = list(csv.reader(io.StringIO(EXPORT, newline="")))
    cells = st.one_of(
        st.text(max_size=30),
        st.sampled_from(["", "'", "\x00", "9" * 40, "-1", "false", "\r\n", '"', "#1001"]),
    )
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        row = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
        column = data.draw(st.integers(min_value=0, max_value=len(rows[row]) - 1))
        rows[row][column] = data.draw(cells)
    if data.draw(st.booleans()):
        rows.append(data.draw(st.lists(cells, max_size=70)))
    out = io.StringIO()
    csv.writer(out, lineterminator=data.draw(st.sampled_from(["\r\n", "\n"]))).writerows(rows)
    read_or_refuse(read_shopify_csv, out.getvalue())
    read_or_refuse(read_shopify_csv, out.getvalue().encode("utf-8", "surrogatepass"))
