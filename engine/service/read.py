"""The read side: listings, history and reservations in the JSON shapes of SPEC §8."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.engine import Connection

from engine.errors import BadInput
from engine.model import Order, OrderStatus, parts_of
from engine.service.kits import kit_rows
from engine.service.shapes import iso, order_json, stock_row
from engine.store import (
    inventory,
    ledger,
    order_lines,
    order_tags,
    orders,
    reservations,
)
from engine.store.kit_rows import load_kits
from engine.store.ordering import (
    keyset_after,
    sort_clauses,
    sort_columns,
    sort_values_from_json,
    sort_values_to_json,
)
from engine.store.rows import CHUNK, load_orders, normal_decimal

#: Most orders one page of a listing holds (the HTTP API's `limit`).
MAX_PAGE = 500


def list_inventory(conn: Connection, sku: str | None = None) -> list[dict[str, Any]]:
    """Stock rows, and the kit units each kit's components make (SPEC §12), by sku."""
    query = select(inventory).order_by(inventory.c.sku, inventory.c.warehouse)
    if sku:
        query = query.where(inventory.c.sku == sku)
    rows = [stock_row(r.sku, r.warehouse, r.on_hand, r.allocated) for r in conn.execute(query)]
    kits = kit_rows(conn, sku or None)
    if not kits:
        return rows
    return sorted([*rows, *kits], key=lambda r: (r["sku"], r["warehouse"]))


@dataclass(frozen=True)
class OrderQuery:
    """Which orders a listing shows. Every given filter narrows the list (AND): `statuses` mixes
    order statuses (any of them) and allocation statuses (any of them); without an order status
    only open (`awaiting_fulfillment`) orders are listed unless `include_closed`; every tag in
    `tags` and a line of every SKU in `skus`; `where` is a `--where` clause."""

    statuses: Sequence[str] = ()
    include_closed: bool = False
    channel: str | None = None
    warehouse: str | None = None
    tags: Sequence[str] = ()
    skus: Sequence[str] = ()
    where: ColumnElement[bool] | None = None


_ORDER_STATUSES = {str(s) for s in OrderStatus}


def _filtered(query: Select[Any], q: OrderQuery) -> Select[Any]:
    kinds = [s for s in q.statuses if s in _ORDER_STATUSES]
    allocation = [s for s in q.statuses if s not in _ORDER_STATUSES]
    if kinds:
        query = query.where(orders.c.status.in_(kinds))
    elif not q.include_closed:
        query = query.where(orders.c.status == OrderStatus.AWAITING_FULFILLMENT)
    if allocation:
        query = query.where(orders.c.allocation_status.in_(allocation))
    if q.channel is not None:
        query = query.where(orders.c.channel == q.channel)
    if q.warehouse is not None:
        query = query.where(orders.c.warehouse == q.warehouse)
    for tag in dict.fromkeys(q.tags):
        query = query.where(
            orders.c.id.in_(select(order_tags.c.order_id).where(order_tags.c.tag == tag))
        )
    for sku in dict.fromkeys(q.skus):
        query = query.where(
            orders.c.id.in_(select(order_lines.c.order_id).where(order_lines.c.sku == sku))
        )
    if q.where is not None:
        query = query.where(q.where)
    return query.order_by(orders.c.placed_at, orders.c.id)


def list_orders(conn: Connection, q: OrderQuery = OrderQuery()) -> list[dict[str, Any]]:
    """One summary row per order of `q` (the `orders list` table), FIFO order."""
    query = select(
        orders.c.id,
        orders.c.channel,
        orders.c.placed_at,
        orders.c.status,
        orders.c.allocation_status,
        orders.c.shipping_method,
        orders.c.ship_to_country,
        orders.c.line_count,
        orders.c.unit_count,
        orders.c.total,
    )
    return [
        {
            "id": r.id,
            "channel": r.channel,
            "placed_at": iso(r.placed_at),
            "status": r.status,
            "allocation_status": r.allocation_status,
            "shipping_method": r.shipping_method,
            "country": r.ship_to_country,
            "lines": r.line_count,
            "units": r.unit_count,
            "total": None if r.total is None else str(normal_decimal(r.total)),
        }
        for r in conn.execute(_filtered(query, q))
    ]


def order_documents(conn: Connection, q: OrderQuery = OrderQuery()) -> list[dict[str, Any]]:
    """The orders of `q` as `orders show --json` objects (`shapes.order_json`), FIFO order:
    one id query, then whole orders read in chunks (three queries per chunk, not per order)."""
    ids = list(conn.execute(_filtered(select(orders.c.id), q)).scalars())
    documents: list[dict[str, Any]] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        loaded = load_orders(conn, chunk)
        documents.extend(order_documents_of(conn, [loaded[oid] for oid in chunk if oid in loaded]))
    return documents


def known_values(conn: Connection, kind: str) -> list[str]:
    """Every channel, tag, warehouse or SKU the database knows (for did-you-mean hints)."""
    if kind == "channel":
        queries = [select(orders.c.channel)]
    elif kind == "tag":
        queries = [select(order_tags.c.tag)]
    elif kind == "warehouse":
        queries = [select(orders.c.warehouse), select(inventory.c.warehouse)]
    elif kind == "sku":
        queries = [select(order_lines.c.sku), select(inventory.c.sku)]
    else:
        raise ValueError(kind)
    found: set[str] = set()
    for query in queries:
        found.update(conn.execute(query.distinct()).scalars())
    return sorted(found)


def history(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """SPEC §8 `history --json`: the ledger entries of one order, oldest first."""
    return [
        {
            "at": iso(r.at),
            "order": r.order_id,
            "line": r.line_no,
            "sku": r.sku,
            "warehouse": r.warehouse,
            "delta": r.delta,
            "operation": r.operation,
            "rule": r.rule,
            "ruleset": r.ruleset,
            "actor": r.actor,
        }
        for r in conn.execute(
            select(ledger).where(ledger.c.order_id == order_id).order_by(ledger.c.id)
        )
    ]


def line_warehouses(conn: Connection, order: Order) -> list[dict[str, int]]:
    """Per line of `order`, its reserved line units per warehouse (SPEC §12): a kit line's
    are the whole kit units its component reservations make there."""
    return lines_warehouses(conn, [order])[order.id]


def lines_warehouses(conn: Connection, found: Sequence[Order]) -> dict[str, list[dict[str, int]]]:
    """`line_warehouses` of many orders in one query per chunk (order pages, listings)."""
    held: dict[str, dict[tuple[int, str, str], int]] = {o.id: {} for o in found}
    ids = list(held)
    for start in range(0, len(ids), CHUNK):
        for oid, line_no, sku, wh, qty in conn.execute(
            select(
                reservations.c.order_id,
                reservations.c.line_no,
                reservations.c.sku,
                reservations.c.warehouse,
                func.sum(reservations.c.qty),
            )
            .where(reservations.c.order_id.in_(ids[start : start + CHUNK]))
            .group_by(
                reservations.c.order_id,
                reservations.c.line_no,
                reservations.c.sku,
                reservations.c.warehouse,
            )
        ):
            held[oid][(line_no, sku, wh)] = int(qty)
    kits = load_kits(conn) if any(held.values()) else {}
    out: dict[str, list[dict[str, int]]] = {}
    for order in found:
        mine = held[order.id]
        lines: list[dict[str, int]] = []
        for n, line in enumerate(order.lines, start=1):
            parts = parts_of(line.sku, kits)
            places = sorted({wh for (no, _, wh) in mine if no == n})
            per = {wh: min(mine.get((n, sku, wh), 0) // qty for sku, qty in parts) for wh in places}
            lines.append({wh: units for wh, units in per.items() if units})
        out[order.id] = lines
    return out


def order_documents_of(conn: Connection, found: Sequence[Order]) -> list[dict[str, Any]]:
    """`orders show --json` objects of loaded orders, in their order (warehouses included)."""
    places = lines_warehouses(conn, found)
    return [order_json(o, places[o.id]) for o in found]


def order_document(conn: Connection, order: Order) -> dict[str, Any]:
    """`orders show --json`: the order, each line with where its reserved units are."""
    return order_json(order, line_warehouses(conn, order))


def reservations_of(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    return [
        {
            "seq": r.seq,
            "line": r.line_no,
            "sku": r.sku,
            "warehouse": r.warehouse,
            "qty": r.qty,
            "covered": r.covered,
            "reserved_at": iso(r.reserved_at),
        }
        for r in conn.execute(
            select(reservations)
            .where(reservations.c.order_id == order_id)
            .order_by(reservations.c.seq)
        )
    ]


# ---- pages of whole orders (the HTTP API's GET /orders) ------------------------------------


@dataclass(frozen=True)
class PageQuery:
    """Which orders a page lists, in which order: every part optional, all must hold."""

    allocation_statuses: Sequence[str] = ()
    statuses: Sequence[str] = ()
    channel: str | None = None
    tag: str | None = None
    where: ColumnElement[bool] | None = None
    order_by: Sequence[tuple[str, bool]] = field(default_factory=list)

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.allocation_statuses:
            out.append(orders.c.allocation_status.in_(list(self.allocation_statuses)))
        if self.statuses:
            out.append(orders.c.status.in_(list(self.statuses)))
        if self.channel is not None:
            out.append(orders.c.channel == self.channel)
        if self.tag is not None:
            out.append(
                exists().where(order_tags.c.order_id == orders.c.id, order_tags.c.tag == self.tag)
            )
        if self.where is not None:
            out.append(self.where)
        return out

    def fingerprint(self) -> str:
        """What a cursor must have been made under: the same sort keys."""
        return ",".join(f"{name} {'desc' if desc else 'asc'}" for name, desc in self.order_by)


def order_page(
    conn: Connection, query: PageQuery, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of orders as `orders show --json`, and the cursor of the next page (or None).

    Keyset pagination: the cursor holds the last row's sort values and id, and the next page
    starts strictly after them, so a page costs the same at the 100,000th order as at the
    first and an order inserted meanwhile never shifts what the next page shows.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise BadInput(f"limit must be from 1 to {MAX_PAGE}, got {limit}", field="limit")
    columns = sort_columns(query.order_by)
    keys = [column.label(f"k{n}") for n, (column, _) in enumerate(columns)]
    stmt = select(*keys).where(*query.clauses())
    if cursor is not None:
        stmt = stmt.where(keyset_after(columns, _decode_cursor(cursor, query, columns)))
    rows = conn.execute(stmt.order_by(*sort_clauses(columns)).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    id_at = next(n for n, (column, _) in enumerate(columns) if column is orders.c.id)
    ids = [row[id_at] for row in rows]
    loaded = load_orders(conn, ids)
    docs = order_documents_of(conn, [loaded[oid] for oid in ids if oid in loaded])
    following = _encode_cursor(query, list(rows[-1])) if more else None
    return docs, following


def _encode_cursor(query: PageQuery, values: list[Any]) -> str:
    payload = {"o": query.fingerprint(), "v": sort_values_to_json(values)}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, query: PageQuery, columns: Sequence[Any]) -> list[Any]:
    bad = BadInput(
        "cursor: not a cursor of this listing (pass the `next` of the previous page, "
        "with the same order_by)",
        field="cursor",
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("o") != query.fingerprint():
            raise bad
        values = payload.get("v")
        if not isinstance(values, list):
            raise bad
        return sort_values_from_json(columns, values)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
