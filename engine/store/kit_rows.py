"""Kits in the database (SPEC §12): definitions, and what depends on them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import and_, delete, insert, inspect, or_, select
from sqlalchemy.engine import Connection

from engine.model import Kits, StockKey, parts_of
from engine.store.schema import inventory, kits, order_lines, reservations


def load_kits(conn: Connection) -> dict[str, tuple[tuple[str, int], ...]]:
    """Every kit and its components (the table is small: one row per kit component)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for kit, component, qty in conn.execute(
        select(kits.c.kit, kits.c.component, kits.c.qty).order_by(kits.c.kit, kits.c.component)
    ):
        out.setdefault(kit, []).append((component, qty))
    return {kit: tuple(parts) for kit, parts in out.items()}


def write_kits(conn: Connection, definitions: Mapping[str, Sequence[tuple[str, int]]]) -> None:
    """Replace the definitions of these kits."""
    conn.execute(delete(kits).where(kits.c.kit.in_(sorted(definitions))))
    rows = [
        {"kit": kit, "component": sku, "qty": qty}
        for kit, parts in definitions.items()
        for sku, qty in parts
    ]
    if rows:
        conn.execute(insert(kits), rows)


def delete_kit(conn: Connection, kit: str) -> None:
    conn.execute(delete(kits).where(kits.c.kit == kit))


def stocked(conn: Connection, skus: Iterable[str]) -> dict[str, StockKey]:
    """SKUs of `skus` that have stock or reservations of their own: sku -> one such row."""
    out: dict[str, StockKey] = {}
    for sku, wh in conn.execute(
        select(inventory.c.sku, inventory.c.warehouse)
        .where(
            inventory.c.sku.in_(sorted(set(skus))),
            or_(inventory.c.on_hand != 0, inventory.c.allocated != 0),
        )
        .order_by(inventory.c.sku, inventory.c.warehouse)
    ):
        out.setdefault(sku, (sku, wh))
    return out


def kit_line_holders(conn: Connection, kit_skus: Iterable[str]) -> dict[str, list[str]]:
    """Kit -> the orders holding live reservations on a line of that kit."""
    out: dict[str, set[str]] = {}
    for sku, oid in conn.execute(
        select(order_lines.c.sku, reservations.c.order_id)
        .distinct()
        .join(
            order_lines,
            and_(
                order_lines.c.order_id == reservations.c.order_id,
                order_lines.c.line_no == reservations.c.line_no,
            ),
        )
        .where(order_lines.c.sku.in_(sorted(set(kit_skus))))
    ):
        out.setdefault(sku, set()).add(oid)
    return {kit: sorted(ids) for kit, ids in out.items()}


def stock_by_warehouse(conn: Connection, skus: Iterable[str]) -> dict[str, dict[str, int]]:
    """Warehouse -> sku -> available, for the stock rows of `skus`."""
    out: dict[str, dict[str, int]] = {}
    for sku, wh, on_hand, allocated in conn.execute(
        select(
            inventory.c.sku, inventory.c.warehouse, inventory.c.on_hand, inventory.c.allocated
        ).where(inventory.c.sku.in_(sorted(set(skus))))
    ):
        out.setdefault(wh, {})[sku] = on_hand - allocated
    return out


def known_warehouses(conn: Connection, names: Iterable[str]) -> set[str]:
    """Which of `names` have at least one stock row."""
    query = select(inventory.c.warehouse).distinct()
    return set(conn.execute(query.where(inventory.c.warehouse.in_(sorted(set(names))))).scalars())


def stock_warehouses(conn: Connection) -> list[str]:
    """Every warehouse with at least one stock row, sorted (for did-you-mean hints)."""
    query = select(inventory.c.warehouse).distinct().order_by(inventory.c.warehouse)
    return list(conn.execute(query).scalars())


def expand(kits_: Kits, skus: Iterable[str]) -> set[str]:
    """The SKUs whose stock these SKUs reserve: kit components, plain SKUs themselves."""
    out: set[str] = set()
    for sku in skus:
        out.update(part for part, _ in parts_of(sku, kits_))
    return out


def has_stock(conn: Connection) -> bool:
    """Whether the database has its tables and at least one stock row."""
    if not inspect(conn).has_table(inventory.name):
        return False
    return conn.execute(select(inventory.c.sku).limit(1)).first() is not None
