"""Stock changes (SPEC §4 `inventory set / adjust / receive`, `inventory import`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.errors import BadInput, check_text
from engine.model import MAX_QTY, Length, StockKey
from engine.service.cover import recover
from engine.service.kits import refuse_stock_on_kits
from engine.service.shapes import stock_row
from engine.service.tx import Tx
from engine.store.kit_rows import load_kits
from engine.store.rows import load_stock
from engine.store.stock_rows import record_stock_events, write_on_hand_many

KINDS = ("set", "adjusted", "received")


def check_change(sku: str, warehouse: str, qty: int, kind: str) -> None:
    """Refuse a stock change before any transaction opens (exit 2, nothing written). Each
    refusal names its `field` as the HTTP API's bodies do (`on_hand` for a set, else `qty`)."""
    amount = "on_hand" if kind == "set" else "qty"
    if kind == "received" and qty <= 0:
        raise BadInput(
            f"receive: quantity must be a positive whole number, got {qty}", field=amount
        )
    if kind == "set" and qty < 0:
        raise BadInput(f"set: on hand cannot be set below zero, got {qty}", field=amount)
    if not sku.strip():
        raise BadInput("a SKU cannot be empty", field="sku")
    if not warehouse.strip():
        raise BadInput("a warehouse name cannot be empty (the default is main)", field="warehouse")
    for what, text, limit, field in (
        ("SKU", sku, Length.SKU, "sku"),
        ("warehouse", warehouse, Length.WAREHOUSE, "warehouse"),
    ):
        try:
            check_text(what, text, limit)
        except BadInput as exc:
            raise BadInput(str(exc), field=field) from None
    if abs(qty) > MAX_QTY:
        raise BadInput(
            f"{kind}: quantity {qty} is out of range (at most {MAX_QTY:,})", field=amount
        )


def change(tx: Tx, sku: str, warehouse: str, qty: int, kind: str) -> dict[str, Any]:
    """`kind` is `set` (absolute), `adjusted` (signed delta) or `received` (positive delta)."""
    check_change(sku, warehouse, qty, kind)
    tx.lock_stock([(sku, warehouse)])
    apply(tx, [(sku, warehouse, qty)], kind)
    return stock_rows(tx, [(sku, warehouse)])[0]


def import_rows(
    tx: Tx, rows: Sequence[tuple[str, str, int]], places: Mapping[str, str] | None = None
) -> int:
    """Set on hand for many (sku, warehouse) at once; `places` (sku -> `file:line`) names a
    refused row in its file."""
    tx.lock_stock([(s, w) for s, w, _ in rows])
    apply(tx, rows, "set", places)
    return len(rows)


def apply(
    tx: Tx,
    rows: Sequence[tuple[str, str, int]],
    kind: str,
    places: Mapping[str, str] | None = None,
) -> None:
    """Change on hand, record `inventory.changed` for each row that moves it, recompute cover.

    In bulk: one read of the current stock of every key, one executemany for the updates and
    one for the new rows, one for the events, and coverage recomputed only for the keys whose
    on hand moved (`recover` reads their reservations at once; keys without any cost nothing).
    """
    refuse_stock_on_kits(load_kits(tx.conn), [sku for sku, _, _ in rows], places)
    current = load_stock(tx.conn, [(s, w) for s, w, _ in rows])
    before = {key: on_hand for key, (on_hand, _) in current.items()}
    after: dict[StockKey, int] = {}
    events = []
    for sku, warehouse, qty in rows:
        key = (sku, warehouse)
        on_hand = after.get(key, before.get(key, 0))
        new = qty if kind == "set" else on_hand + qty
        if abs(new) > MAX_QTY:  # the column is a 32-bit integer on every backend
            raise BadInput(
                f"{sku} @ {warehouse}: on hand would become {new}, out of range "
                f"(at most {MAX_QTY:,} either way); nothing changed",
                field="on_hand" if kind == "set" else "qty",
            )
        after[key] = new
        if new == on_hand:
            continue  # nothing moved: no event, so no `inventory changed` rule wakes for it
        events.append(
            {
                "kind": kind,
                "sku": sku,
                "warehouse": warehouse,
                "delta": new - on_hand,
                "on_hand": new,
            }
        )
    updates = [
        (new, s, w) for (s, w), new in after.items() if (s, w) in before and new != before[(s, w)]
    ]
    inserts = [(s, w, new) for (s, w), new in after.items() if (s, w) not in before]
    write_on_hand_many(tx.conn, updates, inserts)
    record_stock_events(tx.conn, tx.now(), events)
    # A key whose on hand is what it was keeps its cover; a new row holds no reservations
    # (nothing can be reserved without stock), but costs nothing to look at.
    moved = [(s, w) for _, s, w in updates] + [(s, w) for s, w, _ in inserts]
    recover(tx, moved, f"inventory.{kind}")


def stock_rows(tx: Tx, keys: Sequence[StockKey]) -> list[dict[str, Any]]:
    stock = load_stock(tx.conn, keys)
    return [stock_row(sku, wh, *stock.get((sku, wh), (0, 0))) for sku, wh in keys]
