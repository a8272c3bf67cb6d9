"""Sync (SPEC §9): orders from a channel file or delivery become created / updated / unchanged /
cancelled / shipped / stale / conflicts, each change by the same operation as its command.

`sync_orders(tx, incoming, actor)` is the one entry point: `dibs orders import --sync` hands it
a whole file, `dibs serve`'s webhooks one delivery. For each incoming order:

- unknown id -> **created** (`order.created`) with the channel's status. A new order the channel
  already shows shipped does *not* lower `on_hand`: it left the shelf before dibs knew of it, so
  the stock count the merchant gives dibs already lacks it. A new cancelled order is simply
  created cancelled. Neither holds or ever gets a reservation.
- `updated_at` older than the one stored -> **stale**, ignored (a copy without `updated_at`, as
  in Shopify's CSV export, is never stale).
- the same content as last received (a hash; the status is part of it) -> **unchanged**: nothing
  written, no event. A newer `updated_at` on the same content is remembered (sync's own
  bookkeeping, no event), so an older copy arriving later is still recognised as stale.
- an order of another channel in dibs -> **conflict**: two shops numbering their orders alike
  (both Shopify stores start at #1001) must not rewrite each other's orders, and a webhook
  signed with one shop's secret must not write into another shop's channel.
- closed in dibs (shipped, cancelled, dropshipped) and the channel shows another status ->
  **conflict**, left as it is and reported. A channel showing the same closed status is
  unchanged; a dibs `dropshipped` order the channel shows fulfilled (`shipped`) agrees too.
- awaiting in dibs: the content is compared field by field with the stored order; if it differs
  -> **updated** (`edits.apply_update`: lines by the edit rules of §4, every other field
  replaced, `order.updated`). Then a channel `cancelled` -> **cancelled**, `shipped` ->
  **shipped** (`release.finish`: §4 cancel / ship, `on_hand` falls). An order appears in one
  outcome only: cancelled / shipped win over updated.

The hash is of the content as received, so an order edited by hand in dibs keeps its edits
while the channel keeps sending the same copy; the channel's next real change replaces them.
Channel formats know nothing of warehouses: their orders keep the warehouse they have in dibs.

Concurrency: the whole call is one transaction that first takes `Store.lock_sync` over the ids
it syncs (PostgreSQL advisory locks per order id, or one sync-wide lock for a big file; SQLite's
write lock), and reads the stored marks only then. So two processes syncing overlapping files
create each order once, and two deliveries of one order are judged one after the other (an
older copy that arrives while a newer one is being applied is stale, never applied over it);
deliveries of different orders do not wait for each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b as _blake2b
from operator import attrgetter
from typing import Any

from engine.errors import BadInput, OrdersExist
from engine.io.incoming import IncomingOrder
from engine.memory import collector_paused
from engine.model import Actor, EventType, Line, Order, OrderStatus
from engine.service.edits import apply_update
from engine.service.orders import check_new, update_keys
from engine.service.records import Progress
from engine.service.release import finish
from engine.service.tx import Tx
from engine.store.changes import SyncState, sync_states, write_sync_marks
from engine.store.kit_rows import load_kits
from engine.store.rows import CHUNK, existing_ids, insert_orders, load_orders

#: Statuses a channel can give (SPEC §9).
CHANNEL_STATUSES = frozenset(
    {OrderStatus.AWAITING_FULFILLMENT, OrderStatus.CANCELLED, OrderStatus.SHIPPED}
)
#: (channel status, dibs status) pairs that agree although they differ.
_AGREE = frozenset({(OrderStatus.SHIPPED, OrderStatus.DROPSHIPPED)})
_CLOSE = {OrderStatus.CANCELLED: "cancel", OrderStatus.SHIPPED: "ship"}

Mark = tuple[str, str, datetime | None]


@dataclass
class SyncReport:
    """The ids of each outcome, in the order they came; conflicts with their reason."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    shipped: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `--json` document (docs/json.md "Orders import --sync")."""
        return dataclasses.asdict(self)

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in dataclasses.asdict(self).items()}


# The address part of the hash key, read by a C-level getter: the hot path of an import.
_ADDRESS_KEY = attrgetter("name", "country", "state", "city", "postal_code")


def content_hash(incoming: IncomingOrder) -> str:
    """A short digest of everything an incoming copy says (status included); the warehouse
    and `placed_at` only when the copy sets them. Stored as `sync_hash` by every import: the
    digest of the same content never changes (tests/unit/engine/test_content_hash.py pins it).

    The digest is of `repr(key)`, key the tuple (channel, placed_at, address, shipping method,
    total, tags, attributes, lines, warehouse, status); the text is written out here, each
    part by its own `repr`, which gives the same characters for less than building the key's
    nested tuples and their repr (a fifth of the hash's time on an import)."""
    o = incoming.order
    total, tags, attributes = o.total, o.tags, o.attributes
    text = (
        f"({o.channel!r}, {o.placed_at.isoformat() if incoming.sets_placed_at else None!r}, "
        f"{_ADDRESS_KEY(o.ship_to)!r}, "
        f"{o.shipping_method!r}, {None if total is None else format(total.normalize(), 'f')!r}, "
        f"{tuple(sorted(tags)) if tags else ()!r}, "
        f"{tuple(sorted([(k, repr(v)) for k, v in attributes.items()])) if attributes else ()!r}, "
        f"{_lines_text(o.lines)}, "
        f"{o.warehouse if incoming.sets_warehouse else None!r}, {str(incoming.status)!r})"
    )
    return _blake2b(text.encode(), digest_size=16).hexdigest()


def _lines_text(lines: Sequence[Line]) -> str:
    """`repr(tuple((line.sku, line.qty) for line in lines))`, written out."""
    parts = [f"({line.sku!r}, {line.qty!r})" for line in lines]
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


def check_incoming(incoming: Sequence[IncomingOrder]) -> None:
    """Guards for callers that did not come through a reader (webhooks, tests)."""
    check_new([i.order for i in incoming])
    bad = [i.id for i in incoming if i.status not in CHANNEL_STATUSES]
    if bad:
        raise BadInput(f"channel statuses must be one of {sorted(CHANNEL_STATUSES)}: {bad[:10]}")


def sync_orders(
    tx: Tx, incoming: Sequence[IncomingOrder], actor: Actor, progress: Progress | None = None
) -> SyncReport:
    """Sync orders into dibs (SPEC §9), in the caller's transaction; see the module docstring."""
    check_incoming(incoming)
    tx.store.lock_sync(tx.conn, [i.id for i in incoming])
    report = SyncReport()
    total = len(incoming)
    with collector_paused():
        for start in range(0, total, CHUNK):
            _sync_chunk(tx, incoming[start : start + CHUNK], actor, report)
            if progress:
                progress(min(start + CHUNK, total), total)
    return report


def import_new(
    tx: Tx, incoming: Sequence[IncomingOrder], progress: Progress | None = None
) -> list[str]:
    """Plain import: create every order (with the channel's status), or none if any id exists."""
    check_incoming(incoming)
    taken = existing_ids(tx.conn, [i.id for i in incoming])
    if taken:
        raise OrdersExist(f"{len(taken)} order id(s) already exist", sorted(taken))
    created: list[str] = []
    with collector_paused():
        for start in range(0, len(incoming), CHUNK):
            chunk = incoming[start : start + CHUNK]
            created.extend(_create(tx, [(i, content_hash(i)) for i in chunk]))
            if progress:
                progress(min(start + CHUNK, len(incoming)), len(incoming))
    return created


def judge(state: SyncState, incoming: IncomingOrder, digest: str) -> str:
    """The cheap verdict from the stored marks alone: `stale`, `unchanged` or `check`."""
    seen, stored_seen = incoming.updated_at, state.channel_updated_at
    if seen is not None and stored_seen is not None and seen < stored_seen:
        return "stale"
    agrees = incoming.status == state.status or (incoming.status, state.status) in _AGREE
    if digest == state.sync_hash and agrees:
        return "unchanged"  # the copy last received, and dibs has not closed it since
    return "check"


def _newer(seen: datetime | None, stored: datetime | None) -> datetime | None:
    """The later of two channel times (either may be unknown)."""
    if seen is None or stored is None:
        return seen or stored
    return max(seen, stored)


def _sync_chunk(tx: Tx, chunk: Sequence[IncomingOrder], actor: Actor, report: SyncReport) -> None:
    digests = [content_hash(i) for i in chunk]
    states = sync_states(tx.conn, [i.id for i in chunk])
    new: list[tuple[IncomingOrder, str]] = []
    marks: list[Mark] = []
    work: list[tuple[IncomingOrder, str]] = []
    for item, digest in zip(chunk, digests, strict=True):
        state = states.get(item.id)
        if state is None:
            new.append((item, digest))
            continue
        verdict = judge(state, item, digest)
        if verdict == "stale":
            report.stale.append(item.id)
        elif verdict == "unchanged":
            report.unchanged.append(item.id)
            later = _newer(item.updated_at, state.channel_updated_at)
            if later != state.channel_updated_at:
                marks.append((item.id, digest, later))
        else:
            work.append((item, digest))
    report.created.extend(_create(tx, new))
    if work:
        marks.extend(_apply(tx, work, states, actor, report))
    write_sync_marks(tx.conn, marks)


def _create(tx: Tx, new: Sequence[tuple[IncomingOrder, str]]) -> list[str]:
    if not new:
        return []
    orders = [
        i.order if i.order.status == i.status else dataclasses.replace(i.order, status=i.status)
        for i, _ in new
    ]
    marks = {i.id: (digest, i.updated_at) for i, digest in new}
    insert_orders(tx.conn, orders, tx.now(), EventType.ORDER_CREATED, marks)
    return [o.id for o in orders]


def _apply(
    tx: Tx,
    work: Sequence[tuple[IncomingOrder, str]],
    states: dict[str, SyncState],
    actor: Actor,
    report: SyncReport,
) -> list[Mark]:
    """The orders whose copy differs from the last one received: compare, change, close."""
    ids = [i.id for i, _ in work]
    # The lock order (engine.store.database): the stock of every line each order has and will
    # have, then the orders; what changed in between makes require_stock run it all again.
    first = load_orders(tx.conn, ids)
    changes = [
        (first[i.id], [x.sku for x in i.order.lines], _warehouses(first[i.id], i))
        for i, _ in work
        if i.id in first
    ]
    tx.lock_stock(update_keys(tx, changes, load_kits(tx.conn)))
    tx.lock_orders(ids)
    stored = load_orders(tx.conn, ids)
    marks: list[Mark] = []
    for item, digest in work:
        outcome = _apply_one(tx, stored[item.id], item, actor)
        if isinstance(outcome, dict):
            report.conflicts.append(outcome)
            continue
        getattr(report, outcome).append(item.id)
        marks.append((item.id, digest, _newer(item.updated_at, states[item.id].channel_updated_at)))
    return marks


def _warehouses(order: Order, item: IncomingOrder) -> tuple[str, ...]:
    """Where an update may reserve: the order's warehouse, and the one the copy names when it
    moves the order (an order file's `warehouse`)."""
    moved = item.sets_warehouse and item.order.warehouse != order.warehouse
    return (order.warehouse, item.order.warehouse) if moved else (order.warehouse,)


def _apply_one(tx: Tx, order: Order, item: IncomingOrder, actor: Actor) -> str | dict[str, str]:
    if item.order.channel != order.channel:  # another shop's order of the same id
        return {"id": order.id, "reason": _other_channel(order.channel, item.order.channel)}
    if order.status != OrderStatus.AWAITING_FULFILLMENT:
        if item.status == order.status or (item.status, order.status) in _AGREE:
            return "unchanged"
        return {
            "id": order.id,
            "reason": f"{order.status} in dibs, the channel says {item.status}",
        }
    target = item.order
    if not item.sets_warehouse:
        target = dataclasses.replace(target, warehouse=order.warehouse)
    if not item.sets_placed_at:  # a native order without placed_at: it keeps its place
        target = dataclasses.replace(target, placed_at=order.placed_at)
    changed = apply_update(tx, order, target, actor)
    how = _CLOSE.get(OrderStatus(item.status))
    if how is not None:
        finish(tx, [order.id], how, actor)
        return str(item.status)
    return "updated" if changed else "unchanged"


def _other_channel(stored: str, copy: str) -> str:
    return (
        f"an order of channel {stored!r} in dibs, the copy is from channel {copy!r} "
        "(two shops with the same order numbers? give each its own order-number prefix)"
    )
