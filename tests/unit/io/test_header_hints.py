"""Header cells are matched without regard to case, so the did-you-mean of an unknown one is
too: a spreadsheet's `On Hand` is `on_hand` misspelt, not a column dibs has never heard of."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.io.imports import read_inventory, read_orders


def problems(read: object, path: Path) -> list[str]:
    with pytest.raises(BadInput) as caught:
        read(path)  # type: ignore[operator]
    return caught.value.problems


def test_an_inventory_header_in_title_case_is_hinted(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text("SKU,On Hand\nMUG,5\n", encoding="utf-8")
    assert problems(read_inventory, path)[0] == (
        f"{path}:1: unknown column 'On Hand'; did you mean 'on_hand'?"
    )


def test_an_orders_header_with_spaces_is_hinted(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "id,channel,placed_at,sku,qty,Shipping Method\nA1,web,2026-11-28,MUG,1,ground\n",
        encoding="utf-8",
    )
    assert problems(read_orders, path) == [
        f"{path}:1: unknown column 'Shipping Method'; did you mean 'shipping_method'?"
    ]
