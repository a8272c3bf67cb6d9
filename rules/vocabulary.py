"""The order fields rules may use (SPEC §7): their types and how to read them from an order.

The engine hands rules duck-typed order objects; :class:`OrderLike` is the shape they must have.
Each field's ``expr`` is a Python expression over ``o`` (the order) and ``now`` that dsl.compile
pastes into generated predicates, so reading a field costs an attribute access, not a call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from dsl.types import FieldSpec, FieldType, Vocabulary


class AddressLike(Protocol):
    """The ship-to address of an order."""

    @property
    def name(self) -> str | None: ...
    @property
    def country(self) -> str | None: ...
    @property
    def state(self) -> str | None: ...
    @property
    def city(self) -> str | None: ...
    @property
    def postal_code(self) -> str | None: ...


class LineLike(Protocol):
    """One order line."""

    @property
    def sku(self) -> str: ...
    @property
    def qty(self) -> int: ...


class OrderLike(Protocol):
    """What rules read from an order. ``placed_at`` is timezone-aware UTC."""

    @property
    def id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def allocation_status(self) -> str: ...
    @property
    def placed_at(self) -> datetime: ...
    @property
    def shipping_method(self) -> str | None: ...
    @property
    def total(self) -> Decimal | None: ...
    @property
    def ship_to(self) -> AddressLike: ...
    @property
    def warehouse(self) -> str: ...
    @property
    def tags(self) -> frozenset[str]: ...
    @property
    def attributes(self) -> Mapping[str, str | int | float | bool | None]: ...
    @property
    def lines(self) -> Sequence[LineLike]: ...


def _field(
    name: str, type_: FieldType, expr: str, description: str, *, nullable: bool = False
) -> FieldSpec:
    return FieldSpec(name, type_, expr, nullable=nullable, description=description)


S, N, INT, T, D, SET = (
    FieldType.STRING,
    FieldType.NUMBER,
    FieldType.INTEGER,
    FieldType.DATETIME,
    FieldType.DURATION,
    FieldType.STRING_SET,
)

#: Every field; those stored as a column of `orders` are in `ORDER_COLUMNS` (rules.columns),
#: the others in `COMPUTED_FIELDS`.
ORDER_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        _field("id", S, "o.id", "the order id"),
        _field("channel", S, "o.channel", "the sales channel"),
        _field("status", S, "o.status", "awaiting_fulfillment, shipped, cancelled, dropshipped"),
        _field("allocation_status", S, "o.allocation_status", "the allocation status (SPEC §3)"),
        _field("placed_at", T, "o.placed_at", "when the order was placed (UTC)"),
        _field("age", D, "(now - o.placed_at)", "now minus placed_at"),
        _field("shipping_method", S, "o.shipping_method", "e.g. ground, overnight", nullable=True),
        _field("total", N, "o.total", "the order total (decimal)", nullable=True),
        _field("ship_to.name", S, "o.ship_to.name", "the recipient's name", nullable=True),
        _field("ship_to.country", S, "o.ship_to.country", "ISO-3166 alpha-2", nullable=True),
        _field("ship_to.state", S, "o.ship_to.state", "state or region", nullable=True),
        _field("ship_to.city", S, "o.ship_to.city", "city", nullable=True),
        _field("ship_to.postal_code", S, "o.ship_to.postal_code", "postal code", nullable=True),
        _field("warehouse", S, "o.warehouse", "the warehouse the order ships from"),
        _field("tags", SET, "o.tags", "the order's tags"),
        _field("skus", SET, "{line.sku for line in o.lines}", "the SKUs of the order's lines"),
        _field("line_count", INT, "len(o.lines)", "number of lines"),
        _field("unit_count", INT, "sum(line.qty for line in o.lines)", "units over all lines"),
    )
}


def _attribute(key: str) -> FieldSpec:
    # repr() makes any key a safe Python string literal inside the generated code.
    return FieldSpec(
        f"attributes.{key}",
        FieldType.SCALAR,
        f"o.attributes.get({key!r})",
        nullable=True,
        description="a free-form order attribute",
    )


ORDER_VOCABULARY = Vocabulary(fields=ORDER_FIELDS, prefixes={"attributes.": _attribute})
"""The vocabulary rules are checked and compiled against."""
