"""The JSON Lines reader's fast path (`engine.io.wire`: msgspec's typed decoding, then the quick
path's checks) changes nothing: on every line, valid or hostile, the reader yields the same
orders and words the same problems as with the json module and the validators alone."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.io import import_json, wire
from engine.model import Order

NOW = datetime(2026, 3, 10, tzinfo=UTC)


def _never(raw: str, now: datetime) -> None:
    return None  # the reference takes no line by the fast path


@contextmanager
def _without_fast_path() -> Iterator[None]:
    with mock.patch.object(wire, "quick_line", _never):
        yield


def _read(text: str) -> tuple[list[tuple[Order, str]], list[str]]:
    problems: list[str] = []
    found = list(import_json.iter_jsonl(io.StringIO(text, newline=""), "f.jsonl", NOW, problems))
    return found, problems


def _both(text: str) -> tuple[Any, Any]:
    fast = _read(text)
    with _without_fast_path():
        reference = _read(text)
    return fast, reference


PLAIN = (
    '{"id":"B1","channel":"shopify","placed_at":"2026-11-23T18:59:09Z","ship_to":'
    '{"country":"US"},"shipping_method":"ground","total":"50.96","tags":["vip"],'
    '"lines":[{"sku":"SKU-1","qty":1},{"sku":"SKU-2","qty":2}]}'
)


def _with(**changes: str) -> str:
    """PLAIN with the raw JSON text of some values replaced."""
    obj = json.loads(PLAIN)
    text = json.dumps({key: f"@{key}@" if key in changes else value for key, value in obj.items()})
    for key, raw in changes.items():
        text = text.replace(f'"@{key}@"', raw)
    return text


# Lines msgspec and the json module read differently, or that only one of them accepts.
HOSTILE = [
    PLAIN,
    _with(total="19.99"),  # a float to msgspec, a Decimal to the json module
    _with(total="1e400"),  # infinity
    _with(total="NaN"),  # the json module's extension
    _with(id="123456789012345678901234567890"),  # beyond 64 bits
    _with(id="-9223372036854775809"),
    _with(id="18446744073709551615"),
    _with(id="1" * 5000),  # beyond the json module's 4,300 digits
    _with(channel='"\\ud800"'),  # a lone surrogate escape
    _with(channel='"\\udc00x"'),
    _with(channel='"\\ud83d\\ude00"'),  # a proper pair
    _with(channel='"a\\u0000b"'),
    _with(channel='"' + "x" * 200_000 + '"'),  # a very long string
    _with(tags="[" * 2000 + "]" * 2000),  # nesting beyond both decoders' limits
    _with(tags="[" * 1010 + "]" * 1010),  # beyond the json module's only
    _with(attributes='{"n": ' + "7" * 4400 + "}"),  # beyond the json module's 4,300 digits
    _with(attributes='{"n": ' + "7" * 30 + "}"),
    _with(attributes='{"n": 1, "n": 1.5}'),
    _with(ship_to='{"country": "us", "country": null}'),
    _with(ship_to="{}"),
    _with(ship_to='{"zip": "1"}'),
    _with(lines="[]"),
    _with(lines='[{"sku": "A", "qty": 1}, {"sku": "A", "qty": 1}]'),
    _with(status='"shipped"'),
    _with(tags='["a",]'),
    _with(lines='[{"sku":"A","qty":1,"sku":"B"}]'),  # a repeated key: the last one counts
    _with(lines='[{"sku":"A","qty":1.0}]'),
    _with(lines='[{"sku":"A","qty":-0}]'),
    _with(lines='[{"sku":"A","qty":01}]'),
    PLAIN + " x",
    "\ufeff" + PLAIN,
    PLAIN.replace('"vip"', '"v\tip"'),  # a raw control character
    PLAIN + "\r",
    "  " + PLAIN + " \t",
    "[]",
    "null",
    "",
    " \t",
    "{",
]


def test_hostile_lines_read_alike() -> None:
    for line in HOSTILE:
        fast, reference = _both(line + "\n")
        assert fast == reference, line[:80]


def test_a_whole_file_reads_alike_with_its_line_numbers_and_duplicates() -> None:
    text = "\n".join([PLAIN, *HOSTILE, PLAIN.replace("B1", "B2"), PLAIN]) + "\r\n"
    fast, reference = _both(text)
    assert fast == reference
    orders, problems = fast
    assert orders and problems
    assert any("duplicate order id 'B1' (first on line 1)" in p for p in problems)


def test_the_fast_path_is_taken_for_a_plain_line() -> None:
    with (
        mock.patch.object(import_json, "check_order_mapping") as full,
        mock.patch.object(import_json, "quick_order") as mapping,
    ):
        orders, problems = _read(PLAIN + "\n")
    assert not full.called and not mapping.called and problems == []
    assert [where for _, where in orders] == ["f.jsonl:1"]


_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["", " US ", "us", "2026-11-23T18:59:09Z", "2026-11-23", "50.96", "1e3"]),
)
_flat = st.one_of(
    _scalar,
    st.lists(_scalar, max_size=3),
    st.dictionaries(st.text(max_size=4), _scalar, max_size=3),
)
_value = st.one_of(  # two levels of containers: nesting beyond is in HOSTILE
    _flat, st.lists(_flat, max_size=2), st.dictionaries(st.text(max_size=3), _flat, max_size=2)
)
_good_line = st.fixed_dictionaries(
    {"sku": st.sampled_from(["A", " B ", "S" * 201]), "qty": st.integers(-1, 3)}
)
_order = st.fixed_dictionaries(
    {
        "id": st.one_of(st.sampled_from(["A1", " A2 ", ""]), st.integers(-(2**66), 2**66)),
        "channel": st.one_of(st.sampled_from(["web", "café", " x "]), _value),
        "lines": st.one_of(st.lists(st.one_of(_good_line, _value), max_size=3), _value),
    },
    optional={
        "placed_at": st.one_of(st.sampled_from(["2026-11-23T18:59:09+05:00", "soon"]), _value),
        "ship_to": st.one_of(
            st.dictionaries(
                st.sampled_from(["name", "country", "city", "zip"]),
                st.one_of(st.sampled_from(["us", "GB", "Ann"]), _value),
                max_size=3,
            ),
            _value,
        ),
        "total": st.one_of(st.sampled_from(["50.96", 12, "1.23456"]), _value),
        "tags": st.one_of(st.lists(st.sampled_from(["vip", " ", "x" * 101]), max_size=2), _value),
        "attributes": st.one_of(st.dictionaries(st.sampled_from(["a", " "]), _value), _value),
        "status": st.one_of(st.just("awaiting_fulfillment"), _value),
        "warehouse": st.one_of(st.sampled_from(["main", "east", ""]), _value),
        "extra": _value,
    },
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_order, min_size=1, max_size=4), st.data())
def test_varied_lines_read_alike(objs: list[dict[str, Any]], data: st.DataObject) -> None:
    lines = []
    for obj in objs:
        text = json.dumps(obj, ensure_ascii=data.draw(st.booleans()))
        if data.draw(st.integers(0, 4)) == 0:  # now and then a damaged line
            cut = data.draw(st.integers(0, len(text)))
            text = text[:cut] + data.draw(st.sampled_from(["", "}", ",", "\\", '"', "1e9999"]))
        lines.append(text)
    fast, reference = _both("\n".join(lines) + "\n")
    assert fast == reference
