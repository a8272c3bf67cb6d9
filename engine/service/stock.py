"""Stock changes (SPEC §4 `inventory set / adjust / receive`, `inventory import`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.errors import BadInput, check_text
from engine.model import MAX_QTY, EventType, Length, StockKey
from engine.service.cover import recover
from engine.service.kits import refuse_stock_on_kits
from engine.service.shapes import stock_row
from engine.service.tx import Tx
from engine.store import outbox
from engine.store.kit_rows import load_kits
from engine.store.rows import load_stock, write_on_hand

KINDS = ("set", "adjusted", "received")


def check_change(sku: str, warehouse: str, qty: int, kind: str) -> None:
    """Refuse a stock change before any transaction opens (exit 2, nothing written)."""
    if kind == "received" and qty <= 0:
        raise BadInput(f"receive: quantity must be a positive whole number, got {qty}")
    if kind == "set" and qty < 0:
        raise BadInput(f"set: on hand cannot be set below zero, got {qty}")
    if not sku.strip():
        raise BadInput("a SKU cannot be empty")
    if not warehouse.strip():
        raise BadInput("a warehouse name cannot be empty (the default is main)")
    check_text("SKU", sku, Length.SKU)
    check_text("warehouse", warehouse, Length.WAREHOUSE)
    if abs(qty) > MAX_QTY:
        raise BadInput(f"{kind}: quantity {qty} is out of range (at most {MAX_QTY:,})")


def change(tx: Tx, sku: str, warehouse: str, qty: int, kind: str) -> dict[str, Any]:
    """`kind` is `set` (absolute), `adjusted` (signed delta) or `received` (positive delta)."""
    check_change(sku, warehouse, qty, kind)
    tx.lock_stock([(sku, warehouse)])
    apply(tx, [(sku, warehouse, qty)], kind)
    return stock_rows(tx, [(sku, warehouse)])[0]


def import_rows(tx: Tx, rows: Sequence[tuple[str, str, int]]) -> int:
    """Set on hand for many (sku, warehouse) at once."""
    tx.lock_stock([(s, w) for s, w, _ in rows])
    apply(tx, rows, "set")
    return len(rows)


def apply(tx: Tx, rows: Sequence[tuple[str, str, int]], kind: str) -> None:
    """Change on hand, record `inventory.changed` for each row, recompute cover."""
    refuse_stock_on_kits(load_kits(tx.conn), [sku for sku, _, _ in rows])
    now = tx.now()
    current = load_stock(tx.conn, [(s, w) for s, w, _ in rows])
    changed: list[StockKey] = []
    events = []
    for sku, warehouse, qty in rows:
        on_hand, allocated = current.get((sku, warehouse), (0, 0))
        new = qty if kind == "set" else on_hand + qty
        if abs(new) > MAX_QTY:  # the column is a 32-bit integer on every backend
            raise BadInput(
                f"{sku} @ {warehouse}: on hand would become {new}, out of range "
                f"(at most {MAX_QTY:,} either way); nothing changed"
            )
        if (sku, warehouse) not in current or new != on_hand:
            write_on_hand(tx.conn, sku, warehouse, new, exists=(sku, warehouse) in current)
        current[(sku, warehouse)] = (new, allocated)
        changed.append((sku, warehouse))
        events.append(
            outbox.event_row(
                now,
                EventType.INVENTORY_CHANGED,
                None,
                {
                    "kind": kind,
                    "sku": sku,
                    "warehouse": warehouse,
                    "delta": new - on_hand,
                    "on_hand": new,
                },
            )
        )
    outbox.record(tx.conn, events)
    recover(tx, changed, f"inventory.{kind}")


def stock_rows(tx: Tx, keys: Sequence[StockKey]) -> list[dict[str, Any]]:
    stock = load_stock(tx.conn, keys)
    return [stock_row(sku, wh, *stock.get((sku, wh), (0, 0))) for sku, wh in keys]
