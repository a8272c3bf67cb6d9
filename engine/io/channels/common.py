"""What every channel adapter shares: the result types, the error, and building the mapping.

Standard library only, on purpose: the adapters must keep working whatever happens to the rest
of `engine` (readers move, the store changes). The value checks are in `values`, decoding and
JSON containers in `containers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.io.channels.values import Invalid, iso
from engine.model import Length

#: dibs order statuses a channel can report (SPEC §2); the values of `engine.model.OrderStatus`.
AWAITING_FULFILLMENT = "awaiting_fulfillment"
SHIPPED = "shipped"
CANCELLED = "cancelled"

#: How many problems `ChannelError`'s message spells out (all are in `.problems`).
_SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a channel file.

    `where` locates it (`file:line` for CSV and JSON Lines, `file:orders[3]` for JSON);
    `order` is the order's id as the merchant sees it, when known; `field` the channel's own
    name for the field (`line_items[1].sku`, `Lineitem sku`), when there is one; `message`
    completes the sentence that starts with the field.
    """

    where: str
    field: str | None
    message: str
    order: str | None = None

    def __str__(self) -> str:
        ref = f"order {self.order!r}: " if self.order else ""
        subject = f"{self.field} " if self.field else ""
        return f"{self.where}: {ref}{subject}{self.message}"


class ChannelError(Exception):
    """A channel file (or payload) is bad input; `problems` lists everything wrong in it."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        shown = [str(problem) for problem in self.problems[:_SHOWN_PROBLEMS]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more")
        count = len(self.problems)
        head = f"{count} problem{'' if count == 1 else 's'}"
        super().__init__(f"{head}:\n" + "\n".join(shown))


@dataclass(frozen=True)
class ChannelOrder:
    """One channel order as dibs sees it.

    `mapping` is a native order mapping (SPEC §2, the shape `check_order_mapping` accepts:
    id, channel, placed_at, ship_to, shipping_method, total, tags, attributes, lines) *without*
    `status`: the native importer only accepts new, awaiting orders, while a channel also
    reports cancelled and shipped ones, so the channel's status travels separately in `status`
    (`awaiting_fulfillment`, `cancelled` or `shipped`). `updated_at` is the channel's last-change
    time (aware, UTC) or None when the format has none (Shopify's CSV export); sync uses it to
    ignore stale copies. `where` locates the order in its file, for messages.
    """

    mapping: dict[str, Any]
    status: str
    updated_at: datetime | None
    where: str

    @property
    def id(self) -> str:
        """The dibs order id (the channel's order name or number)."""
        return str(self.mapping["id"])


@dataclass(frozen=True)
class Skipped:
    """An order of the file that holds nothing to ship (gift cards, digital goods only)."""

    where: str
    order: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: order {self.order!r}: {self.reason}"


@dataclass(frozen=True)
class ChannelRead:
    """Everything a channel file held: its orders (in file order) and the orders skipped."""

    orders: tuple[ChannelOrder, ...]
    skipped: tuple[Skipped, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# Building the native mapping


class Fields:
    """Collects one order's checked values and problems; the adapters' workbench."""

    def __init__(self, where: str, order: str | None, problems: list[Problem]) -> None:
        self.where = where
        self.order = order
        self.problems = problems
        self.start = len(problems)

    def problem(self, field_name: str | None, message: str) -> None:
        self.problems.append(Problem(self.where, field_name, message, self.order))

    def check(self, field_name: str, convert: Any, value: object, *args: Any) -> Any:
        """`convert(value, *args)`, or None with the problem recorded."""
        try:
            return convert(value, *args)
        except Invalid as exc:
            self.problem(field_name, str(exc))
            return None

    @property
    def ok(self) -> bool:
        return len(self.problems) == self.start


def ship_to(parts: Mapping[str, str | None]) -> dict[str, str] | None:
    """A native ship_to with the blank parts left out; None when nothing is known."""
    clean = {key: value for key, value in parts.items() if value}
    return clean or None


def native_mapping(
    *,
    order_id: str,
    channel: str,
    placed_at: datetime,
    ship_to_parts: Mapping[str, str | None],
    shipping_method: str | None,
    total: str | None,
    tags: list[str],
    attributes: dict[str, str],
    lines: list[dict[str, Any]],
) -> dict[str, Any]:
    """The native order mapping (SPEC §2), with absent optional fields left out."""
    mapping: dict[str, Any] = {"id": order_id, "channel": channel, "placed_at": iso(placed_at)}
    address = ship_to(ship_to_parts)
    if address:
        mapping["ship_to"] = address
    if shipping_method:
        mapping["shipping_method"] = shipping_method
    if total is not None:
        mapping["total"] = total
    if tags:
        mapping["tags"] = tags
    if attributes:
        mapping["attributes"] = attributes
    mapping["lines"] = lines
    return mapping


#: Native fields and the longest text the database stores for each (engine.model.Length).
_LIMITS = {
    "id": Length.ORDER_ID,
    "channel": Length.CHANNEL,
    "shipping_method": Length.SHIPPING_METHOD,
    "ship_to.name": Length.SHIP_TO_NAME,
    "ship_to.state": Length.STATE,
    "ship_to.city": Length.CITY,
    "ship_to.postal_code": Length.POSTAL_CODE,
}


def check_lengths(mapping: Mapping[str, Any], fields: Fields) -> None:
    """Record a problem for every text longer than its column holds, so what an adapter
    accepts is what every database stores (the native validator agrees)."""
    address = mapping.get("ship_to") or {}
    values = {**mapping, **{f"ship_to.{k}": v for k, v in address.items()}}
    for name, limit in _LIMITS.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            fields.problem(name, f"is too long: {len(value)} characters, at most {limit}")
    for n, line in enumerate(mapping.get("lines") or [], start=1):
        sku = line.get("sku")
        if isinstance(sku, str) and len(sku) > Length.SKU:
            fields.problem(f"lines[{n}].sku", f"is too long: {len(sku)} characters")
    for tag in mapping.get("tags") or []:
        if len(tag) > Length.TAG:
            fields.problem(
                "tags", f"a tag is too long: {len(tag)} characters, at most {Length.TAG}"
            )


def channel_name(channel: str | None, default: str) -> str:
    """The `--channel` given, else the adapter's own name; a blank one is a usage mistake."""
    if channel is None:
        return default
    cleaned = channel.strip()
    if not cleaned:
        raise ChannelError([Problem("--channel", None, "must not be empty")])
    return cleaned


def one_copy_each(
    orders: list[ChannelOrder], problems: list[Problem], changed_at: str
) -> list[ChannelOrder]:
    """One order per id: of several copies (a log of webhook bodies holds an order's create,
    then its updates) the newest by the channel's change time (`changed_at` names it), in the
    place of the first; the same copy twice is one. Copies the time cannot tell apart (none,
    or the newest time on two different copies) are a problem on each later one."""
    copies: dict[str, list[ChannelOrder]] = {}
    for order in orders:
        copies.setdefault(order.id, []).append(order)
    kept: list[ChannelOrder] = []
    for group in copies.values():
        newest = _newest(group)
        if newest is not None:
            kept.append(newest)
            continue
        for order in group[1:]:
            problems.append(
                Problem(
                    order.where,
                    None,
                    f"appears twice in the file (first at {group[0].where}), "
                    f"and {changed_at} does not say which copy is newer",
                    order.id,
                )
            )
    return kept


def _newest(group: list[ChannelOrder]) -> ChannelOrder | None:
    """The copy to keep, or None when the copies' times cannot decide."""
    first = group[0]
    if len(group) == 1:
        return first
    if any(order.updated_at is None for order in group):
        same = all(_content(order) == _content(first) for order in group)
        return first if same else None
    latest = max(order.updated_at for order in group if order.updated_at is not None)
    candidates = [order for order in group if order.updated_at == latest]
    if any(_content(order) != _content(candidates[0]) for order in candidates):
        return None
    return candidates[0]


def _content(order: ChannelOrder) -> tuple[object, ...]:
    return (order.mapping, order.status, order.updated_at)


def finish(
    orders: list[ChannelOrder],
    skipped: list[Skipped],
    problems: list[Problem],
    changed_at: str = "updated_at",
) -> ChannelRead:
    """The file's result, or `ChannelError` with every problem: a file is taken whole or not."""
    kept = one_copy_each(orders, problems, changed_at)
    if problems:
        raise ChannelError(problems)
    return ChannelRead(tuple(kept), tuple(skipped))
