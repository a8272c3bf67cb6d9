"""Detecting an order file's format from its name and its first bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.io.channels import (
    FORMATS,
    ChannelError,
    FormatNotRecognised,
    detect_format,
    read_head,
    sniff_format,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("shopify_order.json", "shopify-json"),
        ("woocommerce_order.json", "woocommerce-json"),
        ("shopify_orders_export.csv", "shopify-csv"),
    ],
)
def test_recorded_channel_files(fixtures: Path, fixture: str, expected: str) -> None:
    assert sniff_format(fixtures / fixture) == expected


@pytest.mark.parametrize("example", ["orders.json", "orders.csv"])
def test_native_examples_are_dibs(example: str) -> None:
    assert sniff_format(EXAMPLES / example) == "dibs"


@pytest.mark.parametrize(
    ("wrap", "suffix"),
    [
        (lambda o: json.dumps([o, o], indent=2), ".json"),
        (lambda o: json.dumps({"orders": [o]}), ".json"),
        (lambda o: json.dumps({"order": o}), ".json"),
        (lambda o: json.dumps(o) + "\n" + json.dumps(o), ".jsonl"),
        (lambda o: json.dumps(o), ".txt"),  # no helpful extension: the content decides
        (lambda o: json.dumps(o), ""),
    ],
)
def test_containers_and_extensions(
    shopify_order: dict[str, Any], woocommerce_order: dict[str, Any], wrap: Any, suffix: str
) -> None:
    assert detect_format(f"x{suffix}", wrap(shopify_order).encode()) == "shopify-json"
    assert detect_format(f"x{suffix}", wrap(woocommerce_order).encode()) == "woocommerce-json"


def test_a_head_cut_mid_object_is_enough(shopify_order: dict[str, Any]) -> None:
    shopify_order["line_items"] *= 500  # a big order: the head ends inside line_items
    data = json.dumps([shopify_order]).encode()
    assert len(data) > 64 * 1024
    assert detect_format("big.json", data[:4096]) == "shopify-json"


def test_native_jsonl_and_a_bom() -> None:
    line = json.dumps({"id": "A1", "channel": "web", "lines": [{"sku": "X", "qty": 1}]})
    assert detect_format("o.jsonl", ("\ufeff" + line).encode()) == "dibs"


def test_an_empty_file_goes_to_the_native_reader_for_its_message() -> None:
    assert detect_format("o.json", b"") == "dibs"
    assert detect_format("o.json", b" [ ] ") == "dibs"
    assert detect_format("o.csv", b"") == "dibs"


def test_csv_headers() -> None:
    assert (
        detect_format("e.csv", b"\xef\xbb\xbfName,Email,Lineitem quantity,Lineitem sku\r\n")
        == "shopify-csv"
    )
    assert detect_format("o.csv", b"id,channel,placed_at,sku,qty\n") == "dibs"
    assert detect_format("o", b"id,channel,placed_at,sku,qty\n") == "dibs"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"id,channel,placed_at,sku\n", "dibs"),  # no qty
        (b"id,channel,placed_at,qty\n", "dibs"),  # no sku
        (b"order_id,channel,placed_at,sku,quantity\n", "dibs"),  # two columns misnamed
        (b"Name,Email,Lineitem quantity,Lineitem name\n", "shopify-csv"),  # no Lineitem sku
        (b"Name,Lineitem sku\n", "shopify-csv"),
    ],
)
def test_a_header_short_of_a_column_goes_to_its_reader_to_name_it(
    header: bytes, expected: str
) -> None:
    """A native header without `qty` was "a header no order format uses"; its own reader says
    which column is missing (`missing required column qty`)."""
    assert detect_format("o.csv", header) == expected


@pytest.mark.parametrize(
    ("name", "head", "why"),
    [
        ("o.csv", b"order,item,count\n", "has a header no order format uses"),
        ("o.json", b'{"customer": "Ann"}', "holds no order this reader knows"),
        ("o.json", b"hello", "does not start like JSON ({ or [)"),
        (
            "o.json",
            b'{"line_items": []}',
            "has line_items but cannot be told apart as Shopify or WooCommerce",
        ),
        ("o.csv", b"\xff\xfe\x00N\x00a", "has a header no order format uses"),
    ],
)
def test_unrecognised_files_say_what_was_tried(name: str, head: bytes, why: str) -> None:
    with pytest.raises(FormatNotRecognised) as caught:
        detect_format(name, head)
    assert isinstance(caught.value, ChannelError)
    [problem] = caught.value.problems
    assert problem.where == name
    assert problem.message.startswith(why + "; tried ")
    assert "dibs" in problem.message
    assert problem.message.endswith(f"name one with --format ({', '.join(FORMATS)})")
    assert len(caught.value.tried) >= 2


@pytest.mark.parametrize(
    ("name", "head", "why"),
    [
        (
            "stock.csv",
            b"sku,on_hand\nMUG,4\n",
            "is a stock file (sku,on_hand): `dibs inventory import` reads it",
        ),
        (
            "o.csv",
            b"id;channel;placed_at;sku;qty\r\n",
            "separates its columns with ';': dibs reads comma-separated CSV (in a spreadsheet, "
            "save as CSV UTF-8, comma-delimited)",
        ),
        (
            "o.csv",
            b"id\tchannel\tplaced_at\tsku\tqty\n",
            "separates its columns with tabs: dibs reads comma-separated CSV (in a spreadsheet, "
            "save as CSV UTF-8, comma-delimited)",
        ),
    ],
)
def test_a_file_of_the_wrong_kind_is_told_only_what_it_is(name: str, head: bytes, why: str) -> None:
    """A `;`-separated export or a stock file was also told the formats tried and to "name one
    with --format", which leads away from the fix (`--format dibs` then failed on a column
    named 'id;channel;placed_at;sku;qty')."""
    with pytest.raises(FormatNotRecognised) as caught:
        detect_format(name, head)
    [problem] = caught.value.problems
    assert (problem.where, problem.message) == (name, why)


def test_read_head_is_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    line = json.dumps({"id": "A1", "channel": "web", "lines": [{"sku": "X", "qty": 1}]}) + "\n"
    big.write_text(line * 20_000)  # ~1.4 MB
    assert len(read_head(big)) == 64 * 1024
    assert len(read_head(big, 100)) == 100
    assert sniff_format(big) == "dibs"
