"""Where a channel's JSON is broken, said as `file:LINE:COLUMN` of the file as it is.

A pretty-printed document with junk after it (an Admin API page with a stray `]`) was read
again as JSON Lines, one physical line at a time: hundreds of problems, none of them at the
junk. And JSON Lines were split by `str.splitlines`, which also breaks at U+2028, U+2029 and
U+0085, characters JSON strings may hold as they are: a valid line holding one was refused as
an unterminated string, and every later problem named a line the file does not have."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.io.channels import ChannelError, read_shopify_json, read_woocommerce_json


def _problems(reader: Any, body: str, name: str) -> list[str]:
    with pytest.raises(ChannelError) as refused:
        reader(body.encode(), name)
    return [str(p) for p in refused.value.problems]


def test_junk_after_a_pretty_printed_document_is_one_problem_at_the_junk(
    shopify_order: dict[str, Any], woocommerce_order: dict[str, Any]
) -> None:
    for reader, order in (
        (read_shopify_json, shopify_order),
        (read_woocommerce_json, woocommerce_order),
    ):
        text = json.dumps({"orders": [order]}, indent=2)
        lines = text.count("\n") + 1
        assert _problems(reader, text + "\n]\n", "page.json") == [
            f"page.json:{lines + 1}:1: is not valid JSON: Extra data"
        ]


def test_json_lines_may_hold_line_separators_inside_strings(
    shopify_order: dict[str, Any],
) -> None:
    second = dict(shopify_order, name="#1002", note="one\u2028two\u2029three\x85four")
    body = "\n".join(json.dumps(o, ensure_ascii=False) for o in (shopify_order, second))
    read = read_shopify_json((body + "\n").encode(), "hooks.jsonl")
    assert [order.mapping["id"] for order in read.orders] == ["#1001", "#1002"]


def test_a_bad_json_line_after_one_holding_a_separator_names_its_own_line(
    shopify_order: dict[str, Any],
) -> None:
    noted = dict(shopify_order, note="a\u2028b")
    body = "\r\n".join([json.dumps(noted, ensure_ascii=False), '{"name": "#3",,}', ""])
    assert _problems(read_shopify_json, body, "hooks.jsonl") == [
        "hooks.jsonl:2:15: is not valid JSON: Expecting property name enclosed in double quotes"
    ]


def test_a_webhook_body_that_is_not_json_names_its_line_and_column() -> None:
    body = '{"name": "#1001",\n  "line_items": [}'
    for reader, name in (
        (read_shopify_json, "shopify webhook"),
        (read_woocommerce_json, "woocommerce webhook"),
    ):
        assert _problems(reader, body, name) == [f"{name}:2:18: is not valid JSON: Expecting value"]
