"""Request bodies: their models (which the OpenAPI document shows) and native orders.

Orders are validated by the importers' own validator (`check_order_mapping`), so a bad order
posted to the API is refused with the same words as the same order in a file.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

from engine.errors import BadInput, plural, quoted
from engine.io.imports import check_order_mapping
from engine.io.values import Invalid, storable
from engine.model import DEFAULT_WAREHOUSE, Order, Policy, ShipTo


def _storable(text: str) -> str:
    """A string no database column can hold is refused where it arrives (it reached the
    database: a 500 for a lone surrogate, a 503 "try again" on PostgreSQL for a NUL)."""
    try:
        return storable(text)
    except Invalid as exc:
        raise ValueError(str(exc)) from None


#: A JSON string of a body: strict, and storable.
Text = Annotated[StrictStr, AfterValidator(_storable)]


def _warehouse_names(value: Any) -> Any:
    """`from`: a list of warehouse names, or one string of them separated by commas, as
    `--from east,west` takes them. Checked further (known, once each, not blank) by the
    service's own `--from` check, so the API refuses what the CLI refuses."""
    if isinstance(value, str):
        value = value.split(",")
    if value is not None and (
        not isinstance(value, list) or not all(isinstance(x, str) for x in value)
    ):
        raise ValueError('must be a list of warehouse names, or one string "east,west"')
    return value


#: The warehouses to reserve in, in order of preference (SPEC §12); None: each order's own.
WarehouseNames = Annotated[
    list[Text] | None,
    BeforeValidator(_warehouse_names),
    Field(
        default=None,
        alias="from",
        description="the warehouses to reserve in, in order of preference "
        "(as `--from east,west`); default: each order's own",
        json_schema_extra={
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]
        },
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LineIn(_Body):
    """A line of a patch. `qty` as in a posted order or a file: a whole number or a digit
    string, checked by the importers' validator (`checked_patch`), which names the line."""

    sku: Text
    qty: Any = Field(
        json_schema_extra={
            "anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]
        }
    )


class ShipToIn(_Body):
    name: Text | None = None
    country: Text | None = None
    state: Text | None = None
    city: Text | None = None
    postal_code: Text | None = None


class OrderPatch(_Body):
    """PATCH /orders/{id}: only the fields given change. `lines` is the new full set of
    lines (an edit, as `dibs orders edit` makes it); `tags` the new full set of tags;
    `ship_to` changes the parts given (null clears one); `shipping_method` null clears it."""

    lines: list[LineIn] | None = None
    tags: list[Text] | None = None
    ship_to: ShipToIn | None = None
    shipping_method: Text | None = None


class AllocateIn(_Body):
    """POST /allocate: `ids`, or `all` (optionally narrowed by `where`); `from` as the CLI's
    `--from`."""

    ids: list[Text] | None = None
    all: StrictBool = False
    where: Text | None = None
    order_by: Text | None = None
    policy: Policy = Policy.LINES
    dry_run: StrictBool = False
    from_: WarehouseNames = None

    model_config = ConfigDict(extra="forbid", strict=False)


class OnHandIn(_Body):
    on_hand: StrictInt
    warehouse: Text = DEFAULT_WAREHOUSE


class QtyIn(_Body):
    qty: StrictInt
    warehouse: Text = DEFAULT_WAREHOUSE


class SelectionIn(_Body):
    """Optional body of reallocate."""

    policy: Policy = Field(default=Policy.LINES)
    from_: WarehouseNames = None

    model_config = ConfigDict(extra="forbid", strict=False)


def native_orders(body: Any, now: datetime) -> list[Order]:
    """A posted order object, or an array of them, validated whole (SPEC §2)."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise BadInput("the body is an empty array: no orders to add", field="body")
    problems: list[str] = []
    out: list[Order] = []
    for index, item in enumerate(items):
        where = f"body[{index}]" if isinstance(body, list) else "body"
        order = check_order_mapping(item, where, now, problems)
        if order is not None:
            out.append(order)
    if problems:
        raise BadInput(
            f"{plural(len(problems), 'problem')} in the posted orders; nothing was added",
            problems=problems,
            field="body",
        )
    # Every item is valid here, so `out[i]` is `body[i]`; named as a file names them (it said
    # "appears twice in the body: ['D1']", a Python list, and no place).
    first: dict[str, int] = {}
    twice: list[str] = []
    for index, order in enumerate(out):
        at = first.setdefault(order.id, index)
        if at != index:
            shown = quoted(order.id)
            twice.append(f"body[{index}]: duplicate order id {shown} (first at body[{at}])")
    if twice:
        raise BadInput(
            f"{plural(len(twice), 'problem')} in the posted orders; nothing was added",
            problems=twice,
            field="id",
        )
    return out


def checked_patch(order: Order, patch: OrderPatch) -> Order:
    """`order` with the patch applied, validated like an order in a file; BadInput if not."""
    given = patch.model_fields_set
    # Every field of the stored order, so what the patch does not name stays exactly as it is.
    mapping: dict[str, Any] = {
        "id": order.id,
        "channel": order.channel,
        "placed_at": order.placed_at.isoformat(),
        "lines": [{"sku": x.sku, "qty": x.qty} for x in order.lines],
        "tags": sorted(order.tags),
        "shipping_method": order.shipping_method,
        "ship_to": _ship_to_mapping(order.ship_to),
        "total": None if order.total is None else str(order.total),
        "warehouse": order.warehouse,
        "attributes": dict(order.attributes),
    }
    if patch.lines is not None:
        mapping["lines"] = [line.model_dump() for line in patch.lines]
    if patch.tags is not None:
        mapping["tags"] = patch.tags
    if "shipping_method" in given:
        mapping["shipping_method"] = patch.shipping_method
    if patch.ship_to is not None:
        mapping["ship_to"].update(patch.ship_to.model_dump(exclude_unset=True))
    if "lines" in given and patch.lines is None:
        raise BadInput("lines cannot be null: an order needs at least one line", field="lines")
    problems: list[str] = []
    checked = check_order_mapping(mapping, "body", order.placed_at, problems)
    if checked is None:
        raise BadInput(
            f"{plural(len(problems), 'problem')} in the patch; nothing changed",
            problems=[p.replace(f"order {order.id!r}: ", "") for p in problems],
            field=_first_field(problems),
        )
    return checked


def _ship_to_mapping(ship_to: ShipTo) -> dict[str, str | None]:
    return {
        "name": ship_to.name,
        "country": ship_to.country,
        "state": ship_to.state,
        "city": ship_to.city,
        "postal_code": ship_to.postal_code,
    }


def _first_field(problems: list[str]) -> str | None:
    words = {"ship_to": "ship_to", "shipping_method": "shipping_method", "tags": "tags"}
    for word, name in words.items():
        if problems and word in problems[0]:
            return name
    return "lines" if problems and "line" in problems[0] else None


async def no_body(request: Request) -> None:
    """The order actions that take no body (ship, cancel, dropship, split, deallocate) refuse
    one: a `{"lines": …}` meant as a partial shipment would otherwise ship the whole order.
    No body, `{}` and `null` pass."""
    body = await request.body()
    if not body.strip():
        return
    parsed: Any = ...
    with contextlib.suppress(ValueError, RecursionError):  # not JSON: a body all the same
        parsed = json.loads(body)
    if parsed is None or parsed == {}:
        return
    action = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    raise BadInput(
        f"{action} takes no body (its one option, ship's force, goes in the query: "
        "?force=true); nothing was written",
        field="body",
    )
