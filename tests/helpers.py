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


def snapshot(store: Any) -> dict[str, list[str]]:
    """Every row of every table, sorted: proof that something wrote nothing at all."""
    from sqlalchemy import select

    from engine.store import metadata

    with store.read() as conn:
        return {
            name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for name, table in metadata.tables.items()
        }


def table_counts(conn: Any) -> dict[str, int]:
    """Row counts of every table: how tests prove that a refused operation wrote nothing."""
    from sqlalchemy import text

    from engine.store import metadata

    return {
        name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
        for name in sorted(metadata.tables)
    }


def decide(lines: Any, warehouse: str, available: Any, policy: Any) -> list[int]:
    """The grants of one allocation attempt against read-only availability (model.attempt
    without committing): how many units each line would reserve now."""
    from engine.model import attempt

    stock = {key: [value, 0] for key, value in available.items()}
    grants, _ = attempt(
        [(line.sku, line.qty, line.reserved) for line in lines],
        warehouse,
        stock,
        policy,
        commit=False,
    )
    return grants
