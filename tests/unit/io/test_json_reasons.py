"""A JSON syntax error ends in words, not a dangling "at": Python's decoder says
"Unterminated string starting at" and "Invalid control character at" and leaves the position to
the caller, which dibs gives as LINE:COLUMN in front. Every reader words it the same way: a
native import (JSON and JSON Lines), a channel's JSON, an API body."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.io.channels import ChannelError, read_shopify_json
from engine.io.imports import read_orders
from engine.io.messages import json_reason

BROKEN = [
    ('{"id": "A', "Unterminated string starting here"),
    ('{"id": "A\x01"}', "Invalid control character here"),
    ('{"id": 1,}', "Expecting property name enclosed in double quotes"),
]


@pytest.mark.parametrize(("text", "reason"), BROKEN)
def test_a_native_import_words_the_reason_whole(tmp_path: Path, text: str, reason: str) -> None:
    for name, body in (("orders.jsonl", text + "\n"), ("orders.json", "[" + text)):
        path = tmp_path / name
        path.write_text(body)
        with pytest.raises(BadInput) as refused:
            list(read_orders(path))
        message = str(refused.value)
        assert f"invalid JSON: {reason}" in message
        assert not message.rstrip().endswith(" at")


@pytest.mark.parametrize(("text", "reason"), BROKEN)
def test_a_channel_body_words_the_reason_whole(text: str, reason: str) -> None:
    with pytest.raises(ChannelError) as refused:
        read_shopify_json(text.encode(), "page.json")
    (problem,) = refused.value.problems
    assert str(problem).endswith(f"is not valid JSON: {reason}")


def test_only_a_dangling_at_is_reworded() -> None:
    assert json_reason("Unterminated string starting at") == "Unterminated string starting here"
    assert json_reason("Expecting value") == "Expecting value"
    assert json_reason("Extra data") == "Extra data"
