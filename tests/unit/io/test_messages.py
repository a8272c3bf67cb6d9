"""How problems show the values they name (engine.io.messages.show)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.io.messages import show


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1e400"), "1e400"),  # as JSON writes it, not Decimal's 1E+400
        (Decimal("1.5E-7"), "1.5e-7"),
        (Decimal("12.50"), "12.50"),
        (Decimal("-3"), "-3"),
        (Decimal("9" * 300 + ".5"), "a number of about 301 digits"),
        (Decimal("-" + "9" * 90), "a negative number of about 90 digits"),
        (2**300, "a number of about 90 digits"),
        (-(2**300), "a negative number of about 90 digits"),
        (7, "7"),
        ("MUG", "'MUG'"),
        (None, "null"),
    ],
)
def test_values_are_shown_short_and_as_written(value: object, shown: str) -> None:
    assert show(value) == shown


def test_a_huge_number_in_a_file_is_echoed_as_written(tmp_path) -> None:
    from engine.errors import BadInput
    from engine.io.imports import read_orders

    path = tmp_path / "o.jsonl"
    path.write_text(
        '{"id":"A1","channel":"web","placed_at":"2026-01-01T00:00:00Z","total":1e400,'
        '"lines":[{"sku":"X","qty":1}]}\n'
    )
    with pytest.raises(BadInput) as caught:
        read_orders(path)
    assert "total is too large, got 1e400" in str(caught.value)
    assert "E+" not in str(caught.value)
