"""Native orders CSV: the rows of one order agree when their cells mean the same, not only
when their text is the same (`vip,rush` and `rush;vip` name the same tags)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.io.imports import read_orders

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HEADER = "id,channel,placed_at,sku,qty,country,total,tags"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(BadInput) as caught:
        read_orders(path, now=NOW)
    assert caught.value.exit_code == 2
    return caught.value.problems


def test_rows_that_mean_the_same_agree(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        'A1,shopify,2026-11-26T03:54:35Z,X,1,gb,123.00,"vip,rush"\n'
        "A1,shopify,2026-11-26T03:54:35+00:00,Y,2,GB,123,rush;vip\n"
        "A1,shopify,2026-11-26 04:54:35+01:00,Z,3,Gb,123.0,rush| vip |vip\n"
    )
    [order] = read_orders(write(tmp_path, text), now=NOW)
    assert order.tags == frozenset({"vip", "rush"})
    assert order.placed_at == datetime(2026, 11, 26, 3, 54, 35, tzinfo=UTC)
    assert order.ship_to.country == "GB"
    assert order.total == Decimal("123")
    assert [(line.sku, line.qty) for line in order.lines] == [("X", 1), ("Y", 2), ("Z", 3)]


def test_rows_that_mean_something_else_still_disagree(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        'A1,shopify,2026-11-26T03:54:35Z,X,1,GB,123.00,"vip,rush"\n'
        "A1,shopify,2026-11-26T03:54:36Z,Y,1,DE,123.01,vip\n"
    )
    path = write(tmp_path, text)
    agree = "(every row of an order must agree)"
    assert problems_of(path) == [
        f"{path}:3: order 'A1': placed_at '2026-11-26T03:54:36Z' differs from "
        f"'2026-11-26T03:54:35Z' on line 2 {agree}",
        f"{path}:3: order 'A1': country 'DE' differs from 'GB' on line 2 {agree}",
        f"{path}:3: order 'A1': total '123.01' differs from '123.00' on line 2 {agree}",
        f"{path}:3: order 'A1': tags 'vip' differs from 'vip,rush' on line 2 {agree}",
    ]


def test_an_invalid_cell_on_a_later_row_is_named_for_what_is_wrong(tmp_path: Path) -> None:
    text = f"{HEADER}\nA1,shopify,2026-11-26T03:54:35Z,X,1,GB,10.00,\nA1,,,Y,1,USA,abc,\n"
    path = write(tmp_path, text)
    assert problems_of(path) == [
        f"{path}:3: order 'A1': country must be a two-letter country code, got 'USA' "
        "(use the ISO-3166 alpha-2 code, e.g. US, GB, DE)",
        f"{path}:3: order 'A1': total must be a decimal number, got 'abc'",
    ]
