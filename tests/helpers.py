"""Small builders shared by tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine.model import Line, Order

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def order(oid: str, *lines: tuple[str, int], minutes: int = 0, **kw: Any) -> Order:
    """An order placed `minutes` after T0 with (sku, qty) lines."""
    return Order(
        id=oid,
        channel=kw.pop("channel", "shopify"),
        placed_at=kw.pop("placed_at", T0 + timedelta(minutes=minutes)),
        lines=tuple(Line(sku, qty) for sku, qty in lines),
        **kw,
    )
